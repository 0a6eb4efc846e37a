-- create_comment.lua: wrk script for the benchmark's write: createComment with read-your-writes,
-- on a random post of bench/server/dataset.sql as a random user. With BENCH_NO_WAIT=1 the
-- request opts out of the wait ("waitForSync": false): the same write, answered as soon as
-- it committed (the benchmark's baseline for what read-your-writes adds).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
local extensions = ""
if os.getenv("BENCH_NO_WAIT") == "1" then
  extensions = ',"extensions":{"tvsync":{"waitForSync":false}}'
end
function request()
  local post = string.format("50000000-0000-4000-8000-%012x", math.random(1, 10000))
  local author = string.format("40000000-0000-4000-8000-%012x", math.random(1, 1000))
  local body = '{"query":"mutation { createComment(postId: \\"' .. post .. '\\", authorId: \\"' .. author ..
               '\\", content: \\"bench\\") { id content post { title } } }"' .. extensions .. '}'
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("unexpected answer: " .. body .. "\n")
  end
end
