-- Migration 2: member read indexes, one pending restore per object or file (postgresql). Frozen SQL: never edit a released version.
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__status__updated_at__id" ON "work_items" ("institution_id", "status", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__action__updated_at__id" ON "work_items" ("institution_id", "action", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__stage__updated_at__id" ON "work_items" ("institution_id", "stage", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__date_processed__id" ON "work_items" ("institution_id", "date_processed", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__bag_date__id" ON "work_items" ("institution_id", "bag_date", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__name__id" ON "work_items" ("institution_id", "name", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__etag__id" ON "work_items" ("institution_id", "etag", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__size__id" ON "work_items" ("institution_id", "size", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__queued_at__id" ON "work_items" ("institution_id", "queued_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__user__id" ON "work_items" ("institution_id", "user", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__updated_at__id" ON "work_items" ("updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__institution_id__event_type__date_time__id" ON "premis_events" ("institution_id", "event_type", "date_time", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__date_time__id" ON "premis_events" ("date_time", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_checksums__datetime__id" ON "checksums" ("datetime", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_alerts_users__user_id__alert_id" ON "alerts_users" ("user_id", "alert_id")
--;;
CREATE INDEX IF NOT EXISTS "idx_alerts__created_at__id" ON "alerts" ("created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_deletion_requests__requested_at__id" ON "deletion_requests" ("requested_at", "id")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS uq_work_items_pending_object_restore ON work_items (intellectual_object_id) WHERE action IN ('Restore Object', 'Glacier Restore') AND status NOT IN ('Cancelled', 'Failed', 'Success')
--;;
CREATE UNIQUE INDEX IF NOT EXISTS uq_work_items_pending_file_restore ON work_items (generic_file_id) WHERE action = 'Restore File' AND status NOT IN ('Cancelled', 'Failed', 'Success')
