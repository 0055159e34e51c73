// Entra ID emulation: discovery documents, token success shapes, and every AADSTS error the
// emulator produces, in the precedence the real service uses.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { Client, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function good(): Record<string, string> {
  return {
    grant_type: "client_credentials",
    client_id: emu.clientId,
    client_secret: emu.clientSecret,
    scope: `${emu.dataverseUrl}/.default`,
  };
}

/** Asserts the full shape of an Entra ID error response. */
function assertAadError(res: HttpResult, status: number, error: string, code: number, text?: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers["cache-control"], "no-store, no-cache");
  assert.equal(res.headers.pragma, "no-cache");
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = res.json();
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [code]);
  assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  assert.match(body.trace_id, GUID);
  assert.match(body.correlation_id, GUID);
  assert.equal(body.error_uri, `https://login.microsoftonline.com/error?code=${code}`);
  const lines = body.error_description.split("\r\n");
  assert.match(lines[0], new RegExp(`^AADSTS${code}: `));
  assert.equal(lines[1], `Trace ID: ${body.trace_id}`);
  assert.equal(lines[2], `Correlation ID: ${body.correlation_id}`);
  assert.equal(lines[3], `Timestamp: ${body.timestamp}`);
  if (text) assert.match(lines[0], text);
}

describe("discovery", () => {
  it("serves the v2 openid-configuration msal needs", async () => {
    const res = await client.request("GET", `https://${emu.authorityHost}/${emu.tenantId}/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = res.json();
    const base = `https://${emu.authorityHost}/${emu.tenantId}`;
    assert.equal(doc.token_endpoint, `${base}/oauth2/v2.0/token`);
    assert.equal(doc.authorization_endpoint, `${base}/oauth2/v2.0/authorize`);
    assert.equal(doc.issuer, `${base}/v2.0`);
    assert.equal(doc.jwks_uri, `${base}/discovery/v2.0/keys`);
    assert.ok(doc.token_endpoint_auth_methods_supported.includes("client_secret_post"));
    assert.equal(emu.control.stats().openidConfigRequests, 1);
  });

  it("answers the domain alias like the tenant id", async () => {
    const res = await client.request("GET", `https://${emu.authorityHost}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
  });

  it("rejects an unknown tenant with invalid_tenant / AADSTS90002", async () => {
    const res = await client.request("GET", `https://${emu.authorityHost}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    assertAadError(res, 400, "invalid_tenant", 90002, /Tenant 'fabrikam.onmicrosoft.com' not found/);
  });

  it("answers instance discovery listing its own host", async () => {
    const res = await client.request("GET", `https://${emu.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=x`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json().metadata[0].aliases, [emu.authorityHost]);
  });
});

describe("token endpoint: success", () => {
  it("v2 returns numbers and a JWT-shaped token with the expected claims", async () => {
    const res = await client.token(good());
    assert.equal(res.status, 200);
    assert.equal(res.headers["cache-control"], "no-store, no-cache");
    assert.equal(res.headers.pragma, "no-cache");
    const body = res.json();
    assert.deepEqual(Object.keys(body), ["token_type", "expires_in", "ext_expires_in", "access_token"]);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 3599);
    assert.equal(body.ext_expires_in, 3599);
    const parts = body.access_token.split(".");
    assert.equal(parts.length, 3);
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
    assert.equal(claims.aud, emu.dataverseUrl);
    assert.equal(claims.iss, `https://sts.windows.net/${emu.tenantId}/`);
    assert.equal(claims.appid, emu.clientId);
    assert.equal(claims.tid, emu.tenantId);
    assert.equal(claims.ver, "1.0");
    assert.equal(claims.idtyp, "app");
    assert.match(claims.oid, GUID);
    assert.equal(claims.exp - claims.iat, 3599);
    assert.ok(claims.nbf <= Date.now() / 1000);
  });

  it("uses the configured lifetime and refresh_in", async () => {
    emu.control.setConfig({ tokenLifetimeSeconds: 120, tokenRefreshInSeconds: 60 });
    const body = (await client.token(good())).json();
    assert.equal(body.expires_in, 120);
    assert.equal(body.refresh_in, 60);
  });

  it("v1 returns strings plus expires_on, not_before and resource", async () => {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: emu.clientId,
      client_secret: emu.clientSecret,
      resource: emu.dataverseUrl,
    });
    const res = await client.request("POST", `https://${emu.authorityHost}/${emu.tenantId}/oauth2/token`, {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.expires_in, "3599");
    assert.equal(body.ext_expires_in, "3599");
    assert.match(body.expires_on, /^\d+$/);
    assert.match(body.not_before, /^\d+$/);
    assert.equal(Number(body.expires_on) - Number(body.not_before), 3599);
    assert.equal(body.resource, emu.dataverseUrl);
  });

  it("tolerates msal's raw form values, a query string, and the domain alias", async () => {
    const raw =
      `client_id=${emu.clientId}&scope=${encodeURIComponent(`${emu.dataverseUrl}/.default`)}&grant_type=client_credentials` +
      `&x-client-SKU=msal.js.node&x-ms-lib-capability=retry-after, h429&x-client-current-telemetry=5|771,2,,,|,` +
      `&client_secret=${encodeURIComponent(emu.clientSecret)}`;
    const res = await client.request(
      "POST",
      `https://${emu.authorityHost}/contoso.onmicrosoft.com/oauth2/v2.0/token?client-request-id=0a0b0c0d-0000-4000-8000-000000000001`,
      {
        headers: { "Content-Type": "application/x-www-form-urlencoded;charset=utf-8" },
        body: raw,
      },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(emu.control.stats().tokenRequests, 1);
  });

  it("accepts HTTP Basic client authentication", async () => {
    const basic = Buffer.from(`${encodeURIComponent(emu.clientId)}:${encodeURIComponent(emu.clientSecret)}`).toString("base64");
    const res = await client.token({ grant_type: "client_credentials", scope: `${emu.dataverseUrl}/.default` }, emu.tenantId, {
      Authorization: `Basic ${basic}`,
    });
    assert.equal(res.status, 200, res.text);
  });

  it("accepts the resource with a trailing slash and `//.default`", async () => {
    for (const scope of [`${emu.dataverseUrl}//.default`, `${emu.dataverseUrl.toUpperCase()}/.default`]) {
      const res = await client.token({ ...good(), scope });
      assert.equal(res.status, 200, `${scope}: ${res.text}`);
    }
  });
});

describe("token endpoint: AADSTS errors", () => {
  it("90002 unknown tenant (checked first)", async () => {
    const res = await client.token({ client_id: "nobody" }, "00000000-0000-0000-0000-000000000000");
    assertAadError(res, 400, "invalid_request", 90002, /Tenant '00000000-0000-0000-0000-000000000000' not found/);
  });

  it("900144 missing grant_type, 70003 unsupported grant type", async () => {
    const { grant_type: _, ...rest } = good();
    assertAadError(await client.token(rest), 400, "invalid_request", 900144, /'grant_type'/);
    assertAadError(await client.token({ ...good(), grant_type: "password" }), 400, "unsupported_grant_type", 70003);
  });

  it("700016 unknown client", async () => {
    const res = await client.token({ ...good(), client_id: "11111111-2222-4333-8444-555555555555" });
    assertAadError(res, 400, "unauthorized_client", 700016, /Application with identifier '11111111-2222-4333-8444-555555555555' was not found/);
  });

  it("7000218 no credential", async () => {
    const { client_secret: _, ...rest } = good();
    assertAadError(await client.token(rest), 401, "invalid_client", 7000218, /'client_assertion' or 'client_secret'/);
  });

  it("7000215 wrong secret", async () => {
    const res = await client.token({ ...good(), client_secret: "not-the-secret" });
    assertAadError(res, 401, "invalid_client", 7000215, new RegExp(`Invalid client secret provided.*app '${emu.clientId}'`));
  });

  it("7000222 expired secret, whatever secret is sent", async () => {
    const app = emu.apps.expiredSecret;
    for (const secret of [app.clientSecret, "anything"]) {
      const res = await client.token({ ...good(), client_id: app.clientId, client_secret: secret });
      assertAadError(res, 401, "invalid_client", 7000222, /client secret keys .* are expired/);
    }
  });

  it("70011 scope missing or without /.default", async () => {
    const { scope: _, ...rest } = good();
    assertAadError(await client.token(rest), 400, "invalid_scope", 70011);
    assertAadError(await client.token({ ...good(), scope: `${emu.dataverseUrl}/user_impersonation` }), 400, "invalid_scope", 70011, /\/\.default/);
  });

  it("500011 resource that is not this environment", async () => {
    const res = await client.token({ ...good(), scope: "https://contoso.crm.dynamics.com/.default" });
    assertAadError(res, 400, "invalid_resource", 500011, /resource principal named https:\/\/contoso.crm.dynamics.com was not found/);
  });

  it("echoes client-request-id as the correlation id", async () => {
    const id = "5be327fc-93cb-4bef-ab4e-0373f11a8017";
    const res = await client.request("POST", `https://${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token?client-request-id=${id}`, {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...good(), client_secret: "x" }).toString(),
    });
    assert.equal(res.json().correlation_id, id);
  });

  it("only accepts POST on the token endpoint", async () => {
    const res = await client.request("GET", `https://${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`);
    assertAadError(res, 400, "invalid_request", 900561);
    assert.equal(emu.control.stats().tokenRequests, 0, "only POSTs count as token requests");
  });
});
