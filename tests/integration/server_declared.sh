#!/bin/bash
# server_declared.sh: tvsync-server serves a schema file that declares read models (@entity,
# @embedded, @ref, @many, crud: true): lists get derived where/orderBy/limit/offset (nested
# through @ref), CRUD mutations call the contract's SQL functions, introspection shows both,
# and a bad declaration stops the start with the file's line. The tv_* tables and the
# functions are written by hand here as the generator would name them.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
pgcluster_migrate >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
WORK=$(mktemp -d /tmp/tvsync-server-declared.XXXXXX)
pgcluster_on_exit 'rm -rf "$WORK"'

pgcluster_psql >/dev/null <<'SQL'
CREATE SCHEMA dm;
CREATE TABLE dm.tb_user (id bigint PRIMARY KEY, username text NOT NULL);
CREATE TABLE dm.tb_tag (id bigint PRIMARY KEY, label text NOT NULL);
CREATE TABLE dm.tb_post (id bigint PRIMARY KEY, title text NOT NULL, content text, score float8,
                         author_id bigint NOT NULL REFERENCES dm.tb_user);
CREATE TABLE dm.tb_post_tag (post_id bigint REFERENCES dm.tb_post, tag_id bigint REFERENCES dm.tb_tag,
                             PRIMARY KEY (post_id, tag_id));
CREATE TABLE dm.tv_post (id bigint PRIMARY KEY, data jsonb NOT NULL);
INSERT INTO dm.tb_user VALUES (1, 'ada'), (2, 'grace');
INSERT INTO dm.tb_tag VALUES (7, 'c');
INSERT INTO dm.tv_post VALUES
  (10, '{"id":"10","title":"alpha","body":"first","score":1.5,"author":{"id":"1","username":"ada"},"tags":[]}'),
  (11, '{"id":"11","title":"bravo","body":"second","score":2.5,"author":{"id":"2","username":"grace"},"tags":[]}'),
  (12, '{"id":"12","title":"charlie","body":null,"score":3.5,"author":{"id":"1","username":"ada"},"tags":[]}');
-- What each CRUD function was called with, to check the contract's argument shapes.
CREATE TABLE dm.calls (n serial, function text, args jsonb);
-- Stand-ins for the generated CRUD functions: they write the document themselves (no
-- intents, so nothing to wait for) and answer ok with the id.
CREATE FUNCTION dm.create_post(args jsonb) RETURNS tvsync.mutation_result LANGUAGE plpgsql AS $$
DECLARE i jsonb := args -> 'input';
BEGIN
    INSERT INTO dm.calls (function, args) VALUES ('create_post', args);
    INSERT INTO dm.tv_post VALUES ((i ->> 'id')::bigint, jsonb_build_object('id', i ->> 'id', 'title', i ->> 'title',
        'author', (SELECT jsonb_build_object('id', id::text, 'username', username) FROM dm.tb_user
                   WHERE id = (i ->> 'authorId')::bigint), 'tags', '[]'::jsonb));
    RETURN ROW('ok', NULL, NULL, i ->> 'id', NULL)::tvsync.mutation_result;
END $$;
CREATE FUNCTION dm.update_post(args jsonb) RETURNS tvsync.mutation_result LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dm.calls (function, args) VALUES ('update_post', args);
    UPDATE dm.tv_post SET data = data || jsonb_build_object('title', args -> 'patch' ->> 'title')
     WHERE id = (args ->> 'id')::bigint;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 'no post ' || (args ->> 'id'), NULL, NULL, NULL)::tvsync.mutation_result;
    END IF;
    RETURN ROW('ok', NULL, NULL, args ->> 'id', NULL)::tvsync.mutation_result;
END $$;
CREATE FUNCTION dm.delete_post(args jsonb) RETURNS tvsync.mutation_result LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dm.calls (function, args) VALUES ('delete_post', args);
    DELETE FROM dm.tv_post WHERE id = (args ->> 'id')::bigint;
    RETURN ROW('ok', NULL, NULL, args ->> 'id', NULL)::tvsync.mutation_result;
END $$;
CREATE FUNCTION dm.link_post_tags(args jsonb) RETURNS tvsync.mutation_result LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dm.calls (function, args) VALUES ('link_post_tags', args);
    UPDATE dm.tv_post SET data = jsonb_set(data, '{tags}', data -> 'tags' || jsonb_build_array(
        (SELECT jsonb_build_object('id', id::text, 'label', label) FROM dm.tb_tag WHERE id = (args ->> 'targetId')::bigint)))
     WHERE id = (args ->> 'id')::bigint;
    RETURN ROW('ok', NULL, NULL, args ->> 'id', NULL)::tvsync.mutation_result;
END $$;
CREATE FUNCTION dm.unlink_post_tags(args jsonb) RETURNS tvsync.mutation_result LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dm.calls (function, args) VALUES ('unlink_post_tags', args);
    RETURN ROW('ok', NULL, NULL, args ->> 'id', NULL)::tvsync.mutation_result;
END $$;
SQL

# The file declares no directive: the server knows the declaration directives and its own.
DECLARED='"The author as a post embeds it."
type AuthorRef @embedded(source: "dm.tb_user") { id: ID! username: String! }
type TagRef @embedded(source: "dm.tb_tag") { id: ID! label: String! }
"A post."
type Post @entity(source: "dm.tb_post", crud: true) {
  id: ID!
  title: String!
  body: String @column(name: "content")
  score: Float
  author: AuthorRef! @ref(via: "author_id")
  tags: [TagRef!]! @many(through: "dm.tb_post_tag", via: "post_id", target: "tag_id")
}
type Query {
  post(id: ID!): Post @lookup
  posts: [Post!]! @list
}'
printf '%s\n' "$DECLARED" >"$WORK/declared.graphql"
SERVER_SCHEMA="$WORK/declared.graphql"
server_start || { echo "the server did not start on a declared schema"; exit 1; }

# ---------------------------------------------------------------- derived list arguments
titles() { jq -c '[.data.posts[].title]' <<<"$1"; }
out=$(gql_query '{ posts(orderBy: [{field: title, direction: DESC}]) { title } }')
assert_eq '["charlie","bravo","alpha"]' "$(titles "$out")" "derived orderBy orders by a field, DESC"
out=$(gql_query '{ posts(orderBy: [{field: score}], limit: 2, offset: 1) { title } }')
assert_eq '["bravo","charlie"]' "$(titles "$out")" "derived orderBy (ASC by default), limit and offset"
out=$(gql_query '{ posts(where: {title: {startsWith: "b"}}) { id title } }')
assert_eq '{"data":{"posts":[{"id":"11","title":"bravo"}]}}' "$out" "derived where: a StringFilter"
out=$(gql_query '{ posts(where: {score: {gt: 2}, body: {isNull: true}}) { title } }')
assert_eq '["charlie"]' "$(titles "$out")" "derived where: FloatFilter and isNull together"
out=$(gql_query '{ posts(where: {author: {username: {eq: "ada"}}}, orderBy: [{field: id}]) { title author { username } } }')
assert_eq '{"data":{"posts":[{"title":"alpha","author":{"username":"ada"}},{"title":"charlie","author":{"username":"ada"}}]}}' \
    "$out" "derived where through an @ref field: a nested filter on the embedded author"
out=$(gql_query '{ posts(where: {OR: [{id: {eq: "10"}}, {NOT: {author: {id: {eq: "1"}}}}]}, orderBy: [{field: title}]) { title } }')
assert_eq '["alpha","bravo"]' "$(titles "$out")" "derived where: OR and NOT"
out=$(gql_query '{ posts(where: {tags: {eq: 1}}) { title } }')
assert_contains "$(jq -r '.errors[0].message' <<<"$out")" 'Field "tags" is not defined by type "PostWhere"' \
    "a list field (@many) has no filter"

# ---------------------------------------------------------------- CRUD mutations
out=$(gql_query 'mutation { createPost(input: {id: "20", title: "delta", authorId: "2"}) { id title author { username } } }')
assert_eq '{"data":{"createPost":{"id":"20","title":"delta","author":{"username":"grace"}}}}' "$out" \
    "createPost(input:) calls dm.create_post and answers the new document"
assert_eq '{"input": {"id": "20", "title": "delta", "authorId": "2"}}' \
    "$(pgcluster_psql -c "SELECT args FROM dm.calls WHERE function = 'create_post'")" \
    "create_post gets {\"input\": {...}} with @ref fields as <field>Id"
out=$(gql_query 'mutation { updatePost(id: "20", patch: {title: "echo", body: null}) { title } }')
assert_eq '{"data":{"updatePost":{"title":"echo"}}}' "$out" "updatePost(id, patch) calls dm.update_post"
assert_eq '{"id": "20", "patch": {"body": null, "title": "echo"}}' \
    "$(pgcluster_psql -c "SELECT args FROM dm.calls WHERE function = 'update_post'")" \
    "update_post gets {\"id\", \"patch\"}, an explicit null kept"
out=$(gql_query 'mutation { updatePost(id: "99", patch: {title: "x"}) { title } }')
assert_eq "NOT_FOUND" "$(jq -r '.errors[0].extensions.code' <<<"$out")" "a CRUD function's status reaches the client"
out=$(gql_query 'mutation { linkPostTags(id: "20", targetId: "7") { tags { label } } }')
assert_eq '{"data":{"linkPostTags":{"tags":[{"label":"c"}]}}}' "$out" "linkPostTags calls dm.link_post_tags"
assert_eq '{"id": "20", "targetId": "7"}' \
    "$(pgcluster_psql -c "SELECT args FROM dm.calls WHERE function = 'link_post_tags'")" \
    "link_post_tags gets {\"id\", \"targetId\"}"
out=$(gql_query 'mutation { deletePost(id: "20") }')
assert_eq '{"data":{"deletePost":"20"}}' "$out" "deletePost(id) answers the id"
out=$(gql_query '{ post(id: "20") { id } }')
assert_eq '{"data":{"post":null}}' "$out" "and the post is gone"

# ---------------------------------------------------------------- introspection
out=$(gql_query '{ __type(name: "Query") { fields { name args { name type { name kind ofType { name } } } } } }')
assert_eq 'where:PostWhere orderBy:LIST limit:Int offset:Int' \
    "$(jq -r '.data.__type.fields[] | select(.name == "posts") | [.args[] | .name + ":" + (.type.name // .type.kind)] | join(" ")' <<<"$out")" \
    "introspection shows the derived list arguments"
out=$(gql_query '{ __type(name: "PostWhere") { inputFields { name type { name } } } }')
assert_eq 'id:IDFilter title:StringFilter body:StringFilter score:FloatFilter author:AuthorRefWhere AND: OR: NOT:PostWhere' \
    "$(jq -r '[.data.__type.inputFields[] | .name + ":" + (.type.name // "")] | join(" ")' <<<"$out")" \
    "introspection shows the derived where input"
out=$(gql_query '{ __schema { mutationType { fields { name } } } }')
assert_eq 'createPost updatePost deletePost linkPostTags unlinkPostTags' \
    "$(jq -r '[.data.__schema.mutationType.fields[].name] | join(" ")' <<<"$out")" \
    "introspection shows the CRUD mutations"
server_stop

# ---------------------------------------------------------------- errors at start
# start_refused NAME: starts on $WORK/NAME.graphql; prints the exit status and the error line.
start_refused() {
    timeout 30 "$SERVER_BIN" --database "$TVSYNC_DATABASE_URL" --listen 127.0.0.1:0 --schema "$WORK/$1.graphql" \
        >"$WORK/$1.log" 2>&1
    echo "$? $(grep -v 'listening on' "$WORK/$1.log" | tail -1)"
}
line_of() { grep -n -F "$2" "$WORK/$1.graphql" | head -1 | cut -d: -f1; }

printf '%s\n' "${DECLARED/@entity(source: \"dm.tb_post\", crud: true)/@entity(crud: true)}" >"$WORK/no_source.graphql"
out=$(start_refused no_source)
assert_eq 3 "${out%% *}" "@entity without source: exit status 3"
assert_contains "$out" "$WORK/no_source.graphql:$(line_of no_source '@entity(crud: true)'): type Post: @entity needs source:" \
    "@entity without source: one line naming file and line"

printf '%s\n' "$DECLARED" 'type Stats { n: Int }' 'extend type Query { stats: [Stats!]! @list }' >"$WORK/not_model.graphql"
out=$(start_refused not_model)
assert_eq 3 "${out%% *}" "@list of a type that is not a read model: exit status 3"
assert_contains "$out" "$WORK/not_model.graphql:$(line_of not_model 'stats: [Stats!]!'): Query.stats: @list lists a read model" \
    "@list of a type that is not a read model: file and line"

printf '%s\n' "$DECLARED" 'type Tag @entity(source: "dm.tb_tag") { id: ID! label: String! }' \
    'extend type Query { tags: [Tag!]! @list }' >"$WORK/no_table.graphql"
out=$(start_refused no_table)
assert_eq 3 "${out%% *}" "an @entity whose read model table is missing: exit status 3"
assert_contains "$out" "$WORK/no_table.graphql:$(line_of no_table 'type Tag @entity'): @entity Tag: its read model \"dm.tv_tag\": no such table" \
    "an @entity whose read model table is missing: the @entity's line"

pgcluster_psql -c "DROP FUNCTION dm.unlink_post_tags(jsonb)" >/dev/null
out=$(start_refused declared)
assert_eq 3 "${out%% *}" "a CRUD function missing from the database: exit status 3"
assert_contains "$out" "$WORK/declared.graphql:$(line_of declared 'type Post @entity'): Mutation.unlinkPostTags: @sql function \"dm.unlink_post_tags\": no function" \
    "a missing CRUD function names the @entity type's line"

test_summary
