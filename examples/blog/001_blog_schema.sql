-- 001_blog_schema: the blog example's command tables (tb_user, tb_post, tb_comment), their
-- constraints, indexes and grants; 002 (generated from schema.graphql) adds the read models.

CREATE TABLE tb_user (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username    text NOT NULL CONSTRAINT tb_user_username_not_empty CHECK (btrim(username) <> ''),
    email       text NOT NULL CONSTRAINT tb_user_email_not_empty CHECK (btrim(email) <> ''),
    full_name   text,
    bio         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tb_user_username_key UNIQUE (username),
    CONSTRAINT tb_user_email_key UNIQUE (email)
);

CREATE TABLE tb_post (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    author_id   uuid NOT NULL CONSTRAINT tb_post_author_fkey REFERENCES tb_user (id),
    title       text NOT NULL CONSTRAINT tb_post_title_not_empty CHECK (btrim(title) <> ''),
    content     text NOT NULL DEFAULT '',
    published   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tb_post_author_id ON tb_post (author_id);

CREATE TABLE tb_comment (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id     uuid NOT NULL CONSTRAINT tb_comment_post_fkey REFERENCES tb_post (id) ON DELETE CASCADE,
    author_id   uuid NOT NULL CONSTRAINT tb_comment_author_fkey REFERENCES tb_user (id),
    content     text NOT NULL CONSTRAINT tb_comment_content_not_empty CHECK (btrim(content) <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Build functions and cascades look comments up by post and by author.
CREATE INDEX tb_comment_post_id ON tb_comment (post_id, created_at);
CREATE INDEX tb_comment_author_id ON tb_comment (author_id);

-- updated_at follows every update, whoever writes the row.
CREATE FUNCTION tb_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER tb_user_touch BEFORE UPDATE ON tb_user
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION tb_touch_updated_at();
CREATE TRIGGER tb_post_touch BEFORE UPDATE ON tb_post
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION tb_touch_updated_at();
CREATE TRIGGER tb_comment_touch BEFORE UPDATE ON tb_comment
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION tb_touch_updated_at();

GRANT USAGE ON SCHEMA public TO tvsync_app, tvsync_cdc, tvsync_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON tb_user, tb_post, tb_comment TO tvsync_app;
GRANT SELECT ON tb_user, tb_post, tb_comment TO tvsync_cdc;
