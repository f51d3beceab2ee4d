-- Migration 3: drop one-column indexes that a composite index starts with (postgresql). Frozen SQL: never edit a released version.
DROP INDEX IF EXISTS "generic_files_institution_id"
--;;
DROP INDEX IF EXISTS "generic_files_intellectual_object_id"
--;;
DROP INDEX IF EXISTS "checksums_generic_file_id"
--;;
DROP INDEX IF EXISTS "checksums_institution_id"
--;;
DROP INDEX IF EXISTS "premis_events_generic_file_id"
--;;
DROP INDEX IF EXISTS "premis_events_institution_id"
--;;
DROP INDEX IF EXISTS "premis_events_intellectual_object_id"
