-- Sidecar batches: BENCH_BATCH_BODY is a file holding {"events": [...]} with BENCH_BATCH_SIZE events.
local key = os.getenv("BENCH_API_KEY")
local file = io.open(os.getenv("BENCH_BATCH_BODY"), "r")
local body = file:read("*a")
file:close()

request = function()
  return wrk.format("POST", "/v1/events/batch", {["x-api-key"] = key, ["Content-Type"] = "application/json"}, body)
end
