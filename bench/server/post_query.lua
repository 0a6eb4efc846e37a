-- post_query.lua: wrk script for the benchmark's read: post(id) with title, author and comments.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- BENCH_TOKEN: sent as a Bearer token (bench/server/auth.sh).
if (os.getenv("BENCH_TOKEN") or "") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
wrk.body = '{"query":"query($id: ID!) { post(id: $id) { title author { username } comments { content author { username } } } }","variables":{"id":"20000000-0000-4000-8000-000000000001"}}'
-- BENCH_DELAY_MS paces each connection (for latency at a given rate).
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
function delay()
  return delay_ms
end
