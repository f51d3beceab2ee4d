-- Migration 5: exact count tallies kept by triggers (postgresql). Frozen SQL: never edit a released version.
CREATE TABLE "intellectual_objects_counts" ("institution_id" BIGINT NOT NULL, "state" text COLLATE "C" NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "state", "stripe"))
--;;
CREATE FUNCTION "intellectual_objects_counts_tally"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, COUNT(*) FROM new_rows GROUP BY "institution_id", "state" ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, -COUNT(*) FROM old_rows GROUP BY "institution_id", "state" ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'TRUNCATE' THEN
                    DELETE FROM "intellectual_objects_counts";
                ELSE
                    INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, SUM(d) FROM (SELECT "institution_id", "state", 1 AS d FROM new_rows UNION ALL SELECT "institution_id", "state", -1 FROM old_rows) AS delta GROUP BY "institution_id", "state" HAVING SUM(d) <> 0 ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "intellectual_objects_counts"."n" + EXCLUDED."n";
                END IF;
                RETURN NULL;
            END $$
--;;
CREATE TRIGGER "intellectual_objects_counts_insert" AFTER INSERT ON "intellectual_objects" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intellectual_objects_counts_tally"()
--;;
CREATE TRIGGER "intellectual_objects_counts_delete" AFTER DELETE ON "intellectual_objects" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "intellectual_objects_counts_tally"()
--;;
CREATE TRIGGER "intellectual_objects_counts_update" AFTER UPDATE ON "intellectual_objects" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "intellectual_objects_counts_tally"()
--;;
CREATE TRIGGER "intellectual_objects_counts_truncate" AFTER TRUNCATE ON "intellectual_objects" FOR EACH STATEMENT EXECUTE FUNCTION "intellectual_objects_counts_tally"()
--;;
INSERT INTO "intellectual_objects_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", 0, COUNT(*) FROM "intellectual_objects" GROUP BY "institution_id", "state"
--;;
CREATE TABLE "generic_files_counts" ("institution_id" BIGINT NOT NULL, "state" text COLLATE "C" NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "state", "stripe"))
--;;
CREATE FUNCTION "generic_files_counts_tally"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, COUNT(*) FROM new_rows GROUP BY "institution_id", "state" ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, -COUNT(*) FROM old_rows GROUP BY "institution_id", "state" ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'TRUNCATE' THEN
                    DELETE FROM "generic_files_counts";
                ELSE
                    INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", mod(txid_current(), 8)::int, SUM(d) FROM (SELECT "institution_id", "state", 1 AS d FROM new_rows UNION ALL SELECT "institution_id", "state", -1 FROM old_rows) AS delta GROUP BY "institution_id", "state" HAVING SUM(d) <> 0 ORDER BY "institution_id", "state" ON CONFLICT ("institution_id", "state", "stripe") DO UPDATE SET "n" = "generic_files_counts"."n" + EXCLUDED."n";
                END IF;
                RETURN NULL;
            END $$
--;;
CREATE TRIGGER "generic_files_counts_insert" AFTER INSERT ON "generic_files" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "generic_files_counts_tally"()
--;;
CREATE TRIGGER "generic_files_counts_delete" AFTER DELETE ON "generic_files" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "generic_files_counts_tally"()
--;;
CREATE TRIGGER "generic_files_counts_update" AFTER UPDATE ON "generic_files" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "generic_files_counts_tally"()
--;;
CREATE TRIGGER "generic_files_counts_truncate" AFTER TRUNCATE ON "generic_files" FOR EACH STATEMENT EXECUTE FUNCTION "generic_files_counts_tally"()
--;;
INSERT INTO "generic_files_counts" ("institution_id", "state", "stripe", "n") SELECT "institution_id", "state", 0, COUNT(*) FROM "generic_files" GROUP BY "institution_id", "state"
--;;
CREATE TABLE "premis_events_counts" ("institution_id" BIGINT NOT NULL, "event_type" text COLLATE "C" NOT NULL, "outcome" text COLLATE "C" NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "event_type", "outcome", "stripe"))
--;;
CREATE FUNCTION "premis_events_counts_tally"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") SELECT "institution_id", "event_type", "outcome", mod(txid_current(), 8)::int, COUNT(*) FROM new_rows GROUP BY "institution_id", "event_type", "outcome" ORDER BY "institution_id", "event_type", "outcome" ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") SELECT "institution_id", "event_type", "outcome", mod(txid_current(), 8)::int, -COUNT(*) FROM old_rows GROUP BY "institution_id", "event_type", "outcome" ORDER BY "institution_id", "event_type", "outcome" ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'TRUNCATE' THEN
                    DELETE FROM "premis_events_counts";
                ELSE
                    INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") SELECT "institution_id", "event_type", "outcome", mod(txid_current(), 8)::int, SUM(d) FROM (SELECT "institution_id", "event_type", "outcome", 1 AS d FROM new_rows UNION ALL SELECT "institution_id", "event_type", "outcome", -1 FROM old_rows) AS delta GROUP BY "institution_id", "event_type", "outcome" HAVING SUM(d) <> 0 ORDER BY "institution_id", "event_type", "outcome" ON CONFLICT ("institution_id", "event_type", "outcome", "stripe") DO UPDATE SET "n" = "premis_events_counts"."n" + EXCLUDED."n";
                END IF;
                RETURN NULL;
            END $$
--;;
CREATE TRIGGER "premis_events_counts_insert" AFTER INSERT ON "premis_events" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "premis_events_counts_tally"()
--;;
CREATE TRIGGER "premis_events_counts_delete" AFTER DELETE ON "premis_events" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "premis_events_counts_tally"()
--;;
CREATE TRIGGER "premis_events_counts_update" AFTER UPDATE ON "premis_events" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "premis_events_counts_tally"()
--;;
CREATE TRIGGER "premis_events_counts_truncate" AFTER TRUNCATE ON "premis_events" FOR EACH STATEMENT EXECUTE FUNCTION "premis_events_counts_tally"()
--;;
INSERT INTO "premis_events_counts" ("institution_id", "event_type", "outcome", "stripe", "n") SELECT "institution_id", "event_type", "outcome", 0, COUNT(*) FROM "premis_events" GROUP BY "institution_id", "event_type", "outcome"
--;;
CREATE TABLE "work_items_counts" ("institution_id" BIGINT NOT NULL, "action" text COLLATE "C" NOT NULL, "status" text COLLATE "C" NOT NULL, "stripe" INTEGER NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("institution_id", "action", "status", "stripe"))
--;;
CREATE FUNCTION "work_items_counts_tally"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") SELECT "institution_id", "action", "status", mod(txid_current(), 8)::int, COUNT(*) FROM new_rows GROUP BY "institution_id", "action", "status" ORDER BY "institution_id", "action", "status" ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") SELECT "institution_id", "action", "status", mod(txid_current(), 8)::int, -COUNT(*) FROM old_rows GROUP BY "institution_id", "action", "status" ORDER BY "institution_id", "action", "status" ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n";
                ELSIF TG_OP = 'TRUNCATE' THEN
                    DELETE FROM "work_items_counts";
                ELSE
                    INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") SELECT "institution_id", "action", "status", mod(txid_current(), 8)::int, SUM(d) FROM (SELECT "institution_id", "action", "status", 1 AS d FROM new_rows UNION ALL SELECT "institution_id", "action", "status", -1 FROM old_rows) AS delta GROUP BY "institution_id", "action", "status" HAVING SUM(d) <> 0 ORDER BY "institution_id", "action", "status" ON CONFLICT ("institution_id", "action", "status", "stripe") DO UPDATE SET "n" = "work_items_counts"."n" + EXCLUDED."n";
                END IF;
                RETURN NULL;
            END $$
--;;
CREATE TRIGGER "work_items_counts_insert" AFTER INSERT ON "work_items" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "work_items_counts_tally"()
--;;
CREATE TRIGGER "work_items_counts_delete" AFTER DELETE ON "work_items" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "work_items_counts_tally"()
--;;
CREATE TRIGGER "work_items_counts_update" AFTER UPDATE ON "work_items" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "work_items_counts_tally"()
--;;
CREATE TRIGGER "work_items_counts_truncate" AFTER TRUNCATE ON "work_items" FOR EACH STATEMENT EXECUTE FUNCTION "work_items_counts_tally"()
--;;
INSERT INTO "work_items_counts" ("institution_id", "action", "status", "stripe", "n") SELECT "institution_id", "action", "status", 0, COUNT(*) FROM "work_items" GROUP BY "institution_id", "action", "status"
