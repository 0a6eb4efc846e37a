-- 034_blog_build_generic_plans: the blog's build functions (003) select their rows with
-- "id = ANY (coalesce(ids, ARRAY(every id)))" instead of "ids IS NULL UNION ALL
-- id = ANY (ids)". The result is the same; the plans are not. tvsync-cdc runs its
-- statements with generic plans, planned once per connection: a custom plan per batch
-- cost more than the batch itself (0.5-0.8 ms each, five or more per batch). In a
-- generic plan the "ids IS NULL" branch counts as a scan of the whole table, so the
-- planner sized everything after it for every row (hash joins over whole tables). With
-- the coalesce the estimate is the ids' (the array is not known: ten elements), the
-- joins use the indexes, and the full-table array is built only when ids is NULL (a
-- manual tvsync.apply(entity, NULL); tvsync-cdc and tvsync-slot pass ids).

CREATE OR REPLACE FUNCTION fn_build_user(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    WITH u AS (
        SELECT * FROM public.tb_user
        WHERE tb_user.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_user every)))
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
CREATE OR REPLACE FUNCTION fn_build_post(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    WITH p AS (
        SELECT * FROM public.tb_post
        WHERE tb_post.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_post every)))
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
               'author', jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name),
               'post', jsonb_build_object('id', p.id, 'title', p.title))
    FROM (SELECT * FROM public.tb_comment
          WHERE tb_comment.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_comment every)))) c
    JOIN public.tb_user a ON a.id = c.author_id
    JOIN public.tb_post p ON p.id = c.post_id
$$;
