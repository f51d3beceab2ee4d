-- Migration 5: exact count tallies kept by triggers (sqlite). Frozen SQL: never edit a released version.
CREATE TABLE "intellectual_objects_counts" ("institution_id" BIGINT NOT NULL, "state" TEXT NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "state", "stripe"))
--;;
CREATE TRIGGER "intellectual_objects_counts_insert" AFTER INSERT ON "intellectual_objects" BEGIN INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") VALUES (NEW."institution_id", NEW."state", 0, 1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "intellectual_objects_counts_delete" AFTER DELETE ON "intellectual_objects" BEGIN INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") VALUES (OLD."institution_id", OLD."state", 0, -1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "intellectual_objects_counts_update" AFTER UPDATE OF "institution_id", "state" ON "intellectual_objects" WHEN OLD."institution_id" IS NOT NEW."institution_id" OR OLD."state" IS NOT NEW."state" BEGIN INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") VALUES (OLD."institution_id", OLD."state", 0, -1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n"; INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") VALUES (NEW."institution_id", NEW."state", 0, 1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n"; END
--;;
INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", 0, COUNT(*) FROM "intellectual_objects" GROUP BY "institution_id", "state"
--;;
CREATE TABLE "generic_files_counts" ("institution_id" BIGINT NOT NULL, "state" TEXT NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "state", "stripe"))
--;;
CREATE TRIGGER "generic_files_counts_insert" AFTER INSERT ON "generic_files" BEGIN INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") VALUES (NEW."institution_id", NEW."state", 0, 1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "generic_files_counts_delete" AFTER DELETE ON "generic_files" BEGIN INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") VALUES (OLD."institution_id", OLD."state", 0, -1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "generic_files_counts_update" AFTER UPDATE OF "institution_id", "state" ON "generic_files" WHEN OLD."institution_id" IS NOT NEW."institution_id" OR OLD."state" IS NOT NEW."state" BEGIN INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") VALUES (OLD."institution_id", OLD."state", 0, -1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n"; INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") VALUES (NEW."institution_id", NEW."state", 0, 1) ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n"; END
--;;
INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", 0, COUNT(*) FROM "generic_files" GROUP BY "institution_id", "state"
--;;
CREATE TABLE "premis_events_counts" ("institution_id" BIGINT NOT NULL, "event_type" TEXT NOT NULL, "outcome" TEXT NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "event_type", "outcome", "stripe"))
--;;
CREATE TRIGGER "premis_events_counts_insert" AFTER INSERT ON "premis_events" BEGIN INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") VALUES (NEW."institution_id", NEW."event_type", NEW."outcome", 0, 1) ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "premis_events_counts_delete" AFTER DELETE ON "premis_events" BEGIN INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") VALUES (OLD."institution_id", OLD."event_type", OLD."outcome", 0, -1) ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "premis_events_counts_update" AFTER UPDATE OF "institution_id", "event_type", "outcome" ON "premis_events" WHEN OLD."institution_id" IS NOT NEW."institution_id" OR OLD."event_type" IS NOT NEW."event_type" OR OLD."outcome" IS NOT NEW."outcome" BEGIN INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") VALUES (OLD."institution_id", OLD."event_type", OLD."outcome", 0, -1) ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n"; INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") VALUES (NEW."institution_id", NEW."event_type", NEW."outcome", 0, 1) ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n"; END
--;;
INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") SELECT "institution_id", "event_type", "outcome", 0, COUNT(*) FROM "premis_events" GROUP BY "institution_id", "event_type", "outcome"
--;;
CREATE TABLE "work_items_counts" ("institution_id" BIGINT NOT NULL, "action" TEXT NOT NULL, "status" TEXT NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "action", "status", "stripe"))
--;;
CREATE TRIGGER "work_items_counts_insert" AFTER INSERT ON "work_items" BEGIN INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") VALUES (NEW."institution_id", NEW."action", NEW."status", 0, 1) ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "work_items_counts_delete" AFTER DELETE ON "work_items" BEGIN INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") VALUES (OLD."institution_id", OLD."action", OLD."status", 0, -1) ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n"; END
--;;
CREATE TRIGGER "work_items_counts_update" AFTER UPDATE OF "institution_id", "action", "status" ON "work_items" WHEN OLD."institution_id" IS NOT NEW."institution_id" OR OLD."action" IS NOT NEW."action" OR OLD."status" IS NOT NEW."status" BEGIN INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") VALUES (OLD."institution_id", OLD."action", OLD."status", 0, -1) ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n"; INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") VALUES (NEW."institution_id", NEW."action", NEW."status", 0, 1) ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n"; END
--;;
INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") SELECT "institution_id", "action", "status", 0, COUNT(*) FROM "work_items" GROUP BY "institution_id", "action", "status"
