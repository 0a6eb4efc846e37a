#!/bin/sh
# cdc_patch: a cascade edge's patch function, end to end through tvsync-cdc: a hand-written
# entity whose list is patched along its edge (the build is not called for it), and built
# whole when the parent is an intent too or is reached along another edge in the same batch;
# documents equal a full rebuild (verify) after each step and after a random history. Then
# the blog's generated patch (comment -> post, examples/blog/005) the same way, on the blog
# without 007's bound on Post.comments (cdc_unbounded_blog: a bounded list is not patched).
# Last, cdc.patch_min_bytes: documents stored in fewer bytes are built, not patched.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

pgcluster_start || exit 1
cdc_migrate || { echo "migrations failed" >&2; exit 1; }
cdc_unbounded_blog || exit 1
cdc_install_oracle >/dev/null || exit 1
cdc_seed_more || exit 1

# A parent lists its children (ordered by pos, then id), each with its writer's name; a
# writer's rename reaches the parents listing their children (an edge without a patch).
# The builds and the patch count the ids they are called with in sequences (which a
# rollback does not undo).
pgcluster_psql <<'SQL' >/dev/null || exit 1
CREATE SCHEMA pt;
CREATE SEQUENCE pt.parent_built;
CREATE SEQUENCE pt.parent_patched;
CREATE TABLE pt.tb_writer (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE pt.tb_parent (id integer PRIMARY KEY, title text NOT NULL);
CREATE TABLE pt.tb_child (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES pt.tb_parent,
                          writer_id integer NOT NULL REFERENCES pt.tb_writer, pos integer NOT NULL, body text NOT NULL);
CREATE INDEX ON pt.tb_child (parent_id);
CREATE TABLE pt.tv_writer (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE pt.tv_parent (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE pt.tv_child (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE FUNCTION pt.build_writer(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT w.id, jsonb_build_object('id', w.id, 'name', w.name) FROM pt.tb_writer w WHERE ids IS NULL OR w.id = ANY (ids)
$$;
CREATE FUNCTION pt.build_child(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT c.id, jsonb_build_object('id', c.id, 'parentId', c.parent_id, 'writerId', c.writer_id, 'pos', c.pos, 'body', c.body)
    FROM pt.tb_child c WHERE ids IS NULL OR c.id = ANY (ids)
$$;
CREATE FUNCTION pt.child_element(c pt.tb_child) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'pos', c.pos, 'body', c.body,
                              'by', (SELECT w.name FROM pt.tb_writer w WHERE w.id = c.writer_id))
$$;
CREATE FUNCTION pt.children(parent integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(pt.child_element(c) ORDER BY c.pos, c.id), '[]') FROM pt.tb_child c WHERE c.parent_id = parent
$$;
CREATE FUNCTION pt.build_parent(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM nextval('pt.parent_built') FROM unnest(ids);
    RETURN QUERY
    SELECT p.id, jsonb_build_object('id', p.id, 'title', p.title,
                                    'childCount', (SELECT count(*) FROM pt.tb_child c WHERE c.parent_id = p.id),
                                    'children', pt.children(p.id))
    FROM pt.tb_parent p WHERE ids IS NULL OR p.id = ANY (ids);
END
$$;
-- The patch: the old document's list minus the changed children, plus those of them
-- that belong to the parent now; the rest as the build computes it.
CREATE FUNCTION pt.patch_parent(ids integer[], changed integer[]) RETURNS TABLE (id integer, data jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM nextval('pt.parent_patched') FROM unnest(ids);
    RETURN QUERY
    SELECT p.id, jsonb_build_object('id', p.id, 'title', p.title,
               'childCount', (SELECT count(*) FROM pt.tb_child c WHERE c.parent_id = p.id),
               'children', coalesce(tvsync.patch_list(t.data -> 'children', changed::text[],
                   (SELECT coalesce(jsonb_agg(pt.child_element(c)), '[]') FROM pt.tb_child c
                    WHERE c.parent_id = p.id AND c.id = ANY (changed)),
                   'id', '[{"field": "pos", "type": "integer", "desc": false, "nulls_first": false},
                           {"field": "id", "type": "integer", "desc": false, "nulls_first": false}]'),
                   pt.children(p.id)))
    FROM pt.tb_parent p LEFT JOIN pt.tv_parent t ON t.id = p.id WHERE p.id = ANY (ids);
END
$$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('pt_writer', 'pt.tv_writer', 'pt.tb_writer', 'pt.build_writer(integer[])'),
    ('pt_parent', 'pt.tv_parent', 'pt.tb_parent', 'pt.build_parent(integer[])'),
    ('pt_child', 'pt.tv_child', 'pt.tb_child', 'pt.build_child(integer[])');
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES ('pt_child', 'pt_parent', $q$
    SELECT c.parent_id FROM pt.tb_child c WHERE c.id = ANY ($1)
    UNION SELECT (t.data ->> 'parentId')::integer FROM pt.tv_child t WHERE t.id = ANY ($1)
$q$);
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES ('pt_writer', 'pt_parent', $q$
    SELECT c.parent_id FROM pt.tb_child c WHERE c.writer_id = ANY ($1)
    UNION SELECT (t.data ->> 'parentId')::integer FROM pt.tv_child t WHERE (t.data ->> 'writerId')::integer = ANY ($1)
$q$);
UPDATE tvsync.cascade SET patch_function = 'pt.patch_parent(integer[],integer[])'
WHERE source_entity = 'pt_child' AND target_entity = 'pt_parent';

-- The blog's post build, through a wrapper that counts the ids it builds (the generated
-- build is SQL that the planner inlines, which no statistics would count).
CREATE SEQUENCE pt.post_built;
CREATE FUNCTION pt.fn_build_post_counted(ids uuid[]) RETURNS TABLE (id uuid, data jsonb) LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM nextval('pt.post_built') FROM unnest(ids);
    RETURN QUERY SELECT b.id, b.data FROM public.fn_build_post(ids) AS b;
END
$$;
UPDATE tvsync.entity SET build_function = 'pt.fn_build_post_counted(uuid[])' WHERE name = 'post';
-- a post with 600 comments
INSERT INTO tb_comment (post_id, author_id, content)
SELECT '20000000-0000-4000-8000-000000000200', ('10000000-0000-4000-8000-' || lpad((100 + n % 50)::text, 12, '0'))::uuid,
       'comment ' || n FROM generate_series(1, 600) n;

INSERT INTO pt.tb_writer SELECT n, 'writer ' || n FROM generate_series(1, 5) n;
INSERT INTO pt.tb_parent SELECT n, 'parent ' || n FROM generate_series(1, 3) n;
-- parent 1: 400 children, parent 2: 10, parent 3: none
INSERT INTO pt.tb_child SELECT n, CASE WHEN n <= 400 THEN 1 ELSE 2 END, 1 + n % 5, (n * 7) % 50, 'body ' || n
FROM generate_series(1, 410) n;
SQL

cdc_create_slot || exit 1
cdc_kill_on_exit
# Every document patched, however small (8. checks cdc.patch_min_bytes).
cdc_start --set cdc.patch_min_bytes=0 || exit 1

q() {
    pgcluster_psql -c "$1"
}
# Runs the SQL on stdin in one transaction (its last statement publishes) and waits until
# it is applied.
step() {
    local lsn
    lsn=$(pgcluster_psql -1 -f - | tail -n1)
    [ -n "$lsn" ] || { echo "nothing published" >&2; return 1; }
    cdc_wait_lsn "$lsn" 30
}
counter() {
    q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pt.$1"
}
built_before=0
patched_before=0
mark() {
    built_before=$(counter parent_built)
    patched_before=$(counter parent_patched)
}
# How many parent ids were built and patched since mark.
built() { echo $(($(counter parent_built) - built_before)); }
patched() { echo $(($(counter parent_patched) - patched_before)); }
ids_of() {
    q "SELECT string_agg(e ->> 'id', ' ' ORDER BY ord) FROM pt.tv_parent, jsonb_array_elements(data -> 'children')
       WITH ORDINALITY AS x(e, ord) WHERE id = $1"
}

assert_exit 0 "verify: the documents are built" -- cdc_verify

# 1. A new child of the big parent: patched, not built.
mark
step <<'SQL' || exit 1
INSERT INTO pt.tb_child VALUES (1001, 1, 2, 25, 'new');
SELECT tvsync.publish('pt_child', ARRAY[1001]);
SQL
assert_exit 0 "verify after a new child" -- cdc_verify
assert_eq "0" "$(built)" "the new child's parent is not built (its list is patched)"
assert_eq "1" "$(patched)" "the parent is patched once"
assert_eq "401" "$(q "SELECT data ->> 'childCount' FROM pt.tv_parent WHERE id = 1")" "the count counts it"

# 2. A changed child whose place in the order changes, and one whose body changes.
mark
step <<'SQL' || exit 1
UPDATE pt.tb_child SET pos = -1 WHERE id = 1001;
UPDATE pt.tb_child SET body = 'changed' WHERE id = 17;
SELECT tvsync.publish('pt_child', ARRAY[1001, 17]);
SQL
assert_exit 0 "verify after changed children" -- cdc_verify
assert_eq "1001" "$(ids_of 1 | cut -d' ' -f1)" "the moved child is first"
assert_eq "0" "$(built)" "a changed child's parent is not built"

# 3. A deleted child, and a child moved to another parent (both parents patched).
mark
step <<'SQL' || exit 1
DELETE FROM pt.tb_child WHERE id = 5;
UPDATE pt.tb_child SET parent_id = 3 WHERE id = 1001;
UPDATE pt.tb_child SET parent_id = 1, pos = 49 WHERE id = 405;
SELECT tvsync.publish('pt_child', ARRAY[5, 1001, 405]);
SQL
assert_exit 0 "verify after a delete and moves" -- cdc_verify
assert_eq "1001" "$(ids_of 3)" "the moved child is in its new parent"
assert_eq "0" "$(built)" "deletes and moves patch, build nothing"
assert_eq "3" "$(patched)" "the three parents are patched"

# 4. A child and its parent changed in the same transaction: the parent, an intent, is
# built whole.
mark
step <<'SQL' || exit 1
UPDATE pt.tb_parent SET title = 'parent one' WHERE id = 1;
INSERT INTO pt.tb_child VALUES (1002, 1, 3, 0, 'with the title');
SELECT tvsync.publish('pt_child', ARRAY[1002]);
SELECT tvsync.publish('pt_parent', ARRAY[1]);
SQL
assert_exit 0 "verify after a child and its parent changed together" -- cdc_verify
assert_eq "1" "$(built)" "the parent, an intent too, is built"
assert_eq "0" "$(patched)" "and not patched"

# 5. The same parent reached along two edges in one batch: a writer's rename (every child of
# theirs in the list) and a new child. Child first: the parent is patched, then the writer's
# edge reaches it and the transaction begins again with full builds; writer first: built.
for order in child writer; do
    mark
    if [ $order = child ]; then first="SELECT tvsync.publish('pt_child', ARRAY[1003])"; second="SELECT tvsync.publish('pt_writer', ARRAY[4])"
    else first="SELECT tvsync.publish('pt_writer', ARRAY[4])"; second="SELECT tvsync.publish('pt_child', ARRAY[1003])"; fi
    step <<SQL || exit 1
DELETE FROM pt.tb_child WHERE id = 1003;
UPDATE pt.tb_writer SET name = 'renamed $order' WHERE id = 4;
INSERT INTO pt.tb_child VALUES (1003, 1, 1, 10, 'new $order');
$first;
$second;
SQL
    assert_exit 0 "verify after a rename and a new child ($order first)" -- cdc_verify
    assert_eq "0" "$(q "SELECT count(*) FROM pt.tv_parent, jsonb_array_elements(data -> 'children') e
                        WHERE id = 1 AND e ->> 'by' = 'writer 4'")" "no child in the list has the old name ($order first)"
    # writer 4 has children in parents 1 and 2
    assert_eq "2" "$(built)" "the parents the rename reaches, the one the new child reaches too, are built whole ($order first)"
done

# 6. A random history: transactions of inserts, updates, moves and deletes over the three
# parents, several children each, and now and then a rename.
q "CREATE TABLE pt.next_id AS SELECT 2000 AS n" >/dev/null
i=0
while [ $i -lt 40 ]; do
    pgcluster_psql >/dev/null <<SQL || exit 1
SELECT setseed(0.$i);
BEGIN;
CREATE TEMP TABLE touched (id integer) ON COMMIT DROP;
WITH n AS (UPDATE pt.next_id SET n = n + 3 RETURNING n),
     ins AS (INSERT INTO pt.tb_child SELECT n.n + k, 1 + (random() * 2)::int, 1 + (random() * 4)::int,
                                            (random() * 60)::int, 'random' FROM n, generate_series(0, (random() * 2)::int) k
             RETURNING id)
INSERT INTO touched SELECT id FROM ins;
WITH u AS (UPDATE pt.tb_child SET body = md5(random()::text), pos = CASE WHEN random() < 0.5 THEN pos ELSE (random() * 60)::int END,
                                  parent_id = CASE WHEN random() < 0.2 THEN 1 + (random() * 2)::int ELSE parent_id END
           WHERE id IN (SELECT id FROM pt.tb_child ORDER BY random() LIMIT 3) RETURNING id)
INSERT INTO touched SELECT id FROM u;
WITH d AS (DELETE FROM pt.tb_child WHERE id = (SELECT id FROM pt.tb_child ORDER BY random() LIMIT 1) RETURNING id)
INSERT INTO touched SELECT id FROM d;
SELECT tvsync.publish('pt_child', array(SELECT DISTINCT id FROM touched));
WITH r AS (UPDATE pt.tb_writer SET name = md5(random()::text) WHERE id = 1 + (random() * 4)::int AND random() < 0.15 RETURNING id)
SELECT tvsync.publish('pt_writer', array(SELECT id FROM r));
COMMIT;
SQL
    i=$((i + 1))
done
cdc_sync 60 || { echo "the history was not applied" >&2; exit 1; }
assert_exit 0 "verify after a random history" -- cdc_verify
assert_eq "0" "$(q "SELECT test_oracle_diff()")" "the oracle agrees"

# 7. The blog: comment -> post carries the generated patch function.
assert_eq "public.fn_patch_post_from_comment" \
    "$(q "SELECT p.pronamespace::regnamespace || '.' || p.proname FROM tvsync.cascade c JOIN pg_proc p ON p.oid = c.patch_function
          WHERE c.source_entity = 'comment' AND c.target_entity = 'post'")" \
    "the blog's comment -> post edge has its generated patch function"
P=20000000-0000-4000-8000-000000000200
post_built() { echo $(($(counter post_built) - post_before)); }
post_before=$(counter post_built)
step <<SQL || exit 1
WITH c AS (INSERT INTO tb_comment (post_id, author_id, content)
           VALUES ('$P', '10000000-0000-4000-8000-000000000107', 'a new comment') RETURNING id)
SELECT tvsync.publish('comment', array(SELECT id FROM c));
SQL
assert_exit 0 "blog: verify after a new comment" -- cdc_verify
assert_eq "0" "$(post_built)" "blog: the post of a new comment is not built"
assert_eq "605" "$(q "SELECT jsonb_array_length(data -> 'comments') FROM tv_post WHERE id = '$P'")" \
    "blog: the post lists it"

post_before=$(counter post_built)
step <<SQL || exit 1
CREATE TEMP TABLE touched ON COMMIT DROP AS
    SELECT id FROM tb_comment WHERE post_id = '$P' ORDER BY created_at, id LIMIT 3;
UPDATE tb_comment SET content = 'changed' WHERE id = (SELECT min(id::text)::uuid FROM touched);
UPDATE tb_comment SET post_id = '20000000-0000-4000-8000-000000000201'
WHERE id = (SELECT max(id::text)::uuid FROM touched);
DELETE FROM tb_comment WHERE id IN (SELECT id FROM touched) AND content <> 'changed' AND post_id = '$P';
SELECT tvsync.publish('comment', array(SELECT id FROM touched));
SQL
assert_exit 0 "blog: verify after an updated, a moved and a deleted comment" -- cdc_verify
assert_eq "0" "$(post_built)" "blog: updates, moves and deletes of comments build no post"

post_before=$(counter post_built)
step <<SQL || exit 1
UPDATE tb_post SET title = 'a new title' WHERE id = '$P';
WITH c AS (INSERT INTO tb_comment (post_id, author_id, content)
           VALUES ('$P', '10000000-0000-4000-8000-000000000108', 'with the title') RETURNING id)
SELECT tvsync.publish('comment', array(SELECT id FROM c));
SELECT tvsync.publish('post', ARRAY['$P'::uuid]);
SQL
assert_exit 0 "blog: verify after a comment and its post changed together" -- cdc_verify
# (at least once: its comments, reached along post -> comment, reach it again in round 2)
n=$(post_built)
assert_exit 0 "blog: the post, an intent too, is built ($n)" -- test "$n" -ge 1

# user 110 wrote comments on the post (comment n, n % 50 = 10)
for order in comment user; do
    new="WITH c AS (INSERT INTO tb_comment (post_id, author_id, content)
           VALUES ('$P', '10000000-0000-4000-8000-000000000111', 'by 111, $order first') RETURNING id)
         SELECT tvsync.publish('comment', array(SELECT id FROM c))"
    rename="SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000110'::uuid])"
    if [ $order = comment ]; then first=$new; second=$rename; else first=$rename; second=$new; fi
    step <<SQL || exit 1
UPDATE tb_user SET full_name = 'Renamed $order' WHERE id = '10000000-0000-4000-8000-000000000110';
$first;
$second;
SQL
    assert_exit 0 "blog: verify after a rename and a new comment on a post the user commented ($order first)" -- cdc_verify
    assert_eq "0" "$(q "SELECT count(*) FROM tv_post, jsonb_array_elements(data -> 'comments') e
                        WHERE id = '$P' AND e -> 'author' ->> 'id' = '10000000-0000-4000-8000-000000000110'
                          AND e -> 'author' ->> 'fullName' IS DISTINCT FROM 'Renamed $order'")" \
        "blog: no comment of the renamed user keeps the old name ($order first)"
done

# A random blog history: new, changed, moved and deleted comments over three posts.
i=0
while [ $i -lt 30 ]; do
    pgcluster_psql >/dev/null <<SQL || exit 1
SELECT setseed(0.5 + $i / 100.0);
BEGIN;
CREATE TEMP TABLE touched (id uuid) ON COMMIT DROP;
WITH ins AS (INSERT INTO tb_comment (post_id, author_id, content, created_at)
             SELECT ('20000000-0000-4000-8000-' || lpad((200 + (random() * 2)::int)::text, 12, '0'))::uuid,
                    ('10000000-0000-4000-8000-' || lpad((100 + (random() * 49)::int)::text, 12, '0'))::uuid,
                    'random', now() - random() * interval '1 day'
             FROM generate_series(0, (random() * 2)::int) RETURNING id)
INSERT INTO touched SELECT id FROM ins;
WITH u AS (UPDATE tb_comment SET content = md5(random()::text),
                  post_id = CASE WHEN random() < 0.3 THEN ('20000000-0000-4000-8000-' || lpad((200 + (random() * 2)::int)::text, 12, '0'))::uuid
                                 ELSE post_id END
           WHERE id IN (SELECT id FROM tb_comment WHERE post_id IN ('$P', '20000000-0000-4000-8000-000000000201',
                                                                   '20000000-0000-4000-8000-000000000202')
                        ORDER BY random() LIMIT 2) RETURNING id)
INSERT INTO touched SELECT id FROM u;
WITH d AS (DELETE FROM tb_comment WHERE id = (SELECT id FROM tb_comment WHERE post_id = '$P' ORDER BY random() LIMIT 1)
           RETURNING id)
INSERT INTO touched SELECT id FROM d;
SELECT tvsync.publish('comment', array(SELECT DISTINCT id FROM touched));
COMMIT;
SQL
    i=$((i + 1))
done
cdc_sync 60 || { echo "the blog history was not applied" >&2; exit 1; }
assert_exit 0 "blog: verify after a random history" -- cdc_verify

# 8. cdc.patch_min_bytes: a document stored in fewer bytes is built, a larger one patched,
# in the same batch; the default (32kB) builds parent 2 (10 children) and the blog's
# small posts.
cdc_stop
assert_eq 0 "$CDC_STATUS" "tvsync-cdc exits 0 (patch_min_bytes = 0)"
big=$(q "SELECT pg_column_size(data) FROM pt.tv_parent WHERE id = 1")
small=$(q "SELECT pg_column_size(data) FROM pt.tv_parent WHERE id = 2")
assert_exit 0 "parent 1 ($big bytes) is stored larger than parent 2 ($small)" -- test "$big" -gt "$small"
cdc_start --set cdc.patch_min_bytes="$big" || exit 1
mark
step <<'SQL' || exit 1
INSERT INTO pt.tb_child VALUES (5001, 1, 2, 25, 'to the big one'), (5002, 2, 3, 25, 'to the small one');
SELECT tvsync.publish('pt_child', ARRAY[5001, 5002]);
SQL
assert_exit 0 "verify after new children of a big and a small parent" -- cdc_verify
assert_eq "1" "$(patched)" "the parent stored in patch_min_bytes is patched"
assert_eq "1" "$(built)" "the smaller one is built"
cdc_stop
cdc_start || exit 1
mark
step <<'SQL' || exit 1
INSERT INTO pt.tb_child VALUES (5003, 2, 2, 25, 'default');
SELECT tvsync.publish('pt_child', ARRAY[5003]);
SQL
assert_exit 0 "verify after a new child of a small parent (default patch_min_bytes)" -- cdc_verify
assert_eq "0 1" "$(patched) $(built)" "by default a small document is built, not patched"

cdc_stop
assert_eq 0 "$CDC_STATUS" "tvsync-cdc exits 0"
test_summary
