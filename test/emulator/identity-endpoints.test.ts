// The sign-in services beside Entra ID: the App Service-style managed identity endpoint (plain http on
// 127.0.0.1), AD FS under /adfs/ on the login server, and the Web API under older version paths.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { RunningEmulator } from "../../emulator";
import { Client, useEmulator } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

function identity(query: Record<string, string>, header: string | null = emu.managedIdentity.header): Promise<{ status: number; body: any }> {
  const url = `${emu.managedIdentity.endpoint}?${new URLSearchParams(query)}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: header === null ? {} : { "X-IDENTITY-HEADER": header } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("error", reject);
  });
}

const asked = (extra: Record<string, string> = {}) => ({ "api-version": "2019-08-01", resource: emu.dataverseUrl, ...extra });

describe("managed identity endpoint", () => {
  it("listens on plain http on 127.0.0.1, at /msi/token", () => {
    assert.match(emu.managedIdentity.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
  });

  it("answers a token as App Service does, and Dataverse accepts it", async () => {
    const { status, body } = await identity(asked());
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "client_id", "expires_on", "resource", "token_type"]);
    assert.equal(body.token_type, "Bearer");
    assert.match(body.expires_on, /^\d{10}$/, "epoch seconds, as a string");
    assert.equal(body.resource, emu.dataverseUrl);
    assert.equal(body.client_id.toLowerCase(), emu.managedIdentity.systemAssignedClientId);
    const who = await client.api("GET", "WhoAmI", { token: body.access_token });
    assert.equal(who.status, 200);
  });

  it("a user-assigned identity by client_id; one without an application user gets 403 from Dataverse", async () => {
    const assigned = await identity(asked({ client_id: emu.managedIdentity.userAssignedClientId }));
    assert.equal(assigned.body.client_id.toLowerCase(), emu.managedIdentity.userAssignedClientId);
    const noUser = await identity(asked({ client_id: emu.managedIdentity.noApplicationUserClientId }));
    assert.equal((await client.api("GET", "WhoAmI", { token: noUser.body.access_token })).status, 403);
  });

  it("errors: unknown identity, wrong or missing header, wrong resource", async () => {
    const unknown = await identity(asked({ client_id: "00000000-0000-4000-8000-000000000000" }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.message, "Unable to load the proper Managed Identity.");
    assert.equal(unknown.body.statusCode, 400);
    assert.equal((await identity(asked(), "wrong")).status, 401);
    assert.equal((await identity(asked(), null)).status, 401);
    const resource = await identity(asked({ resource: "https://other.crm.dynamics.com" }));
    assert.equal(resource.status, 400);
    assert.match(resource.body.message, /^AADSTS500011/);
  });
});

describe("AD FS", () => {
  const tokenUrl = () => `${emu.adfs.authority}/oauth2/token/`;
  const form = (extra: Record<string, string> = {}) =>
    new URLSearchParams({
      grant_type: "client_credentials",
      client_id: emu.adfs.clientId,
      client_secret: emu.adfs.clientSecret,
      scope: `${emu.dataverseUrl}/.default`,
      ...extra,
    }).toString();
  const post = (body: string) => client.request("POST", tokenUrl(), { headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });

  it("publishes its OpenID configuration at <AD FS URL>/.well-known/openid-configuration", async () => {
    const res = await client.request("GET", `${emu.adfs.authority}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = res.json();
    assert.equal(doc.issuer, emu.adfs.authority);
    assert.equal(doc.token_endpoint, tokenUrl());
    assert.ok(doc.grant_types_supported.includes("client_credentials"));
  });

  it("issues a token for the organization URL (in the scope or as resource) that Dataverse accepts", async () => {
    for (const body of [form(), form({ scope: "", resource: `${emu.dataverseUrl}/` })]) {
      const res = await post(body);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().token_type, "bearer");
      assert.equal((await client.api("GET", "WhoAmI", { token: res.json().access_token })).status, 200);
    }
  });

  it("answers AD FS's MSIS errors with HTTP 400", async () => {
    const cases: [string, string, string][] = [
      [form({ client_id: "00000000-0000-4000-8000-000000000000" }), "invalid_client", "MSIS9607"],
      [form({ client_secret: "wrong" }), "invalid_client", "MSIS9622"],
      [form({ scope: "https://other.contoso.com/.default" }), "invalid_resource", "MSIS9602"],
      [form({ client_id: emu.adfs.noPermission.clientId, client_secret: emu.adfs.noPermission.clientSecret }), "invalid_grant", "MSIS9605"],
    ];
    for (const [body, error, code] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json().error, error);
      assert.match(res.json().error_description, new RegExp(`^${code}: `));
    }
  });
});

describe("Web API versions", () => {
  it("serves v8.0 to v9.2, echoing the version; other versions are a 404 naming the segment", async () => {
    const token = await client.accessToken();
    for (const version of ["v8.0", "v9.0", "v9.1", "v9.2.24051.1"]) {
      const res = await client.request("GET", `${emu.dataverseUrl}/api/data/${version}/WhoAmI`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, version);
      assert.match(res.json()["@odata.context"], new RegExp(`/api/data/${version.replace(/\./g, "\\.")}/\\$metadata`));
    }
    const unknown = await client.request("GET", `${emu.dataverseUrl}/api/data/v9.3/WhoAmI`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error.message, "Resource not found for the segment 'v9.3'.");
  });
});
