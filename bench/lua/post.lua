-- POST /api/v1/tasks with one constant JSON body.
wrk.method = "POST"
wrk.path = "/api/v1/tasks"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Benchmark task","description":"Created by wrk","done":false}'
