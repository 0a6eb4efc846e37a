-- 006_blog_claims: the signed-in user's id as an expression the planner inlines.
--
-- 004's blog.claimed_user_id() read the claims through a subquery, so PostgreSQL could not
-- inline it: every statement whose policy or function called it planned the function's body
-- again (SQL functions keep no plan across statements). One SELECT of expressions, as here,
-- is inlined into the caller's plan. Same answer: the sub claim as a uuid, NULL when there is
-- none or it is not one.
CREATE OR REPLACE FUNCTION blog.claimed_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN blog.request_claims() ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN (blog.request_claims() ->> 'sub')::uuid END
$$;
