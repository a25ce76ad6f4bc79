-- GET /api/v1/tasks/{id} with an id drawn uniformly from 1..N, sending a bearer token;
-- the arguments are N and the token.
local rows
local headers

function init(args)
  rows = tonumber(args[1])
  headers = { ["Authorization"] = "Bearer " .. args[2] }
  math.randomseed(os.time() + id)
end

function request()
  return wrk.format("GET", "/api/v1/tasks/" .. math.random(1, rows), headers)
end
