-- create_comment.lua: wrk script for the benchmark's write: createComment with read-your-writes,
-- on a random post of bench/server/dataset.sql as a random user.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
function request()
  local post = string.format("50000000-0000-4000-8000-%012x", math.random(1, 10000))
  local author = string.format("40000000-0000-4000-8000-%012x", math.random(1, 1000))
  local body = '{"query":"mutation { createComment(postId: \\"' .. post .. '\\", authorId: \\"' .. author ..
               '\\", content: \\"bench\\") { id content post { title } } }"}'
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("unexpected answer: " .. body .. "\n")
  end
end
