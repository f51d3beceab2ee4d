-- Migration 7: change polling by created_at and updated_at; member search by contains (sqlite; contains is a plain scan there). Frozen SQL: never edit a released version.
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
