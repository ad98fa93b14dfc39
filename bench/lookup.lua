-- wrk: staff lookups by mobile, spread over the seeded customers (mobiles +2782xxxxxxx).
local rows = tonumber(os.getenv("BENCH_ROWS") or "1000")
local token = os.getenv("BENCH_TOKEN")
local counter = 0
request = function()
  counter = counter + 1
  local n = (counter * 7919) % rows + 1
  local path = string.format("/v1/dealers/bench/customers?mobile=%%2B2782%07d", n)
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
