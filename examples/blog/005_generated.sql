-- 005_generated: read models generated from examples/blog/schema.graphql by tvsync-migrate generate.
-- Change the declarations and run generate again rather than editing this file.
-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.

-- tvsync:object function public.fn_patch_post_from_comment 6eeea8bc09fc315301648254b1001ff3c5615ca932bf678f54dc08c17c1fec0b
-- post's documents when only rows of public.tb_comment changed (changed: their ids): each list of them
-- is the old document's with the changed rows' elements removed and their current ones put
-- in its order (tvsync.patch_list); the other fields are computed as fn_build_post does.
CREATE OR REPLACE FUNCTION public.fn_patch_post_from_comment(ids uuid[], changed uuid[])
RETURNS TABLE (id uuid, data jsonb)
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
               'comments', coalesce(tvsync.patch_list(old.data -> 'comments', $2::text[],
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', t2.id,
                   'content', t2.content,
                   'createdAt', tvsync.iso_time(t2.created_at),
                   'author', (SELECT jsonb_build_object(
                       'id', t3.id,
                       'username', t3.username,
                       'fullName', t3.full_name) FROM public.tb_user t3 WHERE t3.id = t2.author_id))), '[]'::jsonb) FROM public.tb_comment t2 WHERE t2.id = ANY ($2) AND t2.post_id = t0.id),
                   'id', '[{"field": "createdAt", "type": "timestamptz", "desc": false, "nulls_first": false}, {"field": "id", "type": "uuid", "desc": false, "nulls_first": false}]'::jsonb),
                   coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', t4.id,
                   'content', t4.content,
                   'createdAt', tvsync.iso_time(t4.created_at),
                   'author', (SELECT jsonb_build_object(
                       'id', t5.id,
                       'username', t5.username,
                       'fullName', t5.full_name) FROM public.tb_user t5 WHERE t5.id = t4.author_id)) ORDER BY created_at, t4.id) FROM public.tb_comment t4 WHERE t4.post_id = t0.id), '[]'::jsonb)),
               'commentCount', (SELECT count(*) FROM public.tb_comment t6 WHERE t6.post_id = t0.id))
    FROM public.tb_post t0
    LEFT JOIN public.tv_post old ON old.id = t0.id
    WHERE t0.id = ANY ($1)
$tvsync$;
REVOKE ALL ON FUNCTION public.fn_patch_post_from_comment(uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.fn_patch_post_from_comment(uuid[], uuid[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA public TO tvsync_cdc;
GRANT SELECT ON public.tb_post, public.tb_user, public.tb_comment TO tvsync_cdc;

-- tvsync:object patch comment post 294deccedd224328663205a6a11f94264acbf1b3c54a0173fdee601c0b54514c
-- tvsync-cdc patches post's documents reached along comment -> post rather than building them
UPDATE tvsync.cascade SET patch_function = 'public.fn_patch_post_from_comment(uuid[], uuid[])'
WHERE source_entity = 'comment' AND target_entity = 'post'
  AND patch_function IS DISTINCT FROM 'public.fn_patch_post_from_comment(uuid[], uuid[])'::regprocedure;
