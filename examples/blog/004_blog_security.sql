-- 004_blog_security: who may read and write what when tvsync-server authenticates requests
-- (JWT): the request roles, row-level security on the read models, and ownership checks.
--
-- Roles: blog_anon runs requests without a token (server.anonymous_role = blog_anon) and
-- reads published posts; blog_user runs signed-in requests (the token's role claim) and also
-- reads its own drafts and writes. The token's sub claim is the user's id (tb_user.id, a
-- uuid). The server connects as an authenticator role that may only take these roles
-- (created by the operator, not here: CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD
-- '...'; GRANT blog_anon, blog_user TO authenticator).
--
-- A request run as a role carries its claims in request.jwt.claims; without them (a server
-- with authentication off, psql) everything behaves as before this file: the server's role
-- sees every document and the mutation functions check no ownership.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['blog_anon', 'blog_user'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;
COMMENT ON ROLE blog_anon IS 'blog example: requests without a token; reads published posts';
COMMENT ON ROLE blog_user IS 'blog example: signed-in requests (sub = tb_user.id); reads own drafts, writes own rows';

GRANT tvsync_reader TO blog_anon;
GRANT tvsync_app TO blog_user;

-- The request's claims, NULL when the request runs without them.
CREATE FUNCTION blog.request_claims() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb
$$;

-- The signed-in user's id (the sub claim), NULL when there is none or it is not a uuid.
CREATE FUNCTION blog.claimed_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN sub::uuid END
    FROM (SELECT blog.request_claims() ->> 'sub' AS sub) AS claims
$$;

-- Raises insufficient_privilege (tvsync-server answers FORBIDDEN with the message) when a
-- request with claims acts on a row owned by another user; no check without claims.
CREATE FUNCTION blog.require_owner(what text, id uuid, owner uuid) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_user uuid;
BEGIN
    IF blog.request_claims() IS NULL THEN
        RETURN;
    END IF;
    v_user := blog.claimed_user_id();
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'sign in to change a %: the token names no user (its sub claim is not a user id)', what
            USING ERRCODE = 'insufficient_privilege';
    ELSIF owner IS DISTINCT FROM v_user THEN
        RAISE EXCEPTION '% % belongs to another user: only its author may change or delete it', what, id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- Policies call the first two as the reading role: the policies that call them apply to
-- tvsync_app and tvsync_reader (and the roles granted them) only.
-- Looking names up is harmless (EXECUTE is what is granted below, to those roles only),
-- and the server's authenticator checks the mutation functions by name at start.
GRANT USAGE ON SCHEMA blog TO PUBLIC;
GRANT EXECUTE ON FUNCTION blog.request_claims(), blog.claimed_user_id() TO tvsync_app, tvsync_reader;
GRANT EXECUTE ON FUNCTION blog.require_owner(text, uuid, uuid) TO tvsync_app;

-- Read models. Policies are permissive (any that holds shows the row); a subquery around
-- the claims makes them one evaluation per statement rather than one per row. They test
-- generated columns rather than the documents: a test on data reads (and decompresses) the
-- whole document of every row it looks at, once more than the answer does.
ALTER TABLE tv_post
    ADD COLUMN rls_published boolean GENERATED ALWAYS AS (data ->> 'published' = 'true') STORED,
    ADD COLUMN rls_author_id text GENERATED ALWAYS AS (data -> 'author' ->> 'id') STORED;
ALTER TABLE tv_comment ADD COLUMN rls_post_id uuid GENERATED ALWAYS AS ((data ->> 'postId')::uuid) STORED;
ALTER TABLE tv_post ENABLE ROW LEVEL SECURITY;
CREATE POLICY tv_post_cdc ON tv_post TO tvsync_cdc USING (true) WITH CHECK (true);
CREATE POLICY tv_post_without_claims ON tv_post FOR SELECT TO tvsync_app, tvsync_reader
    USING ((SELECT blog.request_claims()) IS NULL);
CREATE POLICY tv_post_published ON tv_post FOR SELECT USING (rls_published);
CREATE POLICY tv_post_own_drafts ON tv_post FOR SELECT TO blog_user
    USING (rls_author_id = (SELECT blog.claimed_user_id())::text);

-- A comment shows where its post does (the subquery sees tv_post through its policies).
ALTER TABLE tv_comment ENABLE ROW LEVEL SECURITY;
CREATE POLICY tv_comment_cdc ON tv_comment TO tvsync_cdc USING (true) WITH CHECK (true);
CREATE POLICY tv_comment_without_claims ON tv_comment FOR SELECT TO tvsync_app, tvsync_reader
    USING ((SELECT blog.request_claims()) IS NULL);
CREATE POLICY tv_comment_on_visible_post ON tv_comment FOR SELECT
    USING (EXISTS (SELECT FROM tv_post p WHERE p.id = tv_comment.rls_post_id));
-- tv_user stays readable by every role that may read it: users are public profiles.

-- Mutations: with claims, a post or comment is changed or deleted by its author only, and a
-- new one is written by the signed-in user (an authorId argument must be theirs).

-- The author a create writes: the signed-in user when there are claims, else the argument.
CREATE FUNCTION blog.author_for_create(args jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_user uuid;
BEGIN
    IF blog.request_claims() IS NULL THEN
        RETURN args;
    END IF;
    v_user := blog.claimed_user_id();
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'sign in to write: the token names no user (its sub claim is not a user id)'
            USING ERRCODE = 'insufficient_privilege';
    ELSIF args ? 'authorId' AND tvsync.try_uuid(args ->> 'authorId') IS DISTINCT FROM v_user THEN
        RAISE EXCEPTION 'authorId must be the signed-in user (%): one writes as oneself', v_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN args || jsonb_build_object('authorId', v_user);
END
$$;
GRANT EXECUTE ON FUNCTION blog.author_for_create(jsonb) TO tvsync_app;

CREATE OR REPLACE FUNCTION blog.create_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_args jsonb := blog.author_for_create(args);
    v_author uuid := tvsync.try_uuid(v_args ->> 'authorId');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(tvsync.key_problem(v_args, 'authorId', 'uuid'), tvsync.text_problem(v_args, 'title'),
                               tvsync.text_problem(v_args, 'content'),
                               tvsync.reference_problem('authorId', v_author, 'user',
                                   EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    INSERT INTO tb_post (id, author_id, title, content, published)
    VALUES (v_id, v_author, v_args ->> 'title', v_args ->> 'content',
            coalesce((v_args ->> 'published')::boolean, false));
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'),
                               tvsync.text_problem(args, 'title', required => false),
                               tvsync.text_problem(args, 'content', required => false),
                               CASE WHEN args ? 'published' AND jsonb_typeof(args -> 'published') <> 'boolean'
                                    THEN 'published must be true or false' END);
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post', v_id);
    END IF;
    SELECT author_id INTO v_author FROM tb_post WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    PERFORM blog.require_owner('post', v_id, v_author);
    -- An absent argument keeps the column's value.
    UPDATE tb_post SET title = coalesce(args ->> 'title', title), content = coalesce(args ->> 'content', content),
        published = coalesce((args ->> 'published')::boolean, published), updated_at = now()
    WHERE id = v_id;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.publish_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    SELECT author_id INTO v_author FROM tb_post WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    PERFORM blog.require_owner('post', v_id, v_author);
    UPDATE tb_post SET published = true, updated_at = CASE WHEN published THEN updated_at ELSE now() END
    WHERE id = v_id;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
    v_author uuid;
    v_comments uuid[];
    v_commenters uuid[];
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    SELECT author_id INTO v_author FROM tb_post WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    PERFORM blog.require_owner('post', v_id, v_author);
    SELECT coalesce(array_agg(id), '{}'), array_agg(DISTINCT author_id) INTO v_comments, v_commenters
      FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_post WHERE id = v_id;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id]),
        tvsync.intent('comment', v_comments), tvsync.intent('user', array_append(v_commenters, v_author))));
END
$$;

CREATE OR REPLACE FUNCTION blog.create_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_args jsonb := blog.author_for_create(args);
    v_post uuid := tvsync.try_uuid(v_args ->> 'postId');
    v_author uuid := tvsync.try_uuid(v_args ->> 'authorId');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(tvsync.key_problem(v_args, 'postId', 'uuid'),
                               tvsync.key_problem(v_args, 'authorId', 'uuid'),
                               tvsync.text_problem(v_args, 'content'),
                               tvsync.reference_problem('postId', v_post, 'post',
                                   EXISTS (SELECT FROM tb_post WHERE id = v_post FOR KEY SHARE)),
                               tvsync.reference_problem('authorId', v_author, 'user',
                                   EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment');
    END IF;
    INSERT INTO tb_comment (id, post_id, author_id, content) VALUES (v_id, v_post, v_author, v_args ->> 'content');
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'), tvsync.text_problem(args, 'content'));
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment', v_id);
    END IF;
    SELECT author_id INTO v_author FROM tb_comment WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    PERFORM blog.require_owner('comment', v_id, v_author);
    UPDATE tb_comment SET content = args ->> 'content', updated_at = now() WHERE id = v_id;
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment');
    END IF;
    SELECT author_id INTO v_author FROM tb_comment WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    PERFORM blog.require_owner('comment', v_id, v_author);
    DELETE FROM tb_comment WHERE id = v_id;
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

-- Functions are executable by PUBLIC when created: the blog's are for the roles above only.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA blog FROM PUBLIC;
