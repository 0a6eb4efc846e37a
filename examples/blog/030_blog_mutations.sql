-- 030_blog_mutations: the blog's write side for tvsync-server. Each function takes the
-- GraphQL field's arguments as one jsonb object and returns tvsync.mutation_result.
--
-- Contract (relied on by tvsync.run_mutation in 031_server.sql and by the server):
--   status  'ok' | 'not_found' | 'conflict' | 'validation_failed'
--   message a sentence for the client when status is not 'ok'
--   entity, id   the entity the GraphQL field returns (read back from its tv_* table)
--   sync    the intents to publish: [{"entity":"post","ids":["<uuid>",...]}, ...];
--           deletes list the removed ids so their tv_* rows are deleted, and
--           tvsync.cascade adds the dependents.
-- A function that returns a status other than 'ok' must have written nothing; the
-- server's wrapper also rolls such a call back, so a half-done write cannot leak.

CREATE SCHEMA IF NOT EXISTS blog;

-- The uuid in text, or NULL when it is not one (so a bad id is a validation error,
-- not a SQL error).
CREATE OR REPLACE FUNCTION blog.try_uuid(value text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                THEN value::uuid END
$$;

CREATE OR REPLACE FUNCTION blog.result(status text, message text, entity text, id uuid,
                                       sync jsonb DEFAULT '[]')
RETURNS tvsync.mutation_result
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(status, message, entity, id, sync)::tvsync.mutation_result
$$;

-- One intent {"entity": e, "ids": [...]} without nulls or duplicates.
CREATE OR REPLACE FUNCTION blog.intent(entity text, ids uuid[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('entity', entity,
        'ids', coalesce((SELECT jsonb_agg(DISTINCT i) FROM unnest(ids) i WHERE i IS NOT NULL), '[]'))
$$;

-- A required text argument: present, a string, and not blank.
CREATE OR REPLACE FUNCTION blog.required_text(args jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(args -> name) = 'string' AND btrim(args ->> name) <> ''
                THEN args ->> name END
$$;

-- Checks shared by create_user and update_user; NULL when the values are fine.
CREATE OR REPLACE FUNCTION blog.user_problem(username text, email text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN username IS NOT NULL AND length(username) > 50 THEN 'username must be at most 50 characters'
        WHEN username IS NOT NULL AND username !~ '^[A-Za-z0-9_.-]+$'
            THEN 'username may contain only letters, digits, "_", "." and "-"'
        WHEN email IS NOT NULL AND email !~ '^[^@\s]+@[^@\s]+$' THEN 'email must look like name@domain'
    END
$$;

CREATE OR REPLACE FUNCTION blog.create_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_username text := blog.required_text(args, 'username');
    v_email text := blog.required_text(args, 'email');
    v_id uuid := gen_random_uuid();
    v_problem text;
BEGIN
    IF v_username IS NULL THEN
        RETURN blog.result('validation_failed', 'username must not be empty', 'user', NULL);
    END IF;
    IF v_email IS NULL THEN
        RETURN blog.result('validation_failed', 'email must not be empty', 'user', NULL);
    END IF;
    v_problem := blog.user_problem(v_username, v_email);
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'user', NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM tb_user WHERE username = v_username) THEN
        RETURN blog.result('conflict', format('username %L is already taken', v_username), 'user', NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM tb_user WHERE email = v_email) THEN
        RETURN blog.result('conflict', format('email %L is already in use', v_email), 'user', NULL);
    END IF;
    BEGIN
        INSERT INTO tb_user (id, username, email, full_name, bio, created_at, updated_at)
        VALUES (v_id, v_username, v_email, args ->> 'fullName', args ->> 'bio', now(), now());
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent insert won the race between the check and the insert.
        RETURN blog.result('conflict', 'username or email is already taken', 'user', NULL);
    END;
    RETURN blog.result('ok', NULL, 'user', v_id, jsonb_build_array(blog.intent('user', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_username text;
    v_email text;
    v_problem text;
    v_found boolean;
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'user', NULL);
    END IF;
    IF args ? 'username' THEN
        v_username := blog.required_text(args, 'username');
        IF v_username IS NULL THEN
            RETURN blog.result('validation_failed', 'username must not be empty', 'user', v_id);
        END IF;
    END IF;
    IF args ? 'email' THEN
        v_email := blog.required_text(args, 'email');
        IF v_email IS NULL THEN
            RETURN blog.result('validation_failed', 'email must not be empty', 'user', v_id);
        END IF;
    END IF;
    v_problem := blog.user_problem(v_username, v_email);
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'user', v_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tb_user WHERE id = v_id) THEN
        RETURN blog.result('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    IF v_username IS NOT NULL AND EXISTS (SELECT 1 FROM tb_user WHERE username = v_username AND id <> v_id) THEN
        RETURN blog.result('conflict', format('username %L is already taken', v_username), 'user', v_id);
    END IF;
    IF v_email IS NOT NULL AND EXISTS (SELECT 1 FROM tb_user WHERE email = v_email AND id <> v_id) THEN
        RETURN blog.result('conflict', format('email %L is already in use', v_email), 'user', v_id);
    END IF;
    BEGIN
        UPDATE tb_user SET
            username = coalesce(v_username, username),
            email = coalesce(v_email, email),
            full_name = CASE WHEN args ? 'fullName' THEN args ->> 'fullName' ELSE full_name END,
            bio = CASE WHEN args ? 'bio' THEN args ->> 'bio' ELSE bio END,
            updated_at = now()
        WHERE id = v_id;
        v_found := FOUND;
    EXCEPTION WHEN unique_violation THEN
        RETURN blog.result('conflict', 'username or email is already taken', 'user', v_id);
    END;
    IF NOT v_found THEN
        RETURN blog.result('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    -- tvsync.cascade rebuilds the user's posts and comments (they embed the username).
    RETURN blog.result('ok', NULL, 'user', v_id, jsonb_build_array(blog.intent('user', ARRAY[v_id])));
END
$$;

-- Deletes the user, their comments, and their posts (with every comment on them).
CREATE OR REPLACE FUNCTION blog.delete_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_posts uuid[];
    v_comments uuid[];
    v_touched_posts uuid[];
    v_touched_users uuid[];
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'user', NULL);
    END IF;
    PERFORM 1 FROM tb_user WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    SELECT array_agg(id) INTO v_posts FROM tb_post WHERE author_id = v_id;
    -- Comments that go: the user's own, and every comment on the user's posts.
    SELECT array_agg(id), array_agg(DISTINCT post_id), array_agg(DISTINCT author_id)
      INTO v_comments, v_touched_posts, v_touched_users
      FROM tb_comment WHERE author_id = v_id OR post_id = ANY(coalesce(v_posts, '{}'));
    DELETE FROM tb_comment WHERE id = ANY(coalesce(v_comments, '{}'));
    DELETE FROM tb_post WHERE id = ANY(coalesce(v_posts, '{}'));
    DELETE FROM tb_user WHERE id = v_id;
    RETURN blog.result('ok', NULL, 'user', v_id, jsonb_build_array(
        blog.intent('user', array_append(coalesce(v_touched_users, '{}'), v_id)),
        blog.intent('post', coalesce(v_posts, '{}') || coalesce(v_touched_posts, '{}')),
        blog.intent('comment', coalesce(v_comments, '{}'))));
END
$$;

CREATE OR REPLACE FUNCTION blog.create_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_author uuid := blog.try_uuid(args ->> 'authorId');
    v_title text := blog.required_text(args, 'title');
    v_content text := blog.required_text(args, 'content');
    v_published boolean := coalesce((args ->> 'published')::boolean, false);
    v_id uuid := gen_random_uuid();
BEGIN
    IF v_author IS NULL THEN
        RETURN blog.result('validation_failed', format('authorId %s is not a valid UUID', coalesce(args ->> 'authorId', 'null')), 'post', NULL);
    END IF;
    IF v_title IS NULL THEN
        RETURN blog.result('validation_failed', 'title must not be empty', 'post', NULL);
    END IF;
    IF v_content IS NULL THEN
        RETURN blog.result('validation_failed', 'content must not be empty', 'post', NULL);
    END IF;
    -- FOR KEY SHARE: the author cannot be deleted between this check and the insert.
    PERFORM 1 FROM tb_user WHERE id = v_author FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN blog.result('validation_failed', format('authorId %s: no such user', v_author), 'post', NULL);
    END IF;
    INSERT INTO tb_post (id, author_id, title, content, published, created_at, updated_at)
    VALUES (v_id, v_author, v_title, v_content, v_published, now(), now());
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id]), blog.intent('user', ARRAY[v_author])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_title text;
    v_content text;
    v_author uuid;
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'post', NULL);
    END IF;
    IF args ? 'title' THEN
        v_title := blog.required_text(args, 'title');
        IF v_title IS NULL THEN
            RETURN blog.result('validation_failed', 'title must not be empty', 'post', v_id);
        END IF;
    END IF;
    IF args ? 'content' THEN
        v_content := blog.required_text(args, 'content');
        IF v_content IS NULL THEN
            RETURN blog.result('validation_failed', 'content must not be empty', 'post', v_id);
        END IF;
    END IF;
    IF args ? 'published' AND jsonb_typeof(args -> 'published') <> 'boolean' THEN
        RETURN blog.result('validation_failed', 'published must be true or false', 'post', v_id);
    END IF;
    UPDATE tb_post SET
        title = coalesce(v_title, title),
        content = coalesce(v_content, content),
        published = coalesce((args ->> 'published')::boolean, published),
        updated_at = now()
    WHERE id = v_id
    RETURNING author_id INTO v_author;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    -- The author's publishedPostCount may change; the post's comments embed its title.
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id]), blog.intent('user', ARRAY[v_author])));
END
$$;

CREATE OR REPLACE FUNCTION blog.publish_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_author uuid;
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'post', NULL);
    END IF;
    UPDATE tb_post SET published = true,
        updated_at = CASE WHEN published THEN updated_at ELSE now() END
    WHERE id = v_id
    RETURNING author_id INTO v_author;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id]), blog.intent('user', ARRAY[v_author])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_author uuid;
    v_comments uuid[];
    v_commenters uuid[];
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'post', NULL);
    END IF;
    SELECT author_id INTO v_author FROM tb_post WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    SELECT array_agg(id), array_agg(DISTINCT author_id) INTO v_comments, v_commenters
      FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_post WHERE id = v_id;
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id]),
        blog.intent('comment', coalesce(v_comments, '{}')),
        blog.intent('user', array_append(coalesce(v_commenters, '{}'), v_author))));
END
$$;

CREATE OR REPLACE FUNCTION blog.create_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_post uuid := blog.try_uuid(args ->> 'postId');
    v_author uuid := blog.try_uuid(args ->> 'authorId');
    v_content text := blog.required_text(args, 'content');
    v_id uuid := gen_random_uuid();
BEGIN
    IF v_post IS NULL THEN
        RETURN blog.result('validation_failed', format('postId %s is not a valid UUID', coalesce(args ->> 'postId', 'null')), 'comment', NULL);
    END IF;
    IF v_author IS NULL THEN
        RETURN blog.result('validation_failed', format('authorId %s is not a valid UUID', coalesce(args ->> 'authorId', 'null')), 'comment', NULL);
    END IF;
    IF v_content IS NULL THEN
        RETURN blog.result('validation_failed', 'content must not be empty', 'comment', NULL);
    END IF;
    PERFORM 1 FROM tb_post WHERE id = v_post FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN blog.result('validation_failed', format('postId %s: no such post', v_post), 'comment', NULL);
    END IF;
    PERFORM 1 FROM tb_user WHERE id = v_author FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN blog.result('validation_failed', format('authorId %s: no such user', v_author), 'comment', NULL);
    END IF;
    INSERT INTO tb_comment (id, post_id, author_id, content, created_at, updated_at)
    VALUES (v_id, v_post, v_author, v_content, now(), now());
    RETURN blog.result('ok', NULL, 'comment', v_id, jsonb_build_array(
        blog.intent('comment', ARRAY[v_id]),
        blog.intent('post', ARRAY[v_post]),
        blog.intent('user', ARRAY[v_author])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_content text := blog.required_text(args, 'content');
    v_post uuid;
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'comment', NULL);
    END IF;
    IF v_content IS NULL THEN
        RETURN blog.result('validation_failed', 'content must not be empty', 'comment', v_id);
    END IF;
    UPDATE tb_comment SET content = v_content, updated_at = now()
    WHERE id = v_id
    RETURNING post_id INTO v_post;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'comment', v_id, jsonb_build_array(
        blog.intent('comment', ARRAY[v_id]), blog.intent('post', ARRAY[v_post])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_post uuid;
    v_author uuid;
BEGIN
    IF v_id IS NULL THEN
        RETURN blog.result('validation_failed', format('id %s is not a valid UUID', coalesce(args ->> 'id', 'null')), 'comment', NULL);
    END IF;
    DELETE FROM tb_comment WHERE id = v_id RETURNING post_id, author_id INTO v_post, v_author;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'comment', v_id, jsonb_build_array(
        blog.intent('comment', ARRAY[v_id]),
        blog.intent('post', ARRAY[v_post]),
        blog.intent('user', ARRAY[v_author])));
END
$$;

GRANT USAGE ON SCHEMA blog TO tvsync_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA blog TO tvsync_app;
