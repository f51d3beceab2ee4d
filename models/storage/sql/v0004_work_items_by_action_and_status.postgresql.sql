-- Migration 4: work item indexes for action and status together (postgresql). Frozen SQL: never edit a released version.
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__action__status__updated_at__id" ON "work_items" ("institution_id", "action", "status", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__action__status__updated_at__id" ON "work_items" ("action", "status", "updated_at", "id")
