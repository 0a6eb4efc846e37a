-- 007_generated: read models generated from examples/blog/schema.graphql by tvsync-migrate generate.
-- Change the declarations and run generate again rather than editing this file.
-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.

-- tvsync:object index public.tb_comment_post_id_created_at_idx 0febcc83df5ffa46cfcf6643a08b607202af935e1bb374fdccf8a98fe9083f70
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   WHERE i.indrelid = 'public.tb_comment'::regclass AND i.indnkeyatts >= 2
                     AND i.indkey[0] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
                                         WHERE a.attrelid = i.indrelid AND a.attname = 'post_id')
                     AND i.indkey[1] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
                                         WHERE a.attrelid = i.indrelid AND a.attname = 'created_at')) THEN
        CREATE INDEX IF NOT EXISTS tb_comment_post_id_created_at_idx ON public.tb_comment (post_id, created_at);
    END IF;
END
$tvsync$;

-- tvsync:object function public.fn_build_post 59e031ea6e0c54502d02adf49024f026700776e8e525f75793857bac8af60dd2
-- one document per public.tb_post row; ids NULL: every row. A subquery per embedded value and per
-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.
CREATE OR REPLACE FUNCTION public.fn_build_post(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id,
               'title', t0.title,
               'content', t0.content,
               'published', t0.published,
               'createdAt', tvsync.iso_time(t0.created_at),
               'updatedAt', tvsync.iso_time(t0.updated_at),
               'author', (SELECT jsonb_build_object(
                   'id', t1.id,
                   'username', t1.username,
                   'fullName', t1.full_name) FROM public.tb_user t1 WHERE t1.id = t0.author_id),
               'comments', coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t2.id,
                   'content', t2.content,
                   'createdAt', tvsync.iso_time(t2.created_at),
                   'author', (SELECT jsonb_build_object(
                       'id', t3.id,
                       'username', t3.username,
                       'fullName', t3.full_name) FROM public.tb_user t3 WHERE t3.id = t2.author_id)) ORDER BY created_at, t2.id) FROM (SELECT t2.* FROM public.tb_comment t2 WHERE t2.post_id = t0.id ORDER BY created_at DESC NULLS FIRST, t2.id DESC LIMIT 50) t2), '[]'::jsonb),
               'commentCount', (SELECT count(*) FROM public.tb_comment t4 WHERE t4.post_id = t0.id))
    FROM public.tb_post t0
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM public.tb_post every)))
$tvsync$;
REVOKE ALL ON FUNCTION public.fn_build_post(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.fn_build_post(uuid[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA public TO tvsync_cdc;
GRANT SELECT ON public.tb_post, public.tb_user, public.tb_comment TO tvsync_cdc;

-- tvsync:object patch comment post cb4c9ff976d1e0e5eeb4460304ef5850c259f67d7902973351b9937c524aa9fc
-- no patch function along comment -> post: Post.comments keeps at most 50 rows (last: 50): building them costs no more than patching; tvsync-cdc builds the post documents
-- that changes of comment reach again
UPDATE tvsync.cascade SET patch_function = NULL
WHERE source_entity = 'comment' AND target_entity = 'post' AND patch_function IS NOT NULL;

-- documents whose build function is new or changed are built (again)
SELECT tvsync.request_rebuild('post');

-- no longer declared
-- tvsync:dropped function public.fn_patch_post_from_comment
-- function public.fn_patch_post_from_comment is no longer declared; drop it by hand when nothing uses it
