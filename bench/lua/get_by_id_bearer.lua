-- GET /api/v1/tasks/{id} with an id drawn uniformly from 1..N, sending a bearer token and, when
-- given, the organization the request is in; the arguments are N, the token and that id.
local rows
local headers

function init(args)
  rows = tonumber(args[1])
  headers = { ["Authorization"] = "Bearer " .. args[2] }
  if args[3] then
    headers["Organization-Id"] = args[3]
  end
  math.randomseed(os.time() + id)
end

function request()
  return wrk.format("GET", "/api/v1/tasks/" .. math.random(1, rows), headers)
end
