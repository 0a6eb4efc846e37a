-- create_comment.lua: wrk script for the benchmark's write: createComment with read-your-writes,
-- on a random post of bench/server/dataset.sql as a random user. With BENCH_NO_WAIT=1 the
-- request opts out of the wait ("waitForSync": false): the same write, answered as soon as
-- it committed (the benchmark's baseline for what read-your-writes adds). BENCH_TOKEN is
-- sent as a Bearer token and BENCH_AUTHOR (the token's user) writes every comment, on a
-- published post (bench/server/auth.sh). BENCH_POST_FIRST and BENCH_POST_COUNT choose the
-- posts (numbers, default 1 and 10,000: dataset.sql's; big_post.sh adds posts with more
-- comments from 0x100001).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local fixed_author = os.getenv("BENCH_AUTHOR") or ""
if (os.getenv("BENCH_TOKEN") or "") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
math.randomseed(os.time())
local extensions = ""
if os.getenv("BENCH_NO_WAIT") == "1" then
  extensions = ',"extensions":{"tvsync":{"waitForSync":false}}'
end
local post_first = tonumber(os.getenv("BENCH_POST_FIRST") or "") or 1
local post_count = tonumber(os.getenv("BENCH_POST_COUNT") or "") or 10000
function request()
  local n = post_first + math.random(0, post_count - 1)
  if fixed_author ~= "" and n % 5 == 0 then
    n = n - 1 -- dataset.sql's post n is a draft when n % 5 == 0
  end
  local post = string.format("50000000-0000-4000-8000-%012x", n)
  local author = string.format("40000000-0000-4000-8000-%012x", math.random(1, 1000))
  if fixed_author ~= "" then
    author = fixed_author
  end
  local body = '{"query":"mutation { createComment(postId: \\"' .. post .. '\\", authorId: \\"' .. author ..
               '\\", content: \\"bench\\") { id content post { title } } }"' .. extensions .. '}'
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("unexpected answer: " .. body .. "\n")
  end
end
