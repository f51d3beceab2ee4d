-- Migration 6: internal metadata of the daily jobs; alert recipients by read state (postgresql). Frozen SQL: never edit a released version.
CREATE TABLE IF NOT EXISTS "internal_metadata" ("key" VARCHAR(100) COLLATE "C" NOT NULL PRIMARY KEY, "value" TEXT, "created_at" TIMESTAMP NOT NULL, "updated_at" TIMESTAMP NOT NULL)
--;;
CREATE INDEX IF NOT EXISTS "idx_alerts_users__user_id__read_at__alert_id" ON "alerts_users" ("user_id", "read_at", "alert_id")
