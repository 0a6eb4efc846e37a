-- 035_blog_intents_name_written_rows: the blog's mutations (033) publish intents for the
-- rows they write, and leave the documents that embed or count those rows to the
-- cascades (003, with the watch lists of 022). createComment publishes the new comment
-- only: the cascade reaches its post (a comment list) and its author (commentCount),
-- and stops there, because neither the post's title nor the author's name changed.
-- Before, it also published the post and the author, and tvsync-cdc expands an
-- intent's ids along every edge: each new comment diffed every other comment of the
-- post and every post and comment of the author. (Intent ids must expand
-- unconditionally: under concurrent writers a batch can rebuild a row from a newer
-- state than its own intent's, and only its intent's expansion is sure to reach what
-- embeds it.) The functions are 033's with only their intents changed (and the
-- variables those used).

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
        blog.intent('post', ARRAY[v_id])));
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
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', v_id);
    END IF;
    UPDATE tb_post SET
        title = coalesce(v_title, title),
        content = coalesce(v_content, content),
        published = coalesce((args ->> 'published')::boolean, published),
        updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    -- Cascades reach the author (publishedPostCount) and, when the title changed, the comments.
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.publish_post(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_problem text := blog.uuid_problem(args, 'id');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'post', NULL);
    END IF;
    UPDATE tb_post SET published = true,
        updated_at = CASE WHEN published THEN updated_at ELSE now() END
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no post with id %s', v_id), 'post', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'post', v_id, jsonb_build_array(
        blog.intent('post', ARRAY[v_id])));
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
        blog.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.update_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_content text := blog.required_text(args, 'content');
    v_problem text := coalesce(blog.uuid_problem(args, 'id'), blog.text_problem(args, 'content'));
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'comment', v_id);
    END IF;
    UPDATE tb_comment SET content = v_content, updated_at = now()
    WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'comment', v_id, jsonb_build_array(
        blog.intent('comment', ARRAY[v_id])));
END
$$;

CREATE OR REPLACE FUNCTION blog.delete_comment(args jsonb) RETURNS tvsync.mutation_result
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := blog.try_uuid(args ->> 'id');
    v_problem text := blog.uuid_problem(args, 'id');
BEGIN
    IF v_problem IS NOT NULL THEN
        RETURN blog.result('validation_failed', v_problem, 'comment', NULL);
    END IF;
    DELETE FROM tb_comment WHERE id = v_id;
    IF NOT FOUND THEN
        RETURN blog.result('not_found', format('no comment with id %s', v_id), 'comment', v_id);
    END IF;
    RETURN blog.result('ok', NULL, 'comment', v_id, jsonb_build_array(
        blog.intent('comment', ARRAY[v_id])));
END
$$;
