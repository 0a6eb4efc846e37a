-- 003_blog_entities: the blog's build functions (tb_* rows -> camelCase JSONB documents),
-- their registration as tvsync entities, and the cascades between them.
--
-- Each build function takes ids uuid[] (NULL = every row) and returns one (id, data) per
-- existing row; a missing id means "delete its document". They are set-based: a batch of
-- ids is one query, never one query per id. "ids IS NULL UNION ALL id = ANY (ids)" rather
-- than an OR keeps the primary-key index usable even in a generic (prepared) plan, and the
-- bodies stay inlinable (no SET clause, names qualified instead).

CREATE FUNCTION fn_build_user(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    WITH u AS (
        SELECT * FROM public.tb_user WHERE ids IS NULL
        UNION ALL
        SELECT * FROM public.tb_user WHERE tb_user.id = ANY (ids)
    ), posts AS (
        SELECT p.author_id,
               count(*) AS post_count,
               count(*) FILTER (WHERE p.published) AS published_count
        FROM public.tb_post p
        WHERE p.author_id IN (SELECT u.id FROM u)
        GROUP BY p.author_id
    ), comments AS (
        SELECT c.author_id, count(*) AS comment_count
        FROM public.tb_comment c
        WHERE c.author_id IN (SELECT u.id FROM u)
        GROUP BY c.author_id
    )
    SELECT u.id,
           jsonb_build_object(
               'id', u.id,
               'username', u.username,
               'email', u.email,
               'fullName', u.full_name,
               'bio', u.bio,
               'postCount', coalesce(posts.post_count, 0),
               'publishedPostCount', coalesce(posts.published_count, 0),
               'commentCount', coalesce(comments.comment_count, 0),
               'createdAt', tvsync.iso_time(u.created_at),
               'updatedAt', tvsync.iso_time(u.updated_at))
    FROM u
    LEFT JOIN posts ON posts.author_id = u.id
    LEFT JOIN comments ON comments.author_id = u.id
$$;

-- Comments are embedded oldest first (ties broken by id so the document is stable).
CREATE FUNCTION fn_build_post(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    WITH p AS (
        SELECT * FROM public.tb_post WHERE ids IS NULL
        UNION ALL
        SELECT * FROM public.tb_post WHERE tb_post.id = ANY (ids)
    ), comments AS (
        SELECT c.post_id,
               jsonb_agg(jsonb_build_object(
                   'id', c.id,
                   'content', c.content,
                   'createdAt', tvsync.iso_time(c.created_at),
                   'author', jsonb_build_object('id', cu.id, 'username', cu.username))
                   ORDER BY c.created_at, c.id) AS list,
               count(*) AS comment_count
        FROM public.tb_comment c
        JOIN public.tb_user cu ON cu.id = c.author_id
        WHERE c.post_id IN (SELECT p.id FROM p)
        GROUP BY c.post_id
    )
    SELECT p.id,
           jsonb_build_object(
               'id', p.id,
               'title', p.title,
               'content', p.content,
               'published', p.published,
               'createdAt', tvsync.iso_time(p.created_at),
               'updatedAt', tvsync.iso_time(p.updated_at),
               'author', jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name),
               'comments', coalesce(comments.list, '[]'::jsonb),
               'commentCount', coalesce(comments.comment_count, 0))
    FROM p
    JOIN public.tb_user a ON a.id = p.author_id
    LEFT JOIN comments ON comments.post_id = p.id
$$;

CREATE FUNCTION fn_build_comment(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT c.id,
           jsonb_build_object(
               'id', c.id,
               'postId', c.post_id,
               'content', c.content,
               'createdAt', tvsync.iso_time(c.created_at),
               'updatedAt', tvsync.iso_time(c.updated_at),
               'author', jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name),
               'post', jsonb_build_object('id', p.id, 'title', p.title))
    FROM (SELECT * FROM public.tb_comment WHERE ids IS NULL
          UNION ALL
          SELECT * FROM public.tb_comment WHERE tb_comment.id = ANY (ids)) c
    JOIN public.tb_user a ON a.id = c.author_id
    JOIN public.tb_post p ON p.id = c.post_id
$$;

REVOKE ALL ON FUNCTION fn_build_user(uuid[]), fn_build_post(uuid[]), fn_build_comment(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fn_build_user(uuid[]), fn_build_post(uuid[]), fn_build_comment(uuid[])
    TO tvsync_cdc;

INSERT INTO tvsync.entity (name, tv_table, source_table, build_function) VALUES
    ('user', 'tv_user', 'tb_user', 'fn_build_user(uuid[])'),
    ('post', 'tv_post', 'tb_post', 'fn_build_post(uuid[])'),
    ('comment', 'tv_comment', 'tb_comment', 'fn_build_comment(uuid[])');

-- Cascades: $1 holds the changed source ids. Each query reads the new state (tb_*) and
-- the old state (tv_* documents, which tvsync-cdc has not rebuilt yet when it expands
-- cascades), so a deleted row or a moved reference still reaches its old targets.
-- tvsync-cdc expands cascades transitively, so a deleted post reaches its comments and,
-- through them, the comments' authors.
INSERT INTO tvsync.cascade (source_entity, target_entity, query) VALUES
    -- a user's name is embedded in the user's posts, in the user's comments, and in the
    -- comment lists of the posts the user commented on
    ('user', 'post', $q$
        SELECT p.id FROM public.tb_post p WHERE p.author_id = ANY ($1)
        UNION SELECT c.post_id FROM public.tb_comment c WHERE c.author_id = ANY ($1)
        UNION SELECT t.id FROM public.tv_post t WHERE t.data->'author'->>'id' = ANY ($1::text[])
        UNION SELECT (t.data->>'postId')::uuid FROM public.tv_comment t
              WHERE t.data->'author'->>'id' = ANY ($1::text[])
    $q$),
    ('user', 'comment', $q$
        SELECT c.id FROM public.tb_comment c WHERE c.author_id = ANY ($1)
        UNION SELECT t.id FROM public.tv_comment t WHERE t.data->'author'->>'id' = ANY ($1::text[])
    $q$),
    -- a post's title is embedded in its comments; its author counts posts
    ('post', 'comment', $q$
        SELECT c.id FROM public.tb_comment c WHERE c.post_id = ANY ($1)
        UNION SELECT t.id FROM public.tv_comment t WHERE t.data->>'postId' = ANY ($1::text[])
    $q$),
    ('post', 'user', $q$
        SELECT p.author_id FROM public.tb_post p WHERE p.id = ANY ($1)
        UNION SELECT (t.data->'author'->>'id')::uuid FROM public.tv_post t WHERE t.id = ANY ($1)
    $q$),
    -- a comment is embedded in its post; its author counts comments
    ('comment', 'post', $q$
        SELECT c.post_id FROM public.tb_comment c WHERE c.id = ANY ($1)
        UNION SELECT (t.data->>'postId')::uuid FROM public.tv_comment t WHERE t.id = ANY ($1)
    $q$),
    ('comment', 'user', $q$
        SELECT c.author_id FROM public.tb_comment c WHERE c.id = ANY ($1)
        UNION SELECT (t.data->'author'->>'id')::uuid FROM public.tv_comment t WHERE t.id = ANY ($1)
    $q$);
