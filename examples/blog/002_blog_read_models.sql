-- 002_generated: read models generated from examples/blog/schema.graphql by tvsync-migrate generate.
-- Change the declarations and run generate again rather than editing this file.
-- Each object's marker line (its key and the sha256 of its SQL) tells the next run what changed.

-- tvsync:object table public.tv_user 708e5fd24944eb35c2b6d2f40065bd416aa8107b68c948e0de27ed8cdad908dd
CREATE TABLE IF NOT EXISTS public.tv_user (
    id          uuid PRIMARY KEY,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA public TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tv_user TO tvsync_cdc;
GRANT SELECT ON public.tv_user TO tvsync_app, tvsync_reader;

-- tvsync:object table public.tv_post 75423e443c63e825e5a111a67043b6ec18d5ee43b6d0fc3c5551961bf3cded4c
CREATE TABLE IF NOT EXISTS public.tv_post (
    id          uuid PRIMARY KEY,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA public TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tv_post TO tvsync_cdc;
GRANT SELECT ON public.tv_post TO tvsync_app, tvsync_reader;

-- tvsync:object table public.tv_comment de3e3ecbcd8326f2b2e361f002dab70fd626a3b0fa0f9e0fe5a80ce5ce7d8775
CREATE TABLE IF NOT EXISTS public.tv_comment (
    id          uuid PRIMARY KEY,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT USAGE ON SCHEMA public TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tv_comment TO tvsync_cdc;
GRANT SELECT ON public.tv_comment TO tvsync_app, tvsync_reader;

-- tvsync:object index public.tb_post_author_id_idx 98bb6fc758c19e90a43ea38d08e696a7f7f91dc6b899ae2e4cf7f495dae071f5
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'public.tb_post'::regclass AND a.attname = 'author_id') THEN
        CREATE INDEX IF NOT EXISTS tb_post_author_id_idx ON public.tb_post (author_id);
    END IF;
END
$tvsync$;

-- tvsync:object index public.tb_comment_author_id_idx 75bb64c5b26f344166f65fad549f088c32dbe61e91e90636c5514d652012e153
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'public.tb_comment'::regclass AND a.attname = 'author_id') THEN
        CREATE INDEX IF NOT EXISTS tb_comment_author_id_idx ON public.tb_comment (author_id);
    END IF;
END
$tvsync$;

-- tvsync:object index public.tb_comment_post_id_idx 51a5f71f00d05737e718402084144a2202ea993df4155edf047a8b830562cb53
DO $tvsync$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'public.tb_comment'::regclass AND a.attname = 'post_id') THEN
        CREATE INDEX IF NOT EXISTS tb_comment_post_id_idx ON public.tb_comment (post_id);
    END IF;
END
$tvsync$;

-- tvsync:object function public.fn_build_user 5b2c971513cc637ad098295150574d66433bc763025e168330c37002dbb685ed
-- one document per public.tb_user row; ids NULL: every row. A subquery per embedded value and per
-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.
CREATE OR REPLACE FUNCTION public.fn_build_user(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id,
               'username', t0.username,
               'email', t0.email,
               'fullName', t0.full_name,
               'bio', t0.bio,
               'postCount', (SELECT count(*) FROM public.tb_post t1 WHERE t1.author_id = t0.id),
               'publishedPostCount', (SELECT count(*) FROM public.tb_post t2 WHERE t2.author_id = t0.id AND (published)),
               'commentCount', (SELECT count(*) FROM public.tb_comment t3 WHERE t3.author_id = t0.id),
               'createdAt', tvsync.iso_time(t0.created_at),
               'updatedAt', tvsync.iso_time(t0.updated_at))
    FROM public.tb_user t0
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM public.tb_user every)))
$tvsync$;
REVOKE ALL ON FUNCTION public.fn_build_user(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.fn_build_user(uuid[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA public TO tvsync_cdc;
GRANT SELECT ON public.tb_user, public.tb_post, public.tb_comment TO tvsync_cdc;

-- tvsync:object function public.fn_build_post a29ebfe08bf6550085bb7e4be86b39323b88005935cae0646950027dcdf2f32b
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
                   'id', t3.id,
                   'username', t3.username,
                   'fullName', t3.full_name) FROM public.tb_user t3 WHERE t3.id = t0.author_id),
               'comments', coalesce(l1.v0, '[]'::jsonb),
               'commentCount', l1.v1)
    FROM public.tb_post t0
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object(
                   'id', t1.id,
                   'content', t1.content,
                   'createdAt', tvsync.iso_time(t1.created_at),
                   'author', (SELECT jsonb_build_object(
                       'id', t2.id,
                       'username', t2.username,
                       'fullName', t2.full_name) FROM public.tb_user t2 WHERE t2.id = t1.author_id)) ORDER BY created_at, t1.id) AS v0,
               count(*) AS v1
        FROM public.tb_comment t1 WHERE t1.post_id = t0.id
    ) AS l1 ON true
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM public.tb_post every)))
$tvsync$;
REVOKE ALL ON FUNCTION public.fn_build_post(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.fn_build_post(uuid[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA public TO tvsync_cdc;
GRANT SELECT ON public.tb_comment, public.tb_user, public.tb_post TO tvsync_cdc;

-- tvsync:object function public.fn_build_comment fa712a38530d6f67a282ef7fd55af15c5b2c3ecb1b2abb49d1f60dd85c4620eb
-- one document per public.tb_comment row; ids NULL: every row. A subquery per embedded value and per
-- set of listed or counted rows keeps the generic plan an index lookup whatever the tables' sizes.
CREATE OR REPLACE FUNCTION public.fn_build_comment(ids uuid[]) RETURNS TABLE (id uuid, data jsonb)
LANGUAGE sql STABLE
AS $tvsync$
    SELECT t0.id,
           jsonb_build_object(
               'id', t0.id,
               'postId', t0.post_id,
               'content', t0.content,
               'createdAt', tvsync.iso_time(t0.created_at),
               'updatedAt', tvsync.iso_time(t0.updated_at),
               'author', (SELECT jsonb_build_object(
                   'id', t1.id,
                   'username', t1.username,
                   'fullName', t1.full_name) FROM public.tb_user t1 WHERE t1.id = t0.author_id),
               'post', (SELECT jsonb_build_object(
                   'id', t2.id,
                   'title', t2.title) FROM public.tb_post t2 WHERE t2.id = t0.post_id))
    FROM public.tb_comment t0
    WHERE t0.id = ANY (coalesce($1, ARRAY(SELECT every.id FROM public.tb_comment every)))
$tvsync$;
REVOKE ALL ON FUNCTION public.fn_build_comment(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.fn_build_comment(uuid[]) TO tvsync_cdc;
GRANT USAGE ON SCHEMA public TO tvsync_cdc;
GRANT SELECT ON public.tb_comment, public.tb_user, public.tb_post TO tvsync_cdc;

-- tvsync:object entity user 31dcd54cc712051b5b28e36f37668da13f234c2dddfbb7fcbf172757bce6b959
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('user', 'public.tv_user', 'public.tb_user', 'public.fn_build_user(uuid[])')
ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,
    build_function = excluded.build_function
WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)
      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);

-- tvsync:object entity post 18886a9b3344577aa3726b126b4ff13cf03032747788c2aa64b4f3e003df68f7
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('post', 'public.tv_post', 'public.tb_post', 'public.fn_build_post(uuid[])')
ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,
    build_function = excluded.build_function
WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)
      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);

-- tvsync:object entity comment ec3c73139a1b441c35a7a814f5c1328e67688d737fe02b84e7621bb68380dd28
INSERT INTO tvsync.entity (name, tv_table, source_table, build_function)
VALUES ('comment', 'public.tv_comment', 'public.tb_comment', 'public.fn_build_comment(uuid[])')
ON CONFLICT (name) DO UPDATE SET tv_table = excluded.tv_table, source_table = excluded.source_table,
    build_function = excluded.build_function
WHERE (tvsync.entity.tv_table, tvsync.entity.source_table, tvsync.entity.build_function)
      IS DISTINCT FROM (excluded.tv_table, excluded.source_table, excluded.build_function);

-- tvsync:object index public.tv_post_author_id_idx 2480f61fcf1618daecf2ce8ae4f06a695b2dda999229e0fea2ff1508ca2e7ddf
CREATE INDEX IF NOT EXISTS tv_post_author_id_idx ON public.tv_post ((data->'author'->>'id'));

-- tvsync:object index public.tv_comment_author_id_idx a8625a4586a467b77fc2d16e494e4cbc4cee556608de8c3f9cfa1b109e670b95
CREATE INDEX IF NOT EXISTS tv_comment_author_id_idx ON public.tv_comment ((data->'author'->>'id'));

-- tvsync:object cascade user post 2d47f30f2d5b2c6a928c95d975573fbb1a7f8e4b85bd220d2e8edfbfd4cd065e
-- post's documents copy rows of public.tb_user: its changed ids ($1) reach the post documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('user', 'post', $tvsync$
    SELECT p0.id FROM public.tb_post p0 WHERE p0.author_id = ANY ($1::uuid[])
    UNION SELECT t.id FROM public.tv_post t WHERE t.data->'author'->>'id' = ANY ($1::text[])
    UNION SELECT p1.post_id FROM public.tb_comment p1 WHERE p1.author_id = ANY ($1::uuid[])
    UNION SELECT o.x::uuid FROM (SELECT l.data->>'postId' FROM public.tv_comment l WHERE l.data->'author'->>'id' = ANY ($1::text[])) AS o(x)
$tvsync$, ARRAY['username', 'fullName']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object cascade user comment 849cad1060ebb99c6a3f2e6c920f47056bcec771d2c7d667a2c8fa8c1c28c087
-- comment's documents copy rows of public.tb_user: its changed ids ($1) reach the comment documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('user', 'comment', $tvsync$
    SELECT p0.id FROM public.tb_comment p0 WHERE p0.author_id = ANY ($1::uuid[])
    UNION SELECT t.id FROM public.tv_comment t WHERE t.data->'author'->>'id' = ANY ($1::text[])
$tvsync$, ARRAY['username', 'fullName']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object cascade post user 6bca86c815bdbc020d4ed55196ea27548382e5ee345bc645457943554baeb3e4
-- user's documents copy rows of public.tb_post: its changed ids ($1) reach the user documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('post', 'user', $tvsync$
    SELECT c0.author_id FROM public.tb_post c0 WHERE c0.id = ANY ($1::uuid[])
    UNION SELECT o.x::uuid FROM (SELECT s.data->'author'->>'id' FROM public.tv_post s WHERE s.id = ANY ($1::uuid[])) AS o(x)
$tvsync$, ARRAY['author.id', 'published']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object index public.tv_comment_post_id_idx 4ef2930a3894c7908dd9458a252cd1e0884c4ff4ec30887ce6e9d0d9f4a5a931
CREATE INDEX IF NOT EXISTS tv_comment_post_id_idx ON public.tv_comment ((data->'post'->>'id'));

-- tvsync:object cascade post comment 91a23487ae8bad1d6b0c29d7120af969f612c53ab1fcc5235b311470deb7a62c
-- comment's documents copy rows of public.tb_post: its changed ids ($1) reach the comment documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('post', 'comment', $tvsync$
    SELECT p0.id FROM public.tb_comment p0 WHERE p0.post_id = ANY ($1::uuid[])
    UNION SELECT t.id FROM public.tv_comment t WHERE t.data->'post'->>'id' = ANY ($1::text[])
$tvsync$, ARRAY['title']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object cascade comment user dc7fd627ff680d4782db0cd319be8263f62670fd9335abb0394d36327b491874
-- user's documents copy rows of public.tb_comment: its changed ids ($1) reach the user documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('comment', 'user', $tvsync$
    SELECT c0.author_id FROM public.tb_comment c0 WHERE c0.id = ANY ($1::uuid[])
    UNION SELECT o.x::uuid FROM (SELECT s.data->'author'->>'id' FROM public.tv_comment s WHERE s.id = ANY ($1::uuid[])) AS o(x)
$tvsync$, ARRAY['author.id']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- tvsync:object cascade comment post 714c742286944f5ff7eeeea2d06d141d188d56dd027461b355937d71add03f1b
-- post's documents copy rows of public.tb_comment: its changed ids ($1) reach the post documents that
-- hold them now (tb_*) and that held them before (tv_*)
INSERT INTO tvsync.cascade (source_entity, target_entity, query, watch)
VALUES ('comment', 'post', $tvsync$
    SELECT c0.post_id FROM public.tb_comment c0 WHERE c0.id = ANY ($1::uuid[])
    UNION SELECT o.x::uuid FROM (SELECT s.data->>'postId' FROM public.tv_comment s WHERE s.id = ANY ($1::uuid[])) AS o(x)
$tvsync$, ARRAY['content', 'createdAt', 'author.id', 'postId']::text[])
ON CONFLICT (source_entity, target_entity) DO UPDATE SET query = excluded.query, watch = excluded.watch
WHERE (tvsync.cascade.query, tvsync.cascade.watch) IS DISTINCT FROM (excluded.query, excluded.watch);

-- documents whose build function is new or changed are built (again)
SELECT tvsync.request_rebuild('user');
SELECT tvsync.request_rebuild('post');
SELECT tvsync.request_rebuild('comment');
