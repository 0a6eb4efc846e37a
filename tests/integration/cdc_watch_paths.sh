#!/bin/sh
# cdc_watch_paths: nested watch paths of a hand-written cascade, end to end through
# tvsync-cdc: a change at a watched nested path cascades, one at an unwatched sibling
# does not, arrays of objects are followed into every element, a quoted key holds a dot,
# a watched path's parent key that disappears cascades; migration 044 rejects malformed
# paths and keeps the meaning of the keys an older installation watched.
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"
set -u

pgcluster_start || exit 1
cdc_migrate || { echo "migrations failed" >&2; exit 1; }

# Notes embed their author (the nickname only when there is one) and their replies'
# authors; a digest embeds what its note's document says of nicknames, reply authors'
# usernames and the signature (the top-level key "author.sig"), and w.marker's mark: a
# table nobody publishes, so a digest's mark says when it was last built.
pgcluster_psql <<'SQL' >/dev/null || exit 1
CREATE SCHEMA w;
CREATE TABLE w.marker (mark integer NOT NULL);
INSERT INTO w.marker VALUES (0);
CREATE TABLE w.tb_author (id integer PRIMARY KEY, username text NOT NULL, bio text NOT NULL, nickname text, sig text);
CREATE TABLE w.tb_note (id integer PRIMARY KEY, author_id integer REFERENCES w.tb_author ON DELETE SET NULL,
                        body text NOT NULL);
CREATE TABLE w.tb_reply (id integer PRIMARY KEY, note_id integer NOT NULL REFERENCES w.tb_note,
                         by_id integer NOT NULL REFERENCES w.tb_author, body text NOT NULL);
CREATE TABLE w.tb_digest (id integer PRIMARY KEY, note_id integer NOT NULL REFERENCES w.tb_note);
CREATE TABLE w.tv_author (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE w.tv_note (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE w.tv_digest (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());

CREATE FUNCTION w.build_author(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT a.id, jsonb_build_object('id', a.id, 'username', a.username, 'bio', a.bio)
    FROM w.tb_author a WHERE ids IS NULL OR a.id = ANY (ids)
$$;
CREATE FUNCTION w.build_note(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT n.id,
           jsonb_build_object('id', n.id, 'body', n.body, 'author.sig', a.sig,
               'replies', coalesce((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'body', r.body,
                                        'by', jsonb_build_object('id', b.id, 'username', b.username, 'bio', b.bio))
                                        ORDER BY r.id)
                                    FROM w.tb_reply r JOIN w.tb_author b ON b.id = r.by_id WHERE r.note_id = n.id), '[]'))
           || CASE WHEN a.id IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('author', jsonb_strip_nulls(jsonb_build_object('id', a.id,
                            'username', a.username, 'bio', a.bio, 'nickname', a.nickname))) END
    FROM w.tb_note n LEFT JOIN w.tb_author a ON a.id = n.author_id WHERE ids IS NULL OR n.id = ANY (ids)
$$;
CREATE FUNCTION w.build_digest(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT d.id, jsonb_build_object('id', d.id, 'noteId', d.note_id, 'hasAuthor', a.id IS NOT NULL,
               'nickname', a.nickname, 'sig', a.sig,
               'replyBy', (SELECT jsonb_agg(b.username ORDER BY r.id) FROM w.tb_reply r JOIN w.tb_author b ON b.id = r.by_id
                           WHERE r.note_id = d.note_id),
               'mark', (SELECT mark FROM w.marker))
    FROM w.tb_digest d JOIN w.tb_note n ON n.id = d.note_id LEFT JOIN w.tb_author a ON a.id = n.author_id
    WHERE ids IS NULL OR d.id = ANY (ids)
$$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('w_author', 'w.tv_author', 'w.tb_author', 'w.build_author(integer[])'),
    ('w_note', 'w.tv_note', 'w.tb_note', 'w.build_note(integer[])'),
    ('w_digest', 'w.tv_digest', 'w.tb_digest', 'w.build_digest(integer[])');
-- Authors are always intents here: their edge watches every key. The notes of an author
-- (theirs or replied to), new state and old.
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES ('w_author', 'w_note', $q$
    SELECT n.id FROM w.tb_note n WHERE n.author_id = ANY ($1)
    UNION SELECT r.note_id FROM w.tb_reply r WHERE r.by_id = ANY ($1)
    UNION SELECT t.id FROM w.tv_note t WHERE (t.data -> 'author' ->> 'id')::integer = ANY ($1)
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(t.data -> 'replies') AS e WHERE (e -> 'by' ->> 'id')::integer = ANY ($1))
$q$);
-- A note reaches its digests through the cascade above: only the paths the digest uses.
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch) VALUES ('w_note', 'w_digest', $q$
    SELECT d.id FROM w.tb_digest d WHERE d.note_id = ANY ($1)
$q$, ARRAY['author.nickname', 'replies.by.username', '"author.sig"']);

INSERT INTO w.tb_author VALUES (1, 'ann', 'bio 1', 'annie', NULL), (2, 'bob', 'bio 2', NULL, NULL),
    (3, 'cy', 'bio 3', NULL, NULL), (4, 'dee', 'bio 4', NULL, NULL);
INSERT INTO w.tb_note VALUES (1, 1, 'first'), (2, 2, 'second'), (3, 4, 'third');
INSERT INTO w.tb_reply VALUES (1, 1, 2, 'reply by bob'), (2, 1, 3, 'reply by cy');
INSERT INTO w.tb_digest VALUES (1, 1), (2, 2), (3, 3);
SQL

cdc_create_slot || exit 1
cdc_kill_on_exit
cdc_start || exit 1

q() {
    pgcluster_psql -c "$1"
}
# Sets the mark to $1, runs the SQL on stdin (its last statement publishes) and waits until
# that is applied.
step() {
    local lsn
    q "UPDATE w.marker SET mark = $1" >/dev/null
    lsn=$(pgcluster_psql | tail -n1)
    [ -n "$lsn" ] || { echo "nothing published" >&2; return 1; }
    cdc_wait_lsn "$lsn" 30
}
marks() {
    q "SELECT string_agg(id || '=' || (data ->> 'mark'), ' ' ORDER BY id) FROM w.tv_digest"
}

assert_eq "1=0 2=0 3=0" "$(marks)" "the digests are built"

# 1. A sibling of a watched nested path: the note changes, its digest is not rebuilt.
step 1 <<'SQL' || exit 1
UPDATE w.tb_author SET bio = 'bio 1b', username = 'ann2' WHERE id = 1;
SELECT tvsync.publish('w_author', ARRAY[1]);
SQL
assert_eq "bio 1b" "$(q "SELECT data -> 'author' ->> 'bio' FROM w.tv_note WHERE id = 1")" \
    "the author's note embeds the new bio and username"
assert_eq "1=0 2=0 3=0" "$(marks)" "author.bio and author.username changed: the edge watching author.nickname is not followed"

# 2. The watched nested path itself.
step 2 <<'SQL' || exit 1
UPDATE w.tb_author SET nickname = 'nan' WHERE id = 1;
SELECT tvsync.publish('w_author', ARRAY[1]);
SQL
assert_eq "1=2 2=0 3=0" "$(marks)" "author.nickname changed: the note's digest is rebuilt, no other"
assert_eq "nan" "$(q "SELECT data ->> 'nickname' FROM w.tv_digest WHERE id = 1")" "the digest has the new nickname"

# 3. Arrays: a reply author's bio (unwatched) then username (watched, inside every reply).
step 3 <<'SQL' || exit 1
UPDATE w.tb_author SET bio = 'bio 3b' WHERE id = 3;
SELECT tvsync.publish('w_author', ARRAY[3]);
SQL
assert_eq "bio 3b" "$(q "SELECT data -> 'replies' -> 1 -> 'by' ->> 'bio' FROM w.tv_note WHERE id = 1")" \
    "the note embeds the reply author's new bio"
assert_eq "1=2 2=0 3=0" "$(marks)" "replies[].by.bio changed: the edge watching replies.by.username is not followed"
step 4 <<'SQL' || exit 1
UPDATE w.tb_author SET username = 'cy2' WHERE id = 3;
SELECT tvsync.publish('w_author', ARRAY[3]);
SQL
assert_eq "1=4 2=0 3=0" "$(marks)" "replies[].by.username changed in one element: the digest is rebuilt"
assert_eq '["bob", "cy2"]' "$(q "SELECT data -> 'replyBy' FROM w.tv_digest WHERE id = 1")" \
    "the digest lists the new username"

# 4. A top-level key with a dot, watched as "author.sig".
step 5 <<'SQL' || exit 1
UPDATE w.tb_author SET sig = 'cheers' WHERE id = 2;
SELECT tvsync.publish('w_author', ARRAY[2]);
SQL
assert_eq "1=4 2=5 3=0" "$(marks)" "the top-level key \"author.sig\" changed: bob's note's digest is rebuilt"
assert_eq "cheers" "$(q "SELECT data ->> 'sig' FROM w.tv_digest WHERE id = 2")" "the digest has the signature"

# 5. The parent of a watched path disappears: author 4 (no nickname: the path's values
# are none before and after) is deleted, the note loses its author key.
step 6 <<'SQL' || exit 1
DELETE FROM w.tb_author WHERE id = 4;
SELECT tvsync.publish('w_author', ARRAY[4]);
SQL
assert_eq "false" "$(q "SELECT (data ? 'author')::text FROM w.tv_note WHERE id = 3")" "the note has no author any more"
assert_eq "1=4 2=5 3=6" "$(marks)" "the key author of a path author.nickname disappeared: the digest is rebuilt"
assert_eq "false" "$(q "SELECT data ->> 'hasAuthor' FROM w.tv_digest WHERE id = 3")" "the digest says so"
cdc_stop
assert_eq "0" "$CDC_STATUS" "tvsync-cdc stops cleanly"

# 6. Migration 044 rejects malformed paths, naming the cascade and the path.
for bad in 'a..b' 'a.' '.a' 'a"b' '"a' '"a"b' ''; do
    out=$(pgcluster_psql -c "UPDATE tvsync.cascade SET watch = ARRAY['ok', \$p\$$bad\$p\$]
                             WHERE source_entity = 'w_note'" 2>&1)
    assert_contains "$out" "cascade w_note -> w_digest: malformed watch path '$bad'" "the watch path '$bad' is rejected"
done
out=$(pgcluster_psql -c "INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
                         VALUES ('w_digest', 'w_note', 'SELECT 1', ARRAY[NULL]::text[])" 2>&1)
assert_contains "$out" "malformed watch path NULL" "a NULL watch path is rejected at INSERT"
assert_eq "" "$(pgcluster_psql -c "UPDATE tvsync.cascade SET watch = ARRAY['\"a.b\"', 'x.\"y \"\"z\"\"\".w', 'comments.author.username']
                                   WHERE source_entity = 'w_note'" 2>&1)" "well-formed paths are accepted"
assert_contains "$(q "SELECT col_description(attrelid, attnum) FROM pg_attribute
                       WHERE attrelid = 'tvsync.cascade'::regclass AND attname = 'watch'")" "author.username" \
    "the column comment tells the paths"

# 7. An installation whose cascades watched keys with dots before 044 keeps their meaning.
old="$PGCLUSTER_DIR/engine_043"
mkdir -p "$old"
for f in "$TVSYNC_SRCDIR"/migrations/0[0-3]*.sql "$TVSYNC_SRCDIR"/migrations/04[0-3]_*.sql; do
    cp "$f" "$old/"
done
q "CREATE DATABASE tvsync_old" >/dev/null
old_url="postgresql://$PGUSER@$PGHOST:$PGPORT/tvsync_old"
migrate_old() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$old_url" "$@" up >/dev/null 2>&1
}
assert_exit 0 "the engine up to 043 migrates" -- migrate_old --set "migrate.engine_dir=$old"
PGDATABASE=tvsync_old pgcluster_psql <<'SQL' >/dev/null || exit 1
CREATE TABLE tb_x (id integer PRIMARY KEY);
CREATE TABLE tv_x (id integer PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION build_x(ids integer[]) RETURNS TABLE (id integer, data jsonb) LANGUAGE sql STABLE AS $$
    SELECT x.id, jsonb_build_object('id', x.id) FROM tb_x x WHERE ids IS NULL OR x.id = ANY (ids)
$$;
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES ('x', 'tv_x', 'tb_x', 'build_x(integer[])');
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
    VALUES ('x', 'x', 'SELECT 1', ARRAY['plain', 'a.b', 'say "hi"', '']);
SQL
assert_exit 0 "044 applies over it" -- migrate_old --set "migrate.engine_dir=$TVSYNC_SRCDIR/migrations"
assert_eq '{plain,"\"a.b\"","\"say \"\"hi\"\"\"","\"\""}' \
    "$(PGDATABASE=tvsync_old pgcluster_psql -c "SELECT watch FROM tvsync.cascade")" \
    "keys with a dot, a quote or none are quoted: still one top-level key each"

test_summary
