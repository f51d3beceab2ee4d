-- Migration 8: self-service API keys (label, scope, expiry, last use) and short-lived bearer tokens (sqlite). Frozen SQL: never edit a released version.
ALTER TABLE "api_keys" ADD COLUMN "label" VARCHAR(100)
--;;
ALTER TABLE "api_keys" ADD COLUMN "scope" VARCHAR(20) NOT NULL DEFAULT 'read_write'
--;;
ALTER TABLE "api_keys" ADD COLUMN "expires_at" DATETIME
--;;
ALTER TABLE "api_keys" ADD COLUMN "last_used_at" DATETIME
--;;
CREATE TABLE IF NOT EXISTS "api_tokens" ("id" INTEGER NOT NULL PRIMARY KEY, "user_id" INTEGER NOT NULL, "api_key_id" INTEGER NOT NULL, "token_id" VARCHAR(16) NOT NULL, "digest" VARCHAR(64) NOT NULL, "scope" VARCHAR(20) NOT NULL, "created_at" DATETIME NOT NULL, "expires_at" DATETIME NOT NULL, "revoked_at" DATETIME, FOREIGN KEY ("user_id") REFERENCES "users" ("id"), FOREIGN KEY ("api_key_id") REFERENCES "api_keys" ("id"))
--;;
CREATE UNIQUE INDEX IF NOT EXISTS "api_tokens_digest" ON "api_tokens" ("digest")
--;;
CREATE INDEX IF NOT EXISTS "idx_api_tokens__user_id__expires_at" ON "api_tokens" ("user_id", "expires_at")
--;;
CREATE INDEX IF NOT EXISTS "api_tokens_api_key_id" ON "api_tokens" ("api_key_id")
