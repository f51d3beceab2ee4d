// The generated TypeScript (fetch) member client, authenticated both ways (make clients): the
// key headers, then a bearer token from login. run.sh type-checks it with the clients
// (tsc --strict) and runs it against the served demo. Environment: REGISTRY_URL,
// REGISTRY_MEMBER_USER, REGISTRY_MEMBER_KEY.
import { Configuration, IdentityApi, IntellectualObjectsApi, ResponseError } from "../member";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`failed: ${what}`);
  }
}

async function main(): Promise<void> {
  const base = process.env.REGISTRY_URL ?? "http://127.0.0.1:8080";
  const user = process.env.REGISTRY_MEMBER_USER ?? "";
  const key = process.env.REGISTRY_MEMBER_KEY ?? "";
  const byKey = new Configuration({
    basePath: base,
    apiKey: (header: string) => (header === "X-Pharos-API-User" ? user : key),
  });
  const me = await new IdentityApi(byKey).showMe();
  check(me.email === user && me.credential.type === "key", "GET /me with the key headers");

  const issued = await new IdentityApi(byKey).login({ scope: "read" });
  check(issued.tokenType === "Bearer" && issued.scope === "read", "POST /login");
  const byToken = new Configuration({ basePath: base, accessToken: issued.token });
  const again = await new IdentityApi(byToken).showMe();
  check(again.credential.type === "token" && again.credential.id === issued.tokenId, "GET /me");
  const page = await new IntellectualObjectsApi(byToken).listObjects({ perPage: 1 });
  check(page.count > 0, "GET /objects with the token");

  const out = await new IdentityApi(byToken).logout({});
  check(out.revoked === 1, "POST /logout");
  try {
    await new IdentityApi(byToken).showMe();
    check(false, "a token logged out answers 401");
  } catch (error) {
    check(error instanceof ResponseError && error.response.status === 401, "401 after logout");
  }
  console.log("TypeScript client: key headers and bearer token both authenticate");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
