#!/bin/bash
# bench_apply.sh: times the engine's SQL on a generated blog (full builds, batch applies,
# cascades, verify) in a throwaway cluster. Not a test: run it by hand from the build tree:
#   TVSYNC_SRCDIR=. TVSYNC_BUILDDIR=. migrations/bench_apply.sh [USERS [POSTS [COMMENTS]]]
set -u
USERS=${1:-10000}
POSTS=${2:-100000}
COMMENTS=${3:-300000}
: "${TVSYNC_SRCDIR:=.}" "${TVSYNC_BUILDDIR:=.}"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start "shared_buffers = 256MB" || exit 1
pgcluster_migrate >/dev/null 2>&1 || { echo "tvsync-migrate up failed" >&2; exit 1; }

pgcluster_psql -v users="$USERS" -v posts="$POSTS" -v comments="$COMMENTS" <<'EOF'
INSERT INTO tb_user (id, username, email, created_at)
    SELECT gen_random_uuid(), 'user' || g, 'user' || g || '@example.com', now() - g * interval '1 minute'
    FROM generate_series(1, :users) g;
CREATE TEMP TABLE u AS SELECT id, row_number() OVER () AS rn FROM tb_user;
INSERT INTO tb_post (author_id, title, content, published, created_at)
    SELECT u.id, 'title ' || g, repeat('x', 200), g % 3 <> 0, now() - g * interval '1 second'
    FROM generate_series(1, :posts) g JOIN u ON u.rn = 1 + g % :users;
CREATE TEMP TABLE p AS SELECT id, row_number() OVER () AS rn FROM tb_post;
INSERT INTO tb_comment (post_id, author_id, content, created_at)
    SELECT p.id, u.id, 'comment ' || g, now() - g * interval '1 second'
    FROM generate_series(1, :comments::bigint) g
    JOIN p ON p.rn = 1 + (g * 7919) % :posts
    JOIN u ON u.rn = 1 + (g * 31) % :users;
VACUUM ANALYZE;
EOF

# Prints "label  milliseconds  result" for one statement (psql's own timing).
timed() {
    local label=$1 sql=$2 out ms
    out=$(pgcluster_psql -c '\timing on' -c "$sql" 2>&1)
    ms=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
    printf '%-44s %10s ms   %s\n' "$label" "$ms" "$(printf '%s\n' "$out" | grep -v '^Time:' | tail -1)"
}

echo "blog: $USERS users, $POSTS posts, $COMMENTS comments; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
timed "full build user (apply NULL)" "SELECT tvsync.apply('user', NULL)"
timed "full build post (apply NULL)" "SELECT tvsync.apply('post', NULL)"
timed "full build comment (apply NULL)" "SELECT tvsync.apply('comment', NULL)"
pgcluster_psql -c "VACUUM ANALYZE" >/dev/null
timed "full apply post, nothing changed" "SELECT tvsync.apply('post', NULL)"
pgcluster_psql -c "UPDATE tb_post SET title = title || '!' WHERE id IN (SELECT id FROM tb_post ORDER BY id LIMIT 1000)" >/dev/null
timed "apply 1000 changed posts" "SELECT tvsync.apply('post', ARRAY(SELECT id::text FROM tb_post ORDER BY id LIMIT 1000))"
timed "apply 1000 unchanged posts" "SELECT tvsync.apply('post', ARRAY(SELECT id::text FROM tb_post ORDER BY id DESC LIMIT 1000))"
timed "apply 10 posts" "SELECT tvsync.apply('post', ARRAY(SELECT id::text FROM tb_post ORDER BY id DESC LIMIT 10))"
timed "rebuild_chunk post, 5000 rows" "SELECT tvsync.rebuild_chunk('post', NULL, 5000)"
timed "cascade user->post for 100 users" \
    "DO \$\$ DECLARE n int; BEGIN EXECUTE 'SELECT count(*) FROM (' || (SELECT query FROM tvsync.cascade
         WHERE source_entity = 'user' AND target_entity = 'post') || ') x'
         INTO n USING ARRAY(SELECT id FROM tb_user LIMIT 100); END \$\$"
timed "publish 100000 ids" "SELECT tvsync.publish('post', ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 100000)))"
start=$(date +%s%N)
"$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --dir "$TVSYNC_SRCDIR/migrations" verify >/dev/null 2>&1
status=$?
printf '%-44s %10s ms   exit %s\n' "tvsync-migrate verify (all entities)" "$(( ($(date +%s%N) - start) / 1000000 ))" "$status"
