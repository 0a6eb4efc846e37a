-- 003_blog_mutations: what no declaration expresses: the blog's mutation functions (the
-- GraphQL Mutation fields' @sql), and the read models' indexes for the list queries.
--
-- Each function takes the field's arguments as one jsonb object and returns
-- tvsync.mutation_result through the engine's helpers (migration 042): status 'ok',
-- 'not_found', 'conflict' or 'validation_failed', the entity and id the field answers, and
-- the intents naming the rows written (tvsync.cascade reaches the documents embedding them).
-- A failed call writes nothing; a referenced row is locked in reference_problem's argument.

CREATE SCHEMA blog;

-- Checks shared by create_user and update_user; NULL when the values are fine.
CREATE FUNCTION blog.user_problem(username text, email text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN username IS NOT NULL AND length(username) > 50 THEN 'username must be at most 50 characters'
        WHEN username IS NOT NULL AND username !~ '^[A-Za-z0-9_.-]+$'
            THEN 'username may contain only letters, digits, "_", "." and "-"'
        WHEN email IS NOT NULL AND email !~ '^[^@\s]+@[^@\s]+$' THEN 'email must look like name@domain'
    END
$$;

CREATE FUNCTION blog.create_user(args jsonb) RETURNS tvsync.mutation_result
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
    ELSIF EXISTS (SELECT 1 FROM tb_user WHERE username = v_username) THEN
        RETURN tvsync.mutation_failed('conflict', format('username %L is already taken', v_username), 'user');
    ELSIF EXISTS (SELECT 1 FROM tb_user WHERE email = v_email) THEN
        RETURN tvsync.mutation_failed('conflict', format('email %L is already in use', v_email), 'user');
    END IF;
    INSERT INTO tb_user (id, username, email, full_name, bio)
    VALUES (v_id, v_username, v_email, args ->> 'fullName', args ->> 'bio');
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(tvsync.intent('user', ARRAY[v_id])));
EXCEPTION WHEN unique_violation THEN -- a concurrent insert won the race since the checks
    RETURN tvsync.mutation_failed('conflict', 'username or email is already taken', 'user');
END
$$;

CREATE FUNCTION blog.update_user(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_username text := tvsync.text_arg(args, 'username'); -- NULL when absent: kept
    v_email text := tvsync.text_arg(args, 'email');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'),
                               tvsync.text_problem(args, 'username', required => false),
                               tvsync.text_problem(args, 'email', required => false),
                               blog.user_problem(v_username, v_email));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'user', v_id);
    ELSIF NOT EXISTS (SELECT 1 FROM tb_user WHERE id = v_id) THEN
        RETURN tvsync.mutation_failed('not_found', format('no user with id %s', v_id), 'user', v_id);
    ELSIF EXISTS (SELECT 1 FROM tb_user WHERE username = v_username AND id <> v_id) THEN
        RETURN tvsync.mutation_failed('conflict', format('username %L is already taken', v_username), 'user', v_id);
    ELSIF EXISTS (SELECT 1 FROM tb_user WHERE email = v_email AND id <> v_id) THEN
        RETURN tvsync.mutation_failed('conflict', format('email %L is already in use', v_email), 'user', v_id);
    END IF;
    UPDATE tb_user SET username = coalesce(v_username, username), email = coalesce(v_email, email),
        full_name = CASE WHEN args ? 'fullName' THEN args ->> 'fullName' ELSE full_name END,
        bio = CASE WHEN args ? 'bio' THEN args ->> 'bio' ELSE bio END, updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no user with id %s', v_id), 'user', v_id);
    END IF;
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(tvsync.intent('user', ARRAY[v_id])));
EXCEPTION WHEN unique_violation THEN
    RETURN tvsync.mutation_failed('conflict', 'username or email is already taken', 'user', v_id);
END
$$;

-- Deletes the user, their comments, and their posts (with every comment on them).
CREATE FUNCTION blog.delete_user(args jsonb) RETURNS tvsync.mutation_result
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
    SELECT coalesce(array_agg(id), '{}') INTO v_posts FROM tb_post WHERE author_id = v_id;
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(DISTINCT post_id), '{}'), array_agg(DISTINCT author_id)
      INTO v_comments, v_touched_posts, v_touched_users
      FROM tb_comment WHERE author_id = v_id OR post_id = ANY (v_posts);
    DELETE FROM tb_comment WHERE id = ANY (v_comments);
    DELETE FROM tb_post WHERE id = ANY (v_posts);
    DELETE FROM tb_user WHERE id = v_id;
    RETURN tvsync.mutation_ok('user', v_id, jsonb_build_array(
        tvsync.intent('user', array_append(v_touched_users, v_id)),
        tvsync.intent('post', v_posts || v_touched_posts), tvsync.intent('comment', v_comments)));
END
$$;

CREATE FUNCTION blog.create_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_author uuid := tvsync.try_uuid(args ->> 'authorId');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(tvsync.key_problem(args, 'authorId', 'uuid'), tvsync.text_problem(args, 'title'),
                               tvsync.text_problem(args, 'content'),
                               tvsync.reference_problem('authorId', v_author, 'user',
                                   EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    INSERT INTO tb_post (id, author_id, title, content, published)
    VALUES (v_id, v_author, args ->> 'title', args ->> 'content', coalesce((args ->> 'published')::boolean, false));
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE FUNCTION blog.update_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'),
                               tvsync.text_problem(args, 'title', required => false),
                               tvsync.text_problem(args, 'content', required => false),
                               CASE WHEN args ? 'published' AND jsonb_typeof(args -> 'published') <> 'boolean'
                                    THEN 'published must be true or false' END);
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post', v_id);
    END IF;
    -- An absent argument keeps the column's value.
    UPDATE tb_post SET title = coalesce(args ->> 'title', title), content = coalesce(args ->> 'content', content),
        published = coalesce((args ->> 'published')::boolean, published), updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE FUNCTION blog.publish_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := tvsync.key_problem(args, 'id', 'uuid');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'post');
    END IF;
    UPDATE tb_post SET published = true, updated_at = CASE WHEN published THEN updated_at ELSE now() END
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id])));
END
$$;

CREATE FUNCTION blog.delete_post(args jsonb) RETURNS tvsync.mutation_result
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
    SELECT coalesce(array_agg(id), '{}'), array_agg(DISTINCT author_id) INTO v_comments, v_commenters
      FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_comment WHERE post_id = v_id;
    DELETE FROM tb_post WHERE id = v_id;
    RETURN tvsync.mutation_ok('post', v_id, jsonb_build_array(tvsync.intent('post', ARRAY[v_id]),
        tvsync.intent('comment', v_comments), tvsync.intent('user', array_append(v_commenters, v_author))));
END
$$;

CREATE FUNCTION blog.create_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_post uuid := tvsync.try_uuid(args ->> 'postId');
    v_author uuid := tvsync.try_uuid(args ->> 'authorId');
    v_id uuid := gen_random_uuid();
    v_problem text := coalesce(tvsync.key_problem(args, 'postId', 'uuid'), tvsync.key_problem(args, 'authorId', 'uuid'),
                               tvsync.text_problem(args, 'content'),
                               tvsync.reference_problem('postId', v_post, 'post',
                                   EXISTS (SELECT FROM tb_post WHERE id = v_post FOR KEY SHARE)),
                               tvsync.reference_problem('authorId', v_author, 'user',
                                   EXISTS (SELECT FROM tb_user WHERE id = v_author FOR KEY SHARE)));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment');
    END IF;
    INSERT INTO tb_comment (id, post_id, author_id, content) VALUES (v_id, v_post, v_author, args ->> 'content');
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE FUNCTION blog.update_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tvsync.try_uuid(args ->> 'id');
    v_problem text := coalesce(tvsync.key_problem(args, 'id', 'uuid'), tvsync.text_problem(args, 'content'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN tvsync.mutation_failed('validation_failed', v_problem, 'comment', v_id);
    END IF;
    UPDATE tb_comment SET content = args ->> 'content', updated_at = now() WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN tvsync.mutation_failed('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN tvsync.mutation_ok('comment', v_id, jsonb_build_array(tvsync.intent('comment', ARRAY[v_id])));
END
$$;

CREATE FUNCTION blog.delete_comment(args jsonb) RETURNS tvsync.mutation_result
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA blog FROM PUBLIC;
GRANT USAGE ON SCHEMA blog TO tvsync_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA blog TO tvsync_app;

-- The list queries' orders and filters (newest first, by author, by post, published only).
CREATE INDEX tv_user_username ON tv_user ((data->>'username'));
CREATE INDEX tv_user_created_at ON tv_user ((data->>'createdAt'));
CREATE INDEX tv_post_created_at ON tv_post ((data->>'createdAt'));
CREATE INDEX tv_post_published_created_at ON tv_post ((data->>'published'), (data->>'createdAt'));
CREATE INDEX tv_comment_post_id ON tv_comment ((data->>'postId'), (data->>'createdAt'));
CREATE INDEX tv_comment_created_at ON tv_comment ((data->>'createdAt'));
