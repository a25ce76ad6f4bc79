-- GET /api/v1/tasks/{id} with an id drawn uniformly from 1..N; N is the script's argument.
local rows

function init(args)
  rows = tonumber(args[1])
  math.randomseed(os.time() + id)
end

function request()
  return wrk.format("GET", "/api/v1/tasks/" .. math.random(1, rows))
end
