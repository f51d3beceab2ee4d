// Smoke test of the npm SDK packages (make sdk), run from a clean npm project that has only
// the two tarballs installed: the packed packages, not the build tree. For each API: the
// package's version is the spec's, a list and a show, a write, and an error as ResponseError.
"use strict";
const assert = require("node:assert/strict");
const member = require("registry-member-client");
const admin = require("registry-admin-client");
const memberPackage = require("registry-member-client/package.json");
const adminPackage = require("registry-admin-client/package.json");

const env = process.env;
const config = (pkg, user, key) =>
  new pkg.Configuration({
    // The admin spec's paths are relative to /admin-api/v3.
    basePath: pkg === admin ? `${env.REGISTRY_URL}/admin-api/v3` : env.REGISTRY_URL,
    apiKey: (name) => (name === "X-Pharos-API-User" ? user : key),
  });

async function missing(call) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("no error");
}

async function main() {
  assert.equal(memberPackage.version, env.SDK_VERSION);
  assert.equal(adminPackage.version, env.SDK_VERSION);

  const m = config(member, env.REGISTRY_MEMBER_USER, env.REGISTRY_MEMBER_KEY);
  const objects = new member.IntellectualObjectsApi(m);
  const page = await objects.listObjects({ perPage: 2, sort: ["identifier__asc"] });
  assert.equal(page.results.length, 2);
  assert.ok(page.results[0].createdAt instanceof Date);
  const shown = await objects.showObject({ id: String(page.results[0].id) });
  assert.equal(shown.id, page.results[0].id);
  await new member.AlertsApi(m).markAllAlertsRead();
  const notFound = await missing(() => objects.showObject({ id: "example.edu/no-such-bag" }));
  assert.ok(notFound instanceof member.ResponseError, String(notFound));
  assert.equal(notFound.response.status, 404);

  const a = config(admin, env.REGISTRY_ADMIN_USER, env.REGISTRY_ADMIN_KEY);
  const institutions = new admin.InstitutionsApi(a);
  const listed = await institutions.listInstitutions({ perPage: 3 });
  assert.ok(listed.results.length > 0);
  const one = await institutions.showInstitution({ id: String(listed.results[0].id) });
  assert.equal(one.id, listed.results[0].id);
  const refused = await missing(() =>
    new admin.InstitutionsApi(config(admin, "nobody@example.edu", "rgk_wrong")).listInstitutions(),
  );
  assert.ok(refused instanceof admin.ResponseError, String(refused));
  assert.equal(refused.response.status, 401);
  console.log(`npm sdk ${env.SDK_VERSION}: member and admin packages ok`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
