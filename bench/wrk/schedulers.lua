-- Heartbeats and status updates spread over 1,000 scheduler ids, as the scheduler guide's clients send them.
-- Each wrk thread cycles through ids; one request in four is a status update, the rest are heartbeats.
local key = os.getenv("BENCH_API_KEY")
local counter = 0
local statuses = {"running", "completed", "running", "failed"}

request = function()
  counter = counter + 1
  local id = "bench-" .. (counter % 1000)
  local headers = {["x-api-key"] = key, ["Content-Type"] = "application/json"}
  if counter % 4 == 0 then
    local body = string.format(
      '{"scheduler_id":"%s","status":"%s","execution_time_ms":1500}', id, statuses[(counter / 4) % 4 + 1])
    return wrk.format("PUT", "/api/v1/schedulers/" .. id .. "/status", headers, body)
  end
  return wrk.format("POST", "/api/v1/schedulers/" .. id .. "/heartbeat", headers, '{"scheduler_id":"' .. id .. '"}')
end
