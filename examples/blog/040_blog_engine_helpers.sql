-- 040_blog_engine_helpers: the blog's mutation functions check their arguments, build
-- their results and name their intents with the engine's helpers (tvsync, 042).
--
-- The blog's set is applied after the engine's, whose 042 defines the helpers.
--
-- Same answers (status, message, entity, id, sync) for the same arguments as under 035;
-- the blog's private copies of the helpers go (blog.user_problem, a rule of the blog's
-- own, stays). A referenced row is looked up and locked in the argument of
-- tvsync.reference_problem, a statement planned once per session as in 033.

CREATE OR REPLACE FUNCTION blog.create_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_username text := tvsync.text_arg(args, 'username');
    v_email text := tvsync.text_arg(args, 'email');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(tvsync.text_problem(args, 'username'), tvsync.text_problem(args, 'email'),
                               blog.user_problem(v_username, v_email));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'user');
    END IF;
    IF EXISTS (SELECT 1 FROM tb_user WHERE username = v_username) THEN
        RETURN tvsync.mutation_failed('conflict', format('username %L is already taken', v_username), 'user');
    END IF;
    IF EXISTS (SELECT 1 FROM tb_user WHERE email = v_email) THEN
        RETURN tvsync.mutation_failed('conflict', format('email %L is already in use', v_email), 'user');
    END IF;
    BEGIN
        INSERT INTO tb_user (id, username, email, full_name, bio, created_at, updated_at)
        VALUES (v_id, v_username, v_email, args ->> 'fullName', args ->> 'bio', now(), now());
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent insert won the race between the check and the insert.
        RETURN tvsync.mutation_failed('conflict', 'username or email is already taken', 'user');
    END;
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(tvsync.intent('user', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    -- NULL when absent: the column keeps its value.
    v_username text := tvsync.text_arg(args, 'username');
    v_email text := tvsync.text_arg(args, 'email');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'),
                               tvsync.text_problem(args, 'username', required => false),
                               tvsync.text_problem(args, 'email', required => false),
                               blog.user_problem(v_username, v_email));
    v_found boolean;
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'user', v_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tb_user WHERE id = v_id) THEN
        RETURN tvsync.mutation_failed('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    IF v_username IS NOT NULL AND EXISTS (SELECT 1 FROM tb_user WHERE username = v_username AND id <> v_id) THEN
        RETURN tvsync.mutation_failed('conflict', format('username %L is already taken', v_username), 'user', v_id);
    END IF;
    IF v_email IS NOT NULL AND EXISTS (SELECT 1 FROM tb_user WHERE email = v_email AND id <> v_id) THEN
        RETURN tvsync.mutation_failed('conflict', format('email %L is already in use', v_email), 'user', v_id);
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
        RETURN tvsync.mutation_failed('conflict', 'username or email is already taken', 'user', v_id);
    END;
    IF NOT v_found THEN
        RETURN tvsync.mutation_failed('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    -- tvsync.cascade rebuilds the user's posts and comments (they embed the username).
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(tvsync.intent('user', ARRAY[v_id])));
END
$$;

-- Deletes the user, their comments, and their posts (with every comment on them).
CREATE OR REPLACE FUNCTION blog.delete_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
    v_posts uuid[];
    v_comments uuid[];
    v_touched_posts uuid[];
    v_touched_users uuid[];
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'user');
    END IF;
    PERFORM 1 FROM tb_user WHERE id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    SELECT array_agg(id) INTO v_posts FROM tb_post WHERE author_id = v_id;
    -- Comments that go: the user's own, and every comment on the user's posts.
    SELECT array_agg(id), array_agg(DISTINCT post_id), array_agg(DISTINCT author_id)
      INTO v_comments, v_touched_posts, v_touched_users
      FROM tb_comment WHERE author_id = v_id OR post_id = ANY(coalesce(v_posts, '{}'));
    DELETE FROM tb_comment WHERE id = ANY(coalesce(v_comments, '{}'));
    DELETE FROM tb_post WHERE id = ANY(coalesce(v_posts, '{}'));
    DELETE FROM tb_user WHERE id = v_id;
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(
        tvsync.intent('user', array_append(coalesce(v_touched_users, '{}'), v_id)),
        tvsync.intent('post', coalesce(v_posts, '{}') || coalesce(v_touched_posts, '{}')),
        tvsync.intent('comment', coalesce(v_comments, '{}'))));
END
$$;

CREATE OR REPLACE FUNCTION blog.create_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_author uuid := tvsync.try_uuid(args ->> 'authorId');
    v_title text := tvsync.text_arg(args, 'title');
    v_content text := tvsync.text_arg(args, 'content');
    v_published boolean := coalesce((args ->> 'published')::boolean, false);
    v_id uuid := gen_random_uuid();
    v_problem text;
BEGIN
    v_problem := coalesce(tvsync.key_problem(args, 'authorId', 'uuid'), tvsync.text_problem(args, 'title'),
                          tvsync.text_problem(args, 'content'),
                          tvsync.reference_problem('authorId', v_author, 'user',
                              EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    INSERT INTO tb_post (id, author_id, title, content, published, created_at, updated_at)
    VALUES (v_id, v_author, v_title, v_content, v_published, now(), now());
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    -- NULL when absent: the column keeps its value.
    v_title text := tvsync.text_arg(args, 'title');
    v_content text := tvsync.text_arg(args, 'content');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'),
                               tvsync.text_problem(args, 'title', required => false),
                               tvsync.text_problem(args, 'content', required => false),
                               CASE WHEN args ? 'published' AND jsonb_typeof(args -> 'published') <> 'boolean'
                                    THEN 'published must be true or false' END);
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post', v_id);
    END IF;
    UPDATE tb_post SET
        title = coalesce(v_title, title),
        content = coalesce(v_content, content),
        published = coalesce((args ->> 'published')::boolean, published),
        updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    -- Cascades reach the author (publishedPostCount) and, when the title changed, the comments.
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.publish_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    UPDATE tb_post SET published = true,
        updated_at = CASE WHEN published THEN updated_at ELSE now() END
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
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
    SELECT array_agg(id), array_agg(DISTINCT author_id) INTO v_comments, v_commenters
      FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_post WHERE id = v_id;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(
        tvsync.intent('post', ARRAY[v_id]),
        tvsync.intent('comment', coalesce(v_comments, '{}')),
        tvsync.intent('user', array_append(coalesce(v_commenters, '{}'), v_author))));
END
$$;

CREATE OR REPLACE FUNCTION blog.create_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_post uuid := tvsync.try_uuid(args ->> 'postId');
    v_author uuid := tvsync.try_uuid(args ->> 'authorId');
    v_content text := tvsync.text_arg(args, 'content');
    v_id uuid := gen_random_uuid();
    v_problem text;
BEGIN
    v_problem := coalesce(tvsync.key_problem(args, 'postId', 'uuid'), tvsync.key_problem(args, 'authorId', 'uuid'),
                          tvsync.text_problem(args, 'content'),
                          tvsync.reference_problem('postId', v_post, 'post',
                              EXISTS (SELECT FROM tb_post WHERE id = v_post FOR KEY SHARE)),
                          tvsync.reference_problem('authorId', v_author, 'user',
                              EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment');
    END IF;
    INSERT INTO tb_comment (id, post_id, author_id, content, created_at, updated_at)
    VALUES (v_id, v_post, v_author, v_content, now(), now());
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_content text := tvsync.text_arg(args, 'content');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'), tvsync.text_problem(args, 'content'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment', v_id);
    END IF;
    UPDATE tb_comment SET content = v_content, updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment');
    END IF;
    DELETE FROM tb_comment WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

DROP FUNCTION blog.result(text, text, text, uuid, jsonb), blog.intent(text, uuid[]), blog.try_uuid(text),
    blog.required_text(jsonb, text), blog.uuid_problem(jsonb, text), blog.text_problem(jsonb, text, boolean),
    blog.missing_reference(text, text, uuid);
