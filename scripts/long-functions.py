#!/usr/bin/env python3
"""Lists the workspace's functions over N lines (default 80) outside tests: the style rule of
issue 17 ("no function over ~80 lines in library code without a reason in a comment").

    scripts/long-functions.py [N]

Counts from a `fn` line to the closing brace at the same indentation (rustfmt's layout); code after
`#[cfg(test)]` in a file is skipped."""
import glob
import re
import sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
found = []
for path in sorted(glob.glob("**/src/**/*.rs", recursive=True)):
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        if re.match(r"\s*#\[cfg\(test\)\]", line):
            break
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(async )?(const )?fn (\w+)", line)
        if not m:
            continue
        end = next((j for j in range(i, len(lines)) if lines[j] == m.group(1) + "}"), i)
        if end - i + 1 > limit:
            found.append((end - i + 1, path, m.group(6)))
for n, path, name in sorted(found, reverse=True):
    print(f"{n:5} {path} {name}")
print(f"{len(found)} functions over {limit} lines")
