#!/bin/bash
# server_cdc.sh: read your writes end to end with the real tvsync-cdc: every blog mutation
# through tvsync-server is visible to the very next query, and afterwards the read models
# equal a full rebuild (tvsync-migrate verify). Every program reads one configuration file
# with a non-default [slot] name. A mutation whose read model cannot be built: SYNC_FAILED.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

pgcluster_start
pgcluster_on_exit server_lib_cleanup
# The shared configuration file: tvsync-slot, tvsync-cdc and tvsync-server take the slot
# (and replication origin) name from it.
SLOT_NAME=server_cdc_slot
export TVSYNC_CONFIG=$(mktemp /tmp/tvsync-server-cdc-conf.XXXXXX)
pgcluster_on_exit 'rm -f "$TVSYNC_CONFIG"'
printf '[slot]\nname = %s\n' "$SLOT_NAME" >"$TVSYNC_CONFIG"
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}"'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" --dir "$TVSYNC_SRCDIR/examples/blog" "$@"
}
migrate up >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
migrate seed "$TVSYNC_SRCDIR/examples/blog/seed.sql" >/dev/null 2>&1 || { echo "seed failed"; exit 1; }
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }
CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
server_start --set server.sync_wait_timeout_ms=10000 || { echo "server did not start"; exit 1; }
assert_contains "$(cat "$SERVER_LOG")" "confirmed position of slot \"$SLOT_NAME\"" \
    "tvsync-server follows the slot named by [slot] name in the shared configuration"

BOB=10000000-0000-4000-8000-000000000002
POST1=20000000-0000-4000-8000-000000000001
out=$(gql_query 'mutation { createUser(username: "erin", email: "erin@example.com") { id username postCount } }')
ERIN=$(jq -r '.data.createUser.id' <<<"$out")
assert_eq '{"username":"erin","postCount":0}' "$(jq -c '.data.createUser | del(.id)' <<<"$out")" \
    "createUser answers from tv_user once tvsync-cdc applied it"
out=$(gql_query "mutation { createPost(authorId: \"$ERIN\", title: \"Mine\", content: \"text\", published: true) { id author { username } } }")
POST=$(jq -r '.data.createPost.id' <<<"$out")
assert_eq '{"username":"erin"}' "$(jq -c '.data.createPost.author' <<<"$out")" "createPost"
out=$(gql_query "{ user(id: \"$ERIN\") { postCount publishedPostCount } }")
assert_eq '{"data":{"user":{"postCount":1,"publishedPostCount":1}}}' "$out" "the next query sees the author's new counts"
out=$(gql_query "mutation { createComment(postId: \"$POST1\", authorId: \"$BOB\", content: \"Read your writes\") { id } }")
COMMENT=$(jq -r '.data.createComment.id' <<<"$out")
out=$(gql_query "{ post(id: \"$POST1\") { commentCount comments { content } } }")
assert_eq 4 "$(jq '.data.post.commentCount' <<<"$out")" "the post's commentCount includes the new comment at once"
assert_eq '"Read your writes"' "$(jq -c '.data.post.comments[-1].content' <<<"$out")" "and lists it last (oldest first)"
out=$(gql_query "mutation { updateUser(id: \"$BOB\", username: \"robert\") { username } }")
assert_eq '{"data":{"updateUser":{"username":"robert"}}}' "$(without_token <<<"$out")" "updateUser"
out=$(gql_query "{ comment(id: \"$COMMENT\") { author { username } } }")
assert_eq '{"data":{"comment":{"author":{"username":"robert"}}}}' "$out" "a rename reaches the user's comments through the cascade"
out=$(gql_query "mutation { deleteComment(id: \"$COMMENT\") }")
out=$(gql_query "{ post(id: \"$POST1\") { commentCount } comment(id: \"$COMMENT\") { id } }")
assert_eq '{"data":{"post":{"commentCount":3},"comment":null}}' "$out" "deleteComment is visible at once"
gql_query "mutation { deleteUser(id: \"$ERIN\") }" >/dev/null
out=$(gql_query "{ user(id: \"$ERIN\") { id } post(id: \"$POST\") { id } }")
assert_eq '{"data":{"user":null,"post":null}}' "$out" "deleteUser removes the user and their posts from the read models"
assert_exit 0 "the read models equal a full rebuild" -- migrate verify
assert_contains "$(curl -s "$SERVER_BASE/metrics")" 'tvsync_server_sync_waits_total{result="applied"}' "the waits were released by tvsync_applied"
assert_not_contains "$(cat "$SERVER_LOG")" "cannot read the position of slot" "the configured slot is readable by tvsync-server"

# A comment whose document cannot be built: tvsync-cdc dead-letters its intent, and the
# mutation answers SYNC_FAILED (the reason only in the server log), its row committed.
pgcluster_psql >/dev/null <<'SQL'
CREATE FUNCTION public.server_test_boom(p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'comment % cannot be built: boom', p_id;
END
$$;
CREATE OR REPLACE FUNCTION fn_build_comment(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT c.id,
           jsonb_build_object(
               'id', c.id,
               'postId', c.post_id,
               'content', c.content,
               'createdAt', tvsync.iso_time(c.created_at),
               'updatedAt', tvsync.iso_time(c.updated_at),
               'author', (SELECT jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name)
                          FROM public.tb_user a WHERE a.id = c.author_id),
               'post', (SELECT jsonb_build_object('id', p.id, 'title', p.title)
                        FROM public.tb_post p WHERE p.id = c.post_id))
           || CASE WHEN c.content = 'boom' THEN public.server_test_boom(c.id) ELSE '{}' END
    FROM public.tb_comment c
    WHERE c.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_comment every)))
$$;
SQL
out=$(gql_query "mutation { createComment(postId: \"$POST1\", authorId: \"$BOB\", content: \"boom\") { id content } }")
assert_eq '{"createComment":null}' "$(jq -c '.data' <<<"$out")" "a dead-lettered mutation's field is null"
assert_eq "SYNC_FAILED" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "with an error SYNC_FAILED, not a silent null"
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" "The write was committed, but its read model could not be built" \
    "that says the write was committed and its read model could not be built"
assert_not_contains "$out" "cannot be built: boom" "the dead letter's reason is not sent to the client"
assert_eq 1 "$(pgcluster_psql -c "SELECT count(*) FROM tb_comment WHERE content = 'boom'")" "the row is committed in tb_comment"
assert_contains "$(grep 'could not build its read model' "$SERVER_LOG")" "cannot be built: boom" \
    "the server log has the dead letter's reason for operators"
out=$(gql_query "mutation { createComment(postId: \"$POST1\", authorId: \"$BOB\", content: \"fine\") { content } }")
assert_eq '{"data":{"createComment":{"content":"fine"}}}' "$(without_token <<<"$out")" "a normal createComment still answers its document"

# Four workers, one LISTEN connection (the first worker's): mutations waiting on every
# worker are released through it, also while the server drains on SIGTERM (the listening
# worker stops last). tvsync-cdc is paused so that the mutations wait. A round of eight
# mutations, then rounds of one: the kernel picks the worker of each connection, and one
# mutation is on another worker than the listening one three times in four.
waiting_mutations() {
    echo $(($(grep -c " waits for " "$SERVER_LOG") - waits_before))
}
test_waiting_mutations() {
    [ "$(waiting_mutations)" -ge "$count" ]
}
drain_round() {
    local count=$1 pids= answered=0 i
    server_start --set server.threads=4 --set server.sync_wait_timeout_ms=10000 || { echo "server did not start"; exit 1; }
    waits_before=$(grep -c " waits for " "$SERVER_LOG")
    kill -STOP "$CDC_PID"
    for i in $(seq "$count"); do
        gql_query "mutation { createComment(postId: \"$POST1\", authorId: \"$BOB\", content: \"drain $i\") { content } }" \
            >"$SERVER_LOG.drain.$i" &
        pids="$pids $!"
    done
    wait_for 20 test_waiting_mutations
    kill -TERM "$SERVER_PID"
    sleep 0.5
    kill -CONT "$CDC_PID"
    for i in $pids; do
        wait "$i"
    done
    wait "$SERVER_PID"
    drain_status=$?
    SERVER_PID=
    for i in $(seq "$count"); do
        [ "$(jq -r '.data.createComment.content' <"$SERVER_LOG.drain.$i" 2>/dev/null)" = "drain $i" ] &&
            answered=$((answered + 1))
    done
    drain_answered=$answered
    [ "$answered" = "$count" ] || cat "$SERVER_LOG".drain.* >&2
    rm -f "$SERVER_LOG".drain.*
}
server_stop
server_start --set server.threads=4 || { echo "server did not start"; exit 1; }
assert_eq 1 "$(pgcluster_psql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tvsync-server listener'")" \
    "four workers share one LISTEN connection"
server_stop
drain_round 8
assert_eq 0 "$drain_status" "SIGTERM with eight mutations waiting on four workers: exit status 0"
assert_eq 8 "$drain_answered" "every waiting mutation was answered from the read model while the server drained"
for round in 1 2 3; do
    drain_round 1
    assert_eq "0 1" "$drain_status $drain_answered" "SIGTERM with one mutation waiting (round $round): answered, exit 0"
done

test_summary
