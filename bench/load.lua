-- wrk script for bench/load.py: POST /v1/tickets on the technical line with customer keys.
-- Env: LOAD_KEYS (file of "customer_id key" lines), LOAD_MODE (spread | hot | mix).
-- LOAD_MODE=peer_mix drives the Django peer's mix instead (bench/peer_mix/run.sh): no keys,
-- a random customer of CUSTOMERS (1000), one in three each: POST /submit, its balance, its
-- newest 20 tickets.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  keys = {}
  mode = os.getenv("LOAD_MODE") or "spread"
  customers = tonumber(os.getenv("CUSTOMERS") or "1000")
  if mode ~= "peer_mix" then
    for line in io.lines(os.getenv("LOAD_KEYS")) do
      local cid, key = line:match("^(%S+)%s+(%S+)$")
      if cid then table.insert(keys, {cid, key}) end
    end
  end
  math.randomseed(os.time() + tid * 7919)
end

local function submission(who)
  counter = counter + 1
  local tag = string.format("%d-%d-%d", tid, counter, math.random(1, 1000000000))
  local body = string.format(
    '{"line":"technical","subject":"Cannot configure backups on node %s","body":"Backup job %s fails with exit code 3 after the update."}',
    tag, tag)
  return wrk.format("POST", "/v1/tickets", {
    ["Authorization"] = "Bearer " .. who[2],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "load-" .. tag,
  }, body)
end

local function peer_mix()
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

function request()
  if mode == "peer_mix" then return peer_mix() end
  local who
  if mode == "hot" then who = keys[1] else who = keys[math.random(#keys)] end
  if mode == "mix" then
    local pick = math.random(3)
    if pick == 2 then
      return wrk.format("GET", "/v1/customers/" .. who[1] .. "/balance",
        {["Authorization"] = "Bearer " .. who[2]})
    elseif pick == 3 then
      return wrk.format("GET", "/v1/tickets?limit=20",
        {["Authorization"] = "Bearer " .. who[2]})
    end
  end
  return submission(who)
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
