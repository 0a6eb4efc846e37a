-- 021_cascade_watch: which keys of a source document a cascade depends on. When
-- tvsync-cdc reaches a row through a cascade and the row's document changes, it follows
-- the row's own cascades only for edges that watch a key that changed (top-level keys of
-- the document; a created or deleted document changes every key). NULL watches every key:
-- the safe default for an edge nobody has described. Intent ids are expanded without this
-- check (their old references must always be found).
ALTER TABLE tvsync.cascade ADD COLUMN watch text[];
COMMENT ON COLUMN tvsync.cascade.watch IS
    'Top-level keys of the source document the targets embed or count; NULL: every key';
