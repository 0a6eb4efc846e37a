-- blog_seed: the example data (alice, bob, charlie, 3 posts, 4 comments) with fixed ids
-- and times so tests can name them. Idempotent: rows that exist are left alone.
--
-- Users    10000000-0000-4000-8000-00000000000{1,2,3}  alice, bob, charlie
-- Posts    20000000-0000-4000-8000-00000000000{1,2,3}  (3 is a draft)
-- Comments 30000000-0000-4000-8000-00000000000{1,2,3,4}

INSERT INTO public.tb_user (id, username, email, full_name, bio, created_at, updated_at) VALUES
    ('10000000-0000-4000-8000-000000000001', 'alice', 'alice@example.com', 'Alice Anderson',
     'Writes about PostgreSQL internals.', '2024-01-01 09:00:00+00', '2024-01-01 09:00:00+00'),
    ('10000000-0000-4000-8000-000000000002', 'bob', 'bob@example.com', 'Bob Brown',
     'GraphQL enthusiast.', '2024-01-02 09:00:00+00', '2024-01-02 09:00:00+00'),
    ('10000000-0000-4000-8000-000000000003', 'charlie', 'charlie@example.com', 'Charlie Clark',
     NULL, '2024-01-03 09:00:00+00', '2024-01-03 09:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO public.tb_post (id, author_id, title, content, published, created_at, updated_at) VALUES
    ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
     'Getting started with CQRS', 'Command tables on one side, read models on the other.',
     true, '2024-02-01 10:00:00+00', '2024-02-01 10:00:00+00'),
    ('20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
     'Logical decoding in practice', 'wal2json turns the WAL into JSON.',
     true, '2024-02-02 10:00:00+00', '2024-02-02 10:00:00+00'),
    ('20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
     'Draft: GraphQL without N+1', 'One query per root field.',
     false, '2024-02-03 10:00:00+00', '2024-02-03 10:00:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO public.tb_comment (id, post_id, author_id, content, created_at, updated_at) VALUES
    ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001',
     '10000000-0000-4000-8000-000000000002', 'Great introduction!',
     '2024-02-01 11:00:00+00', '2024-02-01 11:00:00+00'),
    ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000001',
     '10000000-0000-4000-8000-000000000003', 'How does it handle deletes?',
     '2024-02-01 12:00:00+00', '2024-02-01 12:00:00+00'),
    ('30000000-0000-4000-8000-000000000003', '20000000-0000-4000-8000-000000000002',
     '10000000-0000-4000-8000-000000000003', 'Which wal2json format version?',
     '2024-02-02 11:00:00+00', '2024-02-02 11:00:00+00'),
    ('30000000-0000-4000-8000-000000000004', '20000000-0000-4000-8000-000000000001',
     '10000000-0000-4000-8000-000000000001', 'Deletes are synced too.',
     '2024-02-01 13:00:00+00', '2024-02-01 13:00:00+00')
ON CONFLICT DO NOTHING;

-- Tell tvsync-cdc (if a slot exists) to build the documents; harmless otherwise, and
-- rebuilding an unchanged row changes nothing.
SELECT tvsync.publish('user', ARRAY['10000000-0000-4000-8000-000000000001',
                                    '10000000-0000-4000-8000-000000000002',
                                    '10000000-0000-4000-8000-000000000003']::uuid[]);
SELECT tvsync.publish('post', ARRAY['20000000-0000-4000-8000-000000000001',
                                    '20000000-0000-4000-8000-000000000002',
                                    '20000000-0000-4000-8000-000000000003']::uuid[]);
SELECT tvsync.publish('comment', ARRAY['30000000-0000-4000-8000-000000000001',
                                       '30000000-0000-4000-8000-000000000002',
                                       '30000000-0000-4000-8000-000000000003',
                                       '30000000-0000-4000-8000-000000000004']::uuid[]);
