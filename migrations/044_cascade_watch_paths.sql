-- 044_cascade_watch_paths: a cascade's watch elements become paths into the source
-- document. A path is keys separated by dots: "author.username" follows the edge when the
-- author's username changed, not when another member of author did. A key whose value is
-- an array of objects is followed into every element ("comments.author.username": any
-- comment's author's username). A key is written bare (at least one character, neither a
-- dot nor a double quote) or in double quotes, with "" for a double quote inside: '"a.b"'
-- is the one top-level key a.b. A top-level key ("title") works as before. tvsync-cdc
-- compares each nested path a source entity's edges watch in that entity's diffs; a
-- nested path also counts as changed when its top-level key appears or disappears, and
-- a created or deleted document changes every path, as every key before.

-- A BEFORE trigger, not a CHECK: the message names the cascade and the path, and says the
-- syntax. The pattern is the grammar above; cdc/watch_path.c reads the same.
CREATE FUNCTION tvsync.cascade_watch_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    path text;
BEGIN
    IF NEW.watch IS NULL THEN
        RETURN NEW;
    END IF;
    FOREACH path IN ARRAY NEW.watch LOOP
        IF path IS NULL OR path !~ '^(?:[^."]+|"(?:[^"]|"")*")(?:\.(?:[^."]+|"(?:[^"]|"")*"))*$' THEN
            RAISE EXCEPTION 'cascade % -> %: malformed watch path %', NEW.source_entity, NEW.target_entity,
                            coalesce(quote_literal(path), 'NULL')
                USING ERRCODE = 'check_violation',
                      HINT = 'A watch path is document keys separated by dots (author.username); write a key '
                             'that holds a dot or a double quote in double quotes, doubling its double quotes '
                             '("a.b", "say ""hi""").';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

-- Until now every element was one top-level key: one that holds a dot or a double quote
-- (or is empty) keeps that meaning in the quoted form.
UPDATE tvsync.cascade AS c
SET watch = ARRAY(SELECT CASE WHEN k ~ '^[^."]+$' THEN k ELSE '"' || replace(k, '"', '""') || '"' END
                  FROM unnest(c.watch) WITH ORDINALITY AS w (k, n) ORDER BY n)
WHERE EXISTS (SELECT 1 FROM unnest(c.watch) AS k WHERE k !~ '^[^."]+$');

CREATE TRIGGER cascade_watch_check BEFORE INSERT OR UPDATE OF watch ON tvsync.cascade
    FOR EACH ROW EXECUTE FUNCTION tvsync.cascade_watch_check();

REVOKE EXECUTE ON FUNCTION tvsync.cascade_watch_check() FROM PUBLIC;

COMMENT ON COLUMN tvsync.cascade.watch IS
    'Paths into the source document the targets embed or count (author.username; arrays are '
    'followed; a key with a dot in double quotes: "a.b"); NULL: every key';
