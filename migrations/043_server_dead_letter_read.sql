-- 043_server_dead_letter_read: tvsync-server answers a mutation whose read model could
-- not be built with SYNC_FAILED instead of null; it finds out from tvsync.dead_letter.
--
-- tvsync-cdc writes an apply failure with lsn = the progress LSN of its batch, which is
-- at or after the commit of the mutation that published the intent, and content = the
-- intent naming the failed id ({"entity":E,"ids":[...]}). The server asks only when a
-- mutation's document is missing after the wait, through this function: the app role
-- learns whether (entity, id) failed and why, not the other dead letters.

-- The index serves the server's question: dead letters at or after an LSN.
CREATE INDEX dead_letter_lsn ON tvsync.dead_letter (lsn);

-- The reason of the first dead letter at or after p_since whose intent names p_id of
-- p_entity (ids compared in their text form); NULL when there is none. Content that is
-- not an intent (a malformed message is dead-lettered as it came) is skipped.
CREATE FUNCTION tvsync.dead_letter_reason(p_since pg_lsn, p_entity text, p_id text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_letter record;
    v_content jsonb;
BEGIN
    FOR v_letter IN SELECT d.content, d.reason FROM tvsync.dead_letter d
                    WHERE d.lsn >= p_since ORDER BY d.lsn, d.id LOOP
        BEGIN
            v_content := v_letter.content::jsonb;
        EXCEPTION WHEN others THEN
            CONTINUE;
        END;
        IF jsonb_typeof(v_content) = 'object' AND v_content ->> 'entity' = p_entity
           AND jsonb_typeof(v_content -> 'ids') = 'array'
           AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(v_content -> 'ids') AS x(id) WHERE x.id = p_id) THEN
            RETURN v_letter.reason;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION tvsync.dead_letter_reason(pg_lsn, text, text) IS
    'Why tvsync-cdc could not apply (entity, id) at or after an LSN (tvsync.dead_letter), NULL when it did not fail';

REVOKE EXECUTE ON FUNCTION tvsync.dead_letter_reason(pg_lsn, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tvsync.dead_letter_reason(pg_lsn, text, text) TO tvsync_app;
