-- 022_blog_cascade_watch: what each blog cascade depends on (see 021). A new comment
-- changes its post's comment list and its author's commentCount; neither the post's
-- title nor the user's name changes, so the post's other comments and the user's posts
-- and comments are not rebuilt for it.
UPDATE tvsync.cascade AS c SET watch = w.watch
FROM (VALUES
    -- posts and comments embed the user's id, username and fullName
    ('user', 'post', ARRAY['username', 'fullName']),
    ('user', 'comment', ARRAY['username', 'fullName']),
    -- a comment embeds its post's id and title; a user counts posts and published posts
    ('post', 'comment', ARRAY['title']),
    ('post', 'user', ARRAY['published', 'author']),
    -- a post embeds its comments' id, content, createdAt and author; a user counts comments
    ('comment', 'post', ARRAY['content', 'createdAt', 'author', 'postId']),
    ('comment', 'user', ARRAY['author'])
) AS w (source_entity, target_entity, watch)
WHERE c.source_entity = w.source_entity AND c.target_entity = w.target_entity;
