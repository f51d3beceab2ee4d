-- Migration 7: change polling by created_at and updated_at; member search by contains (postgresql). Frozen SQL: never edit a released version.
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__created_at__id" ON "work_items" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__created_at__id" ON "work_items" ("created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_checksums__institution_id__created_at__id" ON "checksums" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_checksums__institution_id__updated_at__id" ON "checksums" ("institution_id", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__institution_id__created_at__id" ON "premis_events" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__institution_id__updated_at__id" ON "premis_events" ("institution_id", "updated_at", "id")
--;;
CREATE EXTENSION IF NOT EXISTS pg_trgm
--;;
DO $$
DECLARE
    ops text;
BEGIN
    -- The extension may live in any schema (the one current when it was created): name its
    -- operator class there, whatever the search path of this session.
    SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO STRICT ops
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    EXECUTE 'CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__lower_title__trgm" ON "intellectual_objects" USING gin (lower("title") ' || ops || ')';
    EXECUTE 'CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__lower_identifier__trgm" ON "intellectual_objects" USING gin (lower("identifier") ' || ops || ')';
    EXECUTE 'CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__lower_alt_identifier__trgm" ON "intellectual_objects" USING gin (lower("alt_identifier") ' || ops || ')';
    EXECUTE 'CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__lower_bag_group_identifier__trgm" ON "intellectual_objects" USING gin (lower("bag_group_identifier") ' || ops || ')';
    EXECUTE 'CREATE INDEX IF NOT EXISTS "idx_generic_files__lower_identifier__trgm" ON "generic_files" USING gin (lower("identifier") ' || ops || ')';
END
$$
