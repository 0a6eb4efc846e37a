-- 037_blog_helpers_inline: the blog's helper functions that PostgreSQL could not inline
-- into the mutation functions' expressions now can, or are PL/pgSQL, whose statements are
-- planned once per session. Same results, same messages.
--
-- A SQL function that is not inlined is planned again the first time each PL/pgSQL
-- expression calls it in a transaction: for createComment, uuid_problem and text_problem
-- (IMMUTABLE, but their format() is only STABLE, which forbids inlining) and intent (its
-- subquery forbids inlining) cost 0.3 ms of the mutation's 0.5 ms (pgbench, one mutation
-- per transaction). Declared STABLE, the first two inline; intent becomes PL/pgSQL.

-- args ->> name is not a UUID: 'id x is not a valid UUID' ('null' when absent).
CREATE OR REPLACE FUNCTION blog.uuid_problem(args jsonb, name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN blog.try_uuid(args ->> name) IS NULL
                THEN format('%s %s is not a valid UUID', name, coalesce(args ->> name, 'null')) END
$$;

-- A text argument that is absent, not a string or blank: 'title must not be empty'.
-- required false: absence is fine (an update leaves the column as it is), but a present
-- value must still be a non-blank string.
CREATE OR REPLACE FUNCTION blog.text_problem(args jsonb, name text, required boolean DEFAULT true) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (required OR args ? name) AND blog.required_text(args, name) IS NULL
                THEN format('%s must not be empty', name) END
$$;

-- One intent {"entity": e, "ids": [...]} without nulls or duplicates.
CREATE OR REPLACE FUNCTION blog.intent(entity text, ids uuid[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN jsonb_build_object('entity', entity,
        'ids', coalesce((SELECT jsonb_agg(DISTINCT i) FROM unnest(ids) i WHERE i IS NOT NULL), '[]'));
END
$$;
