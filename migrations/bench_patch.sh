#!/bin/bash
# bench_patch.sh: the blog's fn_build_post against fn_patch_post_from_comment (migration 046)
# on a post with many comments and on one with few, in a throwaway cluster. Not a test: run
# it by hand from the build tree:
#   TVSYNC_SRCDIR=. TVSYNC_BUILDDIR=. migrations/bench_patch.sh [COMMENTS [ROUNDS]]
# Prints the median of ROUNDS interleaved calls of each kind, in one session. The first big
# call after a big build pays for the memory the build gave back: an untimed patch follows
# the builds in each round so that none of the measured patches does.
set -u
COMMENTS=${1:-5000}
ROUNDS=${2:-15}
: "${TVSYNC_SRCDIR:=.}" "${TVSYNC_BUILDDIR:=.}"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"

pgcluster_start "shared_buffers = 256MB" "jit = off" || exit 1
pgcluster_migrate >/dev/null 2>&1 || { echo "tvsync-migrate up failed" >&2; exit 1; }

echo "blog: a post with $COMMENTS comments and one with 10; $ROUNDS rounds; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
pgcluster_psql -v comments="$COMMENTS" -v rounds="$ROUNDS" <<'EOF'
INSERT INTO tb_user (username, email, full_name)
    SELECT 'user' || g, 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 50) g;
INSERT INTO tb_post (id, author_id, title, content, published)
    SELECT ('00000000-0000-0000-0000-00000000000' || g)::uuid, (SELECT id FROM tb_user ORDER BY username LIMIT 1),
           'post ' || g, 'text', true
    FROM generate_series(1, 2) g;
INSERT INTO tb_comment (post_id, author_id, content, created_at)
    SELECT CASE WHEN g <= :comments THEN '00000000-0000-0000-0000-000000000001'::uuid
                ELSE '00000000-0000-0000-0000-000000000002'::uuid END,
           (SELECT id FROM tb_user WHERE username = 'user' || (1 + g % 50)), 'comment number ' || g || ' with some text',
           now() - interval '1 day' + g * interval '1 second'
    FROM generate_series(1, :comments + 10) g;
VACUUM ANALYZE;
SELECT tvsync.apply('post', NULL) \g /dev/null
-- the changes, made after the documents were built: tv_post holds the state before them
CREATE TABLE bench_ids AS
SELECT (SELECT id FROM tb_comment WHERE post_id = p.big ORDER BY created_at OFFSET (:comments / 2) LIMIT 1) AS edited,
       (SELECT id FROM tb_comment WHERE post_id = p.big ORDER BY created_at OFFSET (:comments / 2 + 100) LIMIT 1) AS moved,
       gen_random_uuid() AS new_big, gen_random_uuid() AS new_small,
       ARRAY(SELECT id FROM tb_comment WHERE post_id = p.big ORDER BY random() LIMIT 5) AS five
FROM (SELECT '00000000-0000-0000-0000-000000000001'::uuid AS big) p;
UPDATE tb_comment SET content = 'edited' WHERE id = (SELECT edited FROM bench_ids);
UPDATE tb_comment SET created_at = created_at - interval '10 hours' WHERE id = (SELECT moved FROM bench_ids);
UPDATE tb_comment SET content = content || '!', created_at = created_at + interval '1 hour'
    WHERE id IN (SELECT unnest(five) FROM bench_ids);
INSERT INTO tb_comment (id, post_id, author_id, content)
    SELECT new_big, '00000000-0000-0000-0000-000000000001', (SELECT id FROM tb_user LIMIT 1), 'new' FROM bench_ids;
INSERT INTO tb_comment (id, post_id, author_id, content)
    SELECT new_small, '00000000-0000-0000-0000-000000000002', (SELECT id FROM tb_user LIMIT 1), 'new' FROM bench_ids;
SET bench.rounds = :rounds;
DO $$
DECLARE
    x jsonb;
    t timestamptz;
    r text := '';
    names text[] := ARRAY['build, big post', 'build, small post', 'patch, small post, 1 new comment',
                          'patch, big post, 1 new comment', 'patch, big post, 1 comment edited',
                          'patch, big post, 1 comment moved', 'patch, big post, 5 comments changed', 'untimed'];
    k int;
    b bench_ids;
    big uuid := '00000000-0000-0000-0000-000000000001';
    small uuid := '00000000-0000-0000-0000-000000000002';
    d numeric;
BEGIN
    SELECT * INTO b FROM bench_ids;
    CREATE TEMP TABLE timings (name text, ms numeric);
    FOR round IN 1 .. current_setting('bench.rounds')::int LOOP
        -- 8, untimed, right after the builds
        FOREACH k IN ARRAY ARRAY[1, 2, 8, 3, 4, 5, 6, 7] LOOP
            t := clock_timestamp();
            CASE k
            WHEN 1 THEN x := (SELECT data FROM fn_build_post(ARRAY[big]));
            WHEN 2 THEN x := (SELECT data FROM fn_build_post(ARRAY[small]));
            WHEN 8 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[big], b.five));
            WHEN 3 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[small], ARRAY[b.new_small]));
            WHEN 4 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[big], ARRAY[b.new_big]));
            WHEN 5 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[big], ARRAY[b.edited]));
            WHEN 6 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[big], ARRAY[b.moved]));
            WHEN 7 THEN x := (SELECT data FROM fn_patch_post_from_comment(ARRAY[big], b.five));
            END CASE;
            INSERT INTO timings VALUES (names[k], extract(epoch FROM clock_timestamp() - t) * 1000);
        END LOOP;
    END LOOP;
    FOR k IN 1 .. 7 LOOP
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) INTO d FROM timings WHERE name = names[k];
        r := r || format(E'%-40s %8s ms\n', names[k], round(d, 1));
    END LOOP;
    RAISE NOTICE E'median of % rounds:\n%', current_setting('bench.rounds'), r;
END
$$;
EOF
