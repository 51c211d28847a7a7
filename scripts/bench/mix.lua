-- wrk: requests the URLs of the file in WRK_URLS round-robin with `Authorization: Bearer WRK_TOKEN`
-- (each thread from its own random start); prints one RESULT line: requests, req/s, p50, p99, max
-- (ms), errors (connect, read, write, timeout) and answers that were not 2xx/3xx.
local urls = {}
local counter = 0
local token = os.getenv("WRK_TOKEN")

function init(args)
  for line in io.lines(os.getenv("WRK_URLS")) do
    urls[#urls + 1] = line:gsub("^https?://[^/]+", "")
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  counter = math.random(#urls)
end

function request()
  counter = counter % #urls + 1
  return wrk.format("GET", urls[counter], { ["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%d/%d/%d/%d\t%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
