-- 033_blog_validation_helpers: the blog's mutation functions (030) check their arguments
-- through shared helpers instead of repeating each check; messages and statuses unchanged.
--
-- Each helper returns the message for the client, or NULL when the argument is fine, so a
-- function lists its checks in order inside one coalesce(): the first message wins, and
-- coalesce evaluates no argument after the first non-NULL one, so the row locks taken by
-- blog.missing_reference happen only once every earlier check passed (as before).

-- args ->> name is not a UUID: 'id x is not a valid UUID' ('null' when absent).
CREATE FUNCTION blog.uuid_problem(args jsonb, name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN blog.try_uuid(args ->> name) IS NULL
                THEN format('%s %s is not a valid UUID', name, coalesce(args ->> name, 'null')) END
$$;

-- A text argument that is absent, not a string or blank: 'title must not be empty'.
-- required false: absence is fine (an update leaves the column as it is), but a present
-- value must still be a non-blank string.
CREATE FUNCTION blog.text_problem(args jsonb, name text, required boolean DEFAULT true) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN (required OR args ? name) AND blog.required_text(args, name) IS NULL
                THEN format('%s must not be empty', name) END
$$;

-- The referenced row is missing: 'authorId <uuid>: no such user'. Otherwise it is locked
-- FOR KEY SHARE, so it cannot be deleted before the caller's insert references it.
CREATE FUNCTION blog.missing_reference(name text, entity text, ref uuid) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    CASE entity
    WHEN 'user' THEN
        PERFORM 1 FROM tb_user WHERE id = ref FOR KEY SHARE;
    WHEN 'post' THEN
        PERFORM 1 FROM tb_post WHERE id = ref FOR KEY SHARE;
    END CASE;
    RETURN CASE WHEN FOUND THEN NULL ELSE format('%s %s: no such %s', name, ref, entity) END;
END
$$;

CREATE OR REPLACE FUNCTION blog.create_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_username text := blog.required_text(args, 'username');
    v_email text := blog.required_text(args, 'email');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(blog.text_problem(args, 'username'), blog.text_problem(args, 'email'),
                               blog.user_problem(v_username, v_email));
BEGIN
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
    -- NULL when absent: the column keeps its value.
    v_username text := blog.required_text(args, 'username');
    v_email text := blog.required_text(args, 'email');
    v_problem text := coalesce(blog.uuid_problem(args, 'id'),
                               blog.text_problem(args, 'username', required => false),
                               blog.text_problem(args, 'email', required => false),
                               blog.user_problem(v_username, v_email));
    v_found boolean;
BEGIN
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
    v_problem text := blog.uuid_problem(args, 'id');
    v_posts uuid[];
    v_comments uuid[];
    v_touched_posts uuid[];
    v_touched_users uuid[];
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'user', NULL);
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
    v_problem text;
BEGIN
    v_problem := coalesce(blog.uuid_problem(args, 'authorId'), blog.text_problem(args, 'title'),
                          blog.text_problem(args, 'content'), blog.missing_reference('authorId', 'user', v_author));
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', NULL);
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
    -- NULL when absent: the column keeps its value.
    v_title text := blog.required_text(args, 'title');
    v_content text := blog.required_text(args, 'content');
    v_problem text := coalesce(blog.uuid_problem(args, 'id'),
                               blog.text_problem(args, 'title', required => false),
                               blog.text_problem(args, 'content', required => false),
                               CASE WHEN args ? 'published' AND jsonb_typeof(args -> 'published') <> 'boolean'
                                    THEN 'published must be true or false' END);
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', v_id);
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
    v_problem text := blog.uuid_problem(args, 'id');
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', NULL);
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
    v_problem text := blog.uuid_problem(args, 'id');
    v_author uuid;
    v_comments uuid[];
    v_commenters uuid[];
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', NULL);
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
    v_problem text;
BEGIN
    v_problem := coalesce(blog.uuid_problem(args, 'postId'), blog.uuid_problem(args, 'authorId'),
                          blog.text_problem(args, 'content'),
                          blog.missing_reference('postId', 'post', v_post),
                          blog.missing_reference('authorId', 'user', v_author));
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'comment', NULL);
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
    v_problem text := coalesce(blog.uuid_problem(args, 'id'), blog.text_problem(args, 'content'));
    v_post uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'comment', v_id);
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
    v_problem text := blog.uuid_problem(args, 'id');
    v_post uuid;
    v_author uuid;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'comment', NULL);
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

-- Only tvsync_app enters schema blog; its functions are not for PUBLIC (030's and these).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA blog FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA blog TO tvsync_app;
