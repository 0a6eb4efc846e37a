-- create_comment.lua: wrk script for the benchmark's write: createComment with read-your-writes.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"mutation { createComment(postId: \\"20000000-0000-4000-8000-000000000002\\", authorId: \\"10000000-0000-4000-8000-000000000002\\", content: \\"bench\\") { id content post { title } } }"}'
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("unexpected answer: " .. body .. "\n")
  end
end
