-- Migration 1: initial schema (sqlite). Frozen SQL: never edit a released version.
CREATE TABLE IF NOT EXISTS "institutions" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, "identifier" VARCHAR(253) NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "state" VARCHAR(1) NOT NULL, "type" VARCHAR(40), "member_institution_id" INTEGER, "deactivated_at" DATETIME, "otp_enabled" INTEGER NOT NULL, "receiving_bucket" VARCHAR(300) NOT NULL, "restore_bucket" VARCHAR(300) NOT NULL, "spot_restore_frequency" INTEGER NOT NULL, "last_spot_restore_work_item_id" INTEGER, FOREIGN KEY ("member_institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "institutions_name" ON "institutions" ("name")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "institutions_identifier" ON "institutions" ("identifier")
--;;
CREATE INDEX IF NOT EXISTS "institutions_member_institution_id" ON "institutions" ("member_institution_id")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "institutions_receiving_bucket" ON "institutions" ("receiving_bucket")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "institutions_restore_bucket" ON "institutions" ("restore_bucket")
--;;
CREATE TABLE IF NOT EXISTS "users" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(200) NOT NULL, "email" VARCHAR(254) NOT NULL, "institution_id" INTEGER NOT NULL, "role" VARCHAR(50) NOT NULL, "phone_number" VARCHAR(20), "deactivated_at" DATETIME, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "users_email" ON "users" ("email")
--;;
CREATE INDEX IF NOT EXISTS "users_institution_id" ON "users" ("institution_id")
--;;
CREATE TABLE IF NOT EXISTS "deletion_requests" ("id" INTEGER NOT NULL PRIMARY KEY, "institution_id" INTEGER NOT NULL, "requested_by_id" INTEGER NOT NULL, "requested_at" DATETIME NOT NULL, "encrypted_confirmation_token" VARCHAR(128) NOT NULL, "confirmed_by_id" INTEGER, "confirmed_at" DATETIME, "cancelled_by_id" INTEGER, "cancelled_at" DATETIME, FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"), FOREIGN KEY ("requested_by_id") REFERENCES "users" ("id"), FOREIGN KEY ("confirmed_by_id") REFERENCES "users" ("id"), FOREIGN KEY ("cancelled_by_id") REFERENCES "users" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_institution_id" ON "deletion_requests" ("institution_id")
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_requested_by_id" ON "deletion_requests" ("requested_by_id")
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_confirmed_by_id" ON "deletion_requests" ("confirmed_by_id")
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_cancelled_by_id" ON "deletion_requests" ("cancelled_by_id")
--;;
CREATE TABLE IF NOT EXISTS "alerts" ("id" INTEGER NOT NULL PRIMARY KEY, "institution_id" INTEGER, "type" VARCHAR(40) NOT NULL, "subject" TEXT NOT NULL, "content" TEXT NOT NULL, "deletion_request_id" INTEGER, "created_at" DATETIME NOT NULL, FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"), FOREIGN KEY ("deletion_request_id") REFERENCES "deletion_requests" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "alerts_institution_id" ON "alerts" ("institution_id")
--;;
CREATE INDEX IF NOT EXISTS "alerts_deletion_request_id" ON "alerts" ("deletion_request_id")
--;;
CREATE TABLE IF NOT EXISTS "intellectual_objects" ("id" INTEGER NOT NULL PRIMARY KEY, "title" TEXT NOT NULL, "description" TEXT, "identifier" VARCHAR(1000) NOT NULL, "alt_identifier" VARCHAR(1000), "access" VARCHAR(20) NOT NULL, "bag_name" VARCHAR(1000) NOT NULL, "institution_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "state" VARCHAR(1) NOT NULL, "etag" VARCHAR(64), "bag_group_identifier" VARCHAR(1000), "storage_option" VARCHAR(20) NOT NULL, "bagit_profile_identifier" VARCHAR(1000) NOT NULL, "source_organization" VARCHAR(1000), "internal_sender_identifier" VARCHAR(1000), "internal_sender_description" TEXT, "file_count" INTEGER NOT NULL, "size" INTEGER NOT NULL, "payload_file_count" INTEGER NOT NULL, "payload_size" INTEGER NOT NULL, FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "intellectual_objects_identifier" ON "intellectual_objects" ("identifier")
--;;
CREATE INDEX IF NOT EXISTS "intellectual_objects_institution_id" ON "intellectual_objects" ("institution_id")
--;;
CREATE TABLE IF NOT EXISTS "generic_files" ("id" INTEGER NOT NULL PRIMARY KEY, "file_format" VARCHAR(255) NOT NULL, "size" INTEGER NOT NULL, "identifier" VARCHAR(2000) NOT NULL, "intellectual_object_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "state" VARCHAR(1) NOT NULL, "last_fixity_check" DATETIME NOT NULL, "institution_id" INTEGER NOT NULL, "storage_option" VARCHAR(20) NOT NULL, "uuid" VARCHAR(36) NOT NULL, "mod_time" DATETIME, FOREIGN KEY ("intellectual_object_id") REFERENCES "intellectual_objects" ("id"), FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "generic_files_identifier" ON "generic_files" ("identifier")
--;;
CREATE INDEX IF NOT EXISTS "generic_files_intellectual_object_id" ON "generic_files" ("intellectual_object_id")
--;;
CREATE INDEX IF NOT EXISTS "generic_files_institution_id" ON "generic_files" ("institution_id")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "generic_files_uuid" ON "generic_files" ("uuid")
--;;
CREATE TABLE IF NOT EXISTS "premis_events" ("id" INTEGER NOT NULL PRIMARY KEY, "identifier" VARCHAR(36) NOT NULL, "event_type" VARCHAR(40) NOT NULL, "date_time" DATETIME NOT NULL, "outcome_detail" TEXT, "detail" TEXT, "outcome_information" TEXT, "object" TEXT, "agent" TEXT, "intellectual_object_id" INTEGER NOT NULL, "generic_file_id" INTEGER, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "outcome" VARCHAR(10) NOT NULL, "institution_id" INTEGER NOT NULL, "old_uuid" VARCHAR(36), FOREIGN KEY ("intellectual_object_id") REFERENCES "intellectual_objects" ("id"), FOREIGN KEY ("generic_file_id") REFERENCES "generic_files" ("id"), FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "premis_events_identifier" ON "premis_events" ("identifier")
--;;
CREATE INDEX IF NOT EXISTS "premis_events_intellectual_object_id" ON "premis_events" ("intellectual_object_id")
--;;
CREATE INDEX IF NOT EXISTS "premis_events_generic_file_id" ON "premis_events" ("generic_file_id")
--;;
CREATE INDEX IF NOT EXISTS "premis_events_institution_id" ON "premis_events" ("institution_id")
--;;
CREATE TABLE IF NOT EXISTS "alerts_premis_events" ("alert_id" INTEGER NOT NULL, "premis_event_id" INTEGER NOT NULL, PRIMARY KEY ("alert_id", "premis_event_id"), FOREIGN KEY ("alert_id") REFERENCES "alerts" ("id"), FOREIGN KEY ("premis_event_id") REFERENCES "premis_events" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "alerts_premis_events_alert_id" ON "alerts_premis_events" ("alert_id")
--;;
CREATE INDEX IF NOT EXISTS "alerts_premis_events_premis_event_id" ON "alerts_premis_events" ("premis_event_id")
--;;
CREATE TABLE IF NOT EXISTS "alerts_users" ("alert_id" INTEGER NOT NULL, "user_id" INTEGER NOT NULL, "sent_at" DATETIME, "read_at" DATETIME, PRIMARY KEY ("alert_id", "user_id"), FOREIGN KEY ("alert_id") REFERENCES "alerts" ("id"), FOREIGN KEY ("user_id") REFERENCES "users" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "alerts_users_alert_id" ON "alerts_users" ("alert_id")
--;;
CREATE INDEX IF NOT EXISTS "alerts_users_user_id" ON "alerts_users" ("user_id")
--;;
CREATE TABLE IF NOT EXISTS "work_items" ("id" INTEGER NOT NULL PRIMARY KEY, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, "intellectual_object_id" INTEGER, "generic_file_id" INTEGER, "name" VARCHAR(1000) NOT NULL, "etag" VARCHAR(40) NOT NULL, "bucket" VARCHAR(1000) NOT NULL, "user" VARCHAR(254) NOT NULL, "note" TEXT, "action" VARCHAR(40) NOT NULL, "stage" VARCHAR(40) NOT NULL, "status" VARCHAR(20) NOT NULL, "outcome" TEXT, "bag_date" DATETIME NOT NULL, "date_processed" DATETIME NOT NULL, "retry" INTEGER NOT NULL, "node" VARCHAR(255), "pid" INTEGER NOT NULL, "needs_admin_review" INTEGER NOT NULL, "institution_id" INTEGER NOT NULL, "queued_at" DATETIME, "size" INTEGER NOT NULL, "stage_started_at" DATETIME, "aptrust_approver" VARCHAR(254), "inst_approver" VARCHAR(254), "deletion_request_id" INTEGER, FOREIGN KEY ("intellectual_object_id") REFERENCES "intellectual_objects" ("id"), FOREIGN KEY ("generic_file_id") REFERENCES "generic_files" ("id"), FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"), FOREIGN KEY ("deletion_request_id") REFERENCES "deletion_requests" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "work_items_intellectual_object_id" ON "work_items" ("intellectual_object_id")
--;;
CREATE INDEX IF NOT EXISTS "work_items_generic_file_id" ON "work_items" ("generic_file_id")
--;;
CREATE INDEX IF NOT EXISTS "work_items_institution_id" ON "work_items" ("institution_id")
--;;
CREATE INDEX IF NOT EXISTS "work_items_deletion_request_id" ON "work_items" ("deletion_request_id")
--;;
CREATE TABLE IF NOT EXISTS "alerts_work_items" ("alert_id" INTEGER NOT NULL, "work_item_id" INTEGER NOT NULL, PRIMARY KEY ("alert_id", "work_item_id"), FOREIGN KEY ("alert_id") REFERENCES "alerts" ("id"), FOREIGN KEY ("work_item_id") REFERENCES "work_items" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "alerts_work_items_alert_id" ON "alerts_work_items" ("alert_id")
--;;
CREATE INDEX IF NOT EXISTS "alerts_work_items_work_item_id" ON "alerts_work_items" ("work_item_id")
--;;
CREATE TABLE IF NOT EXISTS "api_keys" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "prefix" VARCHAR(16) NOT NULL, "digest" VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, "revoked_at" DATETIME, FOREIGN KEY ("user_id") REFERENCES "users" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "api_keys_user_id" ON "api_keys" ("user_id")
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "api_keys_digest" ON "api_keys" ("digest")
--;;
CREATE TABLE IF NOT EXISTS "checksums" ("id" INTEGER NOT NULL PRIMARY KEY, "algorithm" VARCHAR(10) NOT NULL, "datetime" DATETIME NOT NULL, "digest" VARCHAR(128) NOT NULL, "generic_file_id" INTEGER NOT NULL, "institution_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL, FOREIGN KEY ("generic_file_id") REFERENCES "generic_files" ("id"), FOREIGN KEY ("institution_id") REFERENCES "institutions" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "checksums_generic_file_id" ON "checksums" ("generic_file_id")
--;;
CREATE INDEX IF NOT EXISTS "checksums_institution_id" ON "checksums" ("institution_id")
--;;
CREATE TABLE IF NOT EXISTS "deletion_requests_generic_files" ("deletion_request_id" INTEGER NOT NULL, "generic_file_id" INTEGER NOT NULL, PRIMARY KEY ("deletion_request_id", "generic_file_id"), FOREIGN KEY ("deletion_request_id") REFERENCES "deletion_requests" ("id"), FOREIGN KEY ("generic_file_id") REFERENCES "generic_files" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_generic_files_deletion_request_id" ON "deletion_requests_generic_files" ("deletion_request_id")
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_generic_files_generic_file_id" ON "deletion_requests_generic_files" ("generic_file_id")
--;;
CREATE TABLE IF NOT EXISTS "deletion_requests_intellectual_objects" ("deletion_request_id" INTEGER NOT NULL, "intellectual_object_id" INTEGER NOT NULL, PRIMARY KEY ("deletion_request_id", "intellectual_object_id"), FOREIGN KEY ("deletion_request_id") REFERENCES "deletion_requests" ("id"), FOREIGN KEY ("intellectual_object_id") REFERENCES "intellectual_objects" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_intellectual_objects_deletion_request_id" ON "deletion_requests_intellectual_objects" ("deletion_request_id")
--;;
CREATE INDEX IF NOT EXISTS "deletion_requests_intellectual_objects_intellectual_object_id" ON "deletion_requests_intellectual_objects" ("intellectual_object_id")
--;;
CREATE TABLE IF NOT EXISTS "storage_records" ("id" INTEGER NOT NULL PRIMARY KEY, "generic_file_id" INTEGER NOT NULL, "url" TEXT NOT NULL, FOREIGN KEY ("generic_file_id") REFERENCES "generic_files" ("id"))
--;;
CREATE INDEX IF NOT EXISTS "storage_records_generic_file_id" ON "storage_records" ("generic_file_id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__access__id" ON "intellectual_objects" ("institution_id", "access", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__alt_identifier__id" ON "intellectual_objects" ("institution_id", "alt_identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__bag_group_identifier_" ON "intellectual_objects" ("institution_id", "bag_group_identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__bagit_profile_identif" ON "intellectual_objects" ("institution_id", "bagit_profile_identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__created_at__id" ON "intellectual_objects" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__etag__id" ON "intellectual_objects" ("institution_id", "etag", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__file_count__id" ON "intellectual_objects" ("institution_id", "file_count", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__identifier__id" ON "intellectual_objects" ("institution_id", "identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__internal_sender_ident" ON "intellectual_objects" ("institution_id", "internal_sender_identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__size__id" ON "intellectual_objects" ("institution_id", "size", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__state__id" ON "intellectual_objects" ("institution_id", "state", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__storage_option__id" ON "intellectual_objects" ("institution_id", "storage_option", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__updated_at__id" ON "intellectual_objects" ("institution_id", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__bag_name__id" ON "intellectual_objects" ("institution_id", "bag_name", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__source_organization__" ON "intellectual_objects" ("institution_id", "source_organization", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__institution_id__internal_sender_descr" ON "intellectual_objects" ("institution_id", "internal_sender_description", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__updated_at__id" ON "intellectual_objects" ("updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_intellectual_objects__created_at__id" ON "intellectual_objects" ("created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__created_at__id" ON "generic_files" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__identifier__id" ON "generic_files" ("institution_id", "identifier", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__intellectual_object_id__id" ON "generic_files" ("institution_id", "intellectual_object_id", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__last_fixity_check__id" ON "generic_files" ("institution_id", "last_fixity_check", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__size__id" ON "generic_files" ("institution_id", "size", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__state__id" ON "generic_files" ("institution_id", "state", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__storage_option__id" ON "generic_files" ("institution_id", "storage_option", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__updated_at__id" ON "generic_files" ("institution_id", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__institution_id__uuid__id" ON "generic_files" ("institution_id", "uuid", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__intellectual_object_id__updated_at__id" ON "generic_files" ("intellectual_object_id", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__intellectual_object_id__identifier" ON "generic_files" ("intellectual_object_id", "identifier")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__updated_at__id" ON "generic_files" ("updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_generic_files__created_at__id" ON "generic_files" ("created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_checksums__generic_file_id__algorithm__created_at__id" ON "checksums" ("generic_file_id", "algorithm", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_checksums__institution_id__datetime__id" ON "checksums" ("institution_id", "datetime", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__generic_file_id__date_time" ON "premis_events" ("generic_file_id", "date_time")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__intellectual_object_id__date_time" ON "premis_events" ("intellectual_object_id", "date_time")
--;;
CREATE INDEX IF NOT EXISTS "idx_premis_events__institution_id__date_time__id" ON "premis_events" ("institution_id", "date_time", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__institution_id__updated_at__id" ON "work_items" ("institution_id", "updated_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__intellectual_object_id" ON "work_items" ("intellectual_object_id")
--;;
CREATE INDEX IF NOT EXISTS "idx_work_items__generic_file_id" ON "work_items" ("generic_file_id")
--;;
CREATE INDEX IF NOT EXISTS "idx_deletion_requests__institution_id__requested_at__id" ON "deletion_requests" ("institution_id", "requested_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_alerts__institution_id__created_at__id" ON "alerts" ("institution_id", "created_at", "id")
--;;
CREATE INDEX IF NOT EXISTS "idx_institutions__member_institution_id" ON "institutions" ("member_institution_id")
