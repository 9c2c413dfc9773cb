-- Requests answered per keep-alive connection. Run with as many threads as connections (-tN -cN):
-- each wrk thread then owns one connection, so its count is that connection's share.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  answered = 0
end

function response(status, headers, body)
  answered = answered + 1
end

function done(summary, latency, requests)
  local least, most, total = math.huge, 0, 0
  for _, thread in ipairs(threads) do
    local n = thread:get("answered") or 0
    least = math.min(least, n)
    most = math.max(most, n)
    total = total + n
  end
  io.write(string.format("per-connection: connections %d min %d max %d total %d\n", #threads, least, most, total))
end
