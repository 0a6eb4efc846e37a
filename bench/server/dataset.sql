-- dataset.sql: the benchmark's blog, on top of the seed: 1,000 users, 10,000 posts (ten
-- per user, four in five published) and 100,000 comments (ten per post, by users spread
-- over the whole set). createComment (create_comment.lua) writes to random posts as
-- random users, so each new comment rebuilds a post of about ten comments and a user of
-- about a hundred, as in a blog that is read far more than it is written.
INSERT INTO tb_user (id, username, email, full_name, bio)
SELECT ('40000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'user' || i,
       'user' || i || '@example.com', 'User ' || i, 'Writes about things.'
FROM generate_series(1, 1000) AS i;
INSERT INTO tb_post (id, author_id, title, content, published)
SELECT ('50000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
       ('40000000-0000-4000-8000-' || lpad(to_hex(1 + i % 1000), 12, '0'))::uuid,
       'Post ' || i, repeat('Some text. ', 40), i % 5 <> 0
FROM generate_series(1, 10000) AS i;
INSERT INTO tb_comment (post_id, author_id, content)
SELECT ('50000000-0000-4000-8000-' || lpad(to_hex(1 + i % 10000), 12, '0'))::uuid,
       ('40000000-0000-4000-8000-' || lpad(to_hex(1 + (i * 7) % 1000), 12, '0'))::uuid,
       'Comment ' || i
FROM generate_series(1, 100000) AS i;
ANALYZE;
