-- wrk script for bench/bench_web.py: every request a different URL, read from a file.
--
--   wrk -t2 -c64 -d12s --latency -s bench/wrk_urls.lua http://127.0.0.1:PORT -- PATHS_FILE THREADS
--
-- PATHS_FILE holds one request path per line ("/o/TOKEN.gif", "/c/TOKEN"). Thread k of N starts
-- at line k and steps by N, so the threads never send the same path until the list wraps.
-- At the end one line "WRK_JSON {...}" gives the exact figures (latencies in microseconds).

local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("id", thread_count)
end

function init(args)
   local file = args[1]
   local threads = tonumber(args[2]) or 1
   paths = {}
   for line in io.lines(file) do
      if #line > 0 then paths[#paths + 1] = line end
   end
   if #paths == 0 then error("no paths in " .. file) end
   step = threads
   index = ((id or 1) - 1) % #paths + 1
   -- A mail client's agent, sent a while after delivery: a human open, not a scanner's.
   wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"
end

function request()
   local path = paths[index]
   index = index + step
   if index > #paths then index = (index - 1) % #paths + 1 end
   return wrk.format("GET", path)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "mean_us": %.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
