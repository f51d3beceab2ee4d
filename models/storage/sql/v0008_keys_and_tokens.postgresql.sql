-- Migration 8: self-service API keys (label, scope, expiry, last use) and short-lived bearer tokens (postgresql). Frozen SQL: never edit a released version.
ALTER TABLE "api_keys" ADD COLUMN "label" VARCHAR(100) COLLATE "C"
--;;
ALTER TABLE "api_keys" ADD COLUMN "scope" VARCHAR(20) NOT NULL DEFAULT 'read_write' COLLATE "C"
--;;
ALTER TABLE "api_keys" ADD COLUMN "expires_at" TIMESTAMP
--;;
ALTER TABLE "api_keys" ADD COLUMN "last_used_at" TIMESTAMP
--;;
CREATE TABLE IF NOT EXISTS "api_tokens" ("id" BIGSERIAL NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "api_key_id" INTEGER NOT NULL, "token_id" VARCHAR(16) NOT NULL COLLATE "C", "digest" VARCHAR(64) NOT NULL COLLATE "C", "scope" VARCHAR(20) NOT NULL COLLATE "C", "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "revoked_at" TIMESTAMP, FOREIGN KEY ("user_id") REFERENCES "users" ("id"), FOREIGN KEY ("api_key_id") REFERENCES "api_keys" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "api_tokens_digest" ON "api_tokens" ("digest")
--;;
CREATE INDEX IF NOT EXISTS "idx_api_tokens__user_id__expires_at" ON "api_tokens" ("user_id", "expires_at")
--;;
CREATE INDEX IF NOT EXISTS "api_tokens_api_key_id" ON "api_tokens" ("api_key_id")
