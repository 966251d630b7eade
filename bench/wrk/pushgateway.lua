-- The anchor: the same 1,000 groups PUT straight to Pushgateway, each PUT a scheduler's whole state.
local counter = 0

request = function()
  counter = counter + 1
  local id = "bench-" .. (counter % 1000)
  local body = 'scheduler_status{status="running"} 1\n'
    .. "scheduler_last_heartbeat_timestamp_seconds " .. os.time() .. "\n"
  return wrk.format("PUT", "/metrics/job/scheduler/scheduler_id/" .. id, {["Content-Type"] = "text/plain"}, body)
end
