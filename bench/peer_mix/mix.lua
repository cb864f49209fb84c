-- wrk script for the peer's mix (bench/peer_mix/run.sh): as bench/load.lua's `mix` mode, a
-- random customer (1..CUSTOMERS) per request and one in three each: POST /submit, its
-- balance, its newest 20 tickets. Prints the same RESULT line as bench/load.lua.
local threads = {}
local customers = tonumber(os.getenv("CUSTOMERS") or "1000")

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  math.randomseed(os.time() + tid * 7919)
end

function request()
  local id = math.random(1, customers)
  local pick = math.random(3)
  if pick == 2 then
    return wrk.format("GET", "/customers/" .. id .. "/balance")
  elseif pick == 3 then
    return wrk.format("GET", "/tickets?customer_id=" .. id .. "&limit=20")
  end
  local body = string.format(
    '{"customer_id": %d, "title": "Paid line: technical issue", "description": "Benchmark ticket for customer %d"}',
    id, id)
  return wrk.format("POST", "/submit", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do agg[status] = (agg[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(agg) do table.insert(parts, string.format('"%d":%d', status, n)) end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ",")))
end
