-- wrk: withdrawals of distinct customers, each thread taking its own slice of ids.
local token = os.getenv("BENCH_TOKEN")
local first = tonumber(os.getenv("BENCH_FIRST_ID") or "1")
local rows = tonumber(os.getenv("BENCH_ROWS") or "1000")
local threads = 0
setup = function(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local next_id = nil
request = function()
  -- Two threads: each withdraws from its own half of the customers.
  if next_id == nil then next_id = first + offset * math.floor(rows / 2) end
  local id = next_id
  next_id = next_id + 1
  return wrk.format("POST", "/v1/dealers/bench/customers/" .. id .. "/withdraw-consent",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, "{}")
end
