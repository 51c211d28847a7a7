-- wrk: requests the URLs of the file in WRK_URLS round-robin (one list per thread, staggered).
local urls = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("WRK_URLS")) do
    local path = line:gsub("^https?://[^/]+", "")
    urls[#urls + 1] = path
  end
  counter = math.random(#urls)
end

function request()
  counter = counter % #urls + 1
  return wrk.format("GET", urls[counter], { ["Accept-Encoding"] = "gzip" })
end

function done(summary, latency, requests)
  io.write(string.format("RESULT\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
