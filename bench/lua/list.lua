-- GET /api/v1/tasks?limit=20&cursor=... with a cursor drawn from a file of cursors, one a line
-- (the script's argument), so each request starts a page at a random keyset depth.
local cursors = {}

function init(args)
  for line in io.lines(args[1]) do
    cursors[#cursors + 1] = line
  end
  math.randomseed(os.time() + id)
end

function request()
  return wrk.format("GET", "/api/v1/tasks?limit=20&cursor=" .. cursors[math.random(1, #cursors)])
end
