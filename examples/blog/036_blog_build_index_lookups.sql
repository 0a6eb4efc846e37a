-- 036_blog_build_index_lookups: the blog's build functions (034) read what a row embeds
-- (a user's post and comment counts, a post's author and comments' authors, a comment's
-- author and post) with a subquery per row instead of a join. The documents are the same:
-- tb_post.author_id, tb_comment.author_id and tb_comment.post_id are NOT NULL foreign
-- keys, so each join found its row, and a count over no rows is 0 as the coalesce made it.
-- The plans are not. In the generic plan that tvsync-cdc keeps per connection the ids
-- count as ten rows, and with a blog of a thousand users the planner chose to hash all of
-- tb_user to build one post or comment (a sequential scan and a hash of every user, about
-- 0.25 ms), and to read every comment and every post to count one user's. A subquery per
-- row is an index lookup however large the other tables grow.

CREATE OR REPLACE FUNCTION fn_build_user(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT u.id,
           jsonb_build_object(
               'id', u.id,
               'username', u.username,
               'email', u.email,
               'fullName', u.full_name,
               'bio', u.bio,
               'postCount', (SELECT count(*) FROM public.tb_post p WHERE p.author_id = u.id),
               'publishedPostCount', (SELECT count(*) FROM public.tb_post p
                                      WHERE p.author_id = u.id AND p.published),
               'commentCount', (SELECT count(*) FROM public.tb_comment c WHERE c.author_id = u.id),
               'createdAt', tvsync.iso_time(u.created_at),
               'updatedAt', tvsync.iso_time(u.updated_at))
    FROM public.tb_user u
    WHERE u.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_user every)))
$$;

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
                   'author', (SELECT jsonb_build_object('id', cu.id, 'username', cu.username)
                              FROM public.tb_user cu WHERE cu.id = c.author_id))
                   ORDER BY c.created_at, c.id) AS list,
               count(*) AS comment_count
        FROM public.tb_comment c
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
               'author', (SELECT jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name)
                          FROM public.tb_user a WHERE a.id = p.author_id),
               'comments', coalesce(comments.list, '[]'::jsonb),
               'commentCount', coalesce(comments.comment_count, 0))
    FROM p
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
               'author', (SELECT jsonb_build_object('id', a.id, 'username', a.username, 'fullName', a.full_name)
                          FROM public.tb_user a WHERE a.id = c.author_id),
               'post', (SELECT jsonb_build_object('id', p.id, 'title', p.title)
                        FROM public.tb_post p WHERE p.id = c.post_id))
    FROM public.tb_comment c
    WHERE c.id = ANY (coalesce(ids, ARRAY(SELECT every.id FROM public.tb_comment every)))
$$;
