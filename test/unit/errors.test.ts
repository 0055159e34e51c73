import { test } from "node:test";
import assert from "node:assert/strict";
import { fromDataverseResponse, fromNetworkError, fromSignInError } from "../../src/client/errors";

const signIn = {
  clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
  tenant: "contoso.onmicrosoft.com",
  url: "https://org.crm.dynamics.com",
  authorityHost: "login.microsoftonline.com",
};

function msalError(code: number, status: number) {
  return Object.assign(new Error(`Error(s): ${code} - Timestamp: 2026-11-21 09:03:41Z - Description: AADSTS${code}: something.\r\nTrace ID: x`), {
    errorCode: "invalid_client",
    status,
  });
}

test("AADSTS codes become messages a flow builder can act on", () => {
  const cases: Array<[number, RegExp]> = [
    [7000215, /client secret is wrong.*Value \(not its Secret ID\)/],
    [7000222, /has expired/],
    [700016, /no app with client ID 3f2504e0/],
    [90002, /tenant 'contoso.onmicrosoft.com' was not found/],
    [500011, /environment https:\/\/org.crm.dynamics.com was not found in tenant/],
  ];
  for (const [code, pattern] of cases) {
    const err = fromSignInError(msalError(code, 400), signIn);
    assert.match(err.message, pattern);
    assert.equal(err.code, `AADSTS${code}`);
    assert.equal(err.status, 400);
    assert.equal(err.retryable, false);
  }
  assert.match(fromSignInError(msalError(123456, 400), signIn).message, /Sign-in failed: AADSTS123456/);
});

test("Dataverse error bodies keep status, code and request id, with advice", () => {
  const notFound = fromDataverseResponse({
    status: 404,
    body: { error: { code: "0x80040217", message: "account With Id = x Does Not Exist" } },
    requestId: "r1",
    table: "accounts",
  });
  assert.equal(notFound.status, 404);
  assert.equal(notFound.code, "0x80040217");
  assert.equal(notFound.requestId, "r1");
  assert.equal(notFound.retryable, false);
  assert.match(notFound.message, /No row in 'accounts' has the id.*account With Id = x Does Not Exist/);
  const noUser = fromDataverseResponse({
    status: 403,
    body: { error: { code: "0x80072560", message: "The user is not a member of the organization." } },
    clientId: "abc",
  });
  assert.match(noUser.message, /not an application user in this environment.*Application users/);
  const stale = fromDataverseResponse({ status: 412, body: { error: { code: "0x80060882", message: "The version..." } } });
  assert.match(stale.message, /changed by someone else since msg.etag/);
  const throttled = fromDataverseResponse({
    status: 429,
    body: { error: { code: "0x80072322", message: "Number of requests exceeded" } },
    retryAfterSeconds: 5,
  });
  assert.equal(throttled.retryable, true);
  assert.match(throttled.message, /wait 5 s/);
  const html = fromDataverseResponse({ status: 503, body: "<html>Service Unavailable</html>" });
  assert.equal(html.retryable, true);
  assert.doesNotMatch(html.message, /html/);
  assert.deepEqual(Object.keys(notFound.toJSON()).sort(), ["code", "message", "requestId", "retryable", "status"]);
});

test("network failures say which host and whether a retry may help", () => {
  const refused = fromNetworkError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }), "127.0.0.1:9");
  assert.match(refused.message, /Cannot reach 127.0.0.1:9: the connection was refused/);
  assert.equal(refused.status, 0);
  assert.equal(refused.retryable, false, "a wrong host or port fails fast");
  const tls = fromNetworkError(Object.assign(new Error("self-signed"), { code: "SELF_SIGNED_CERT_IN_CHAIN" }), "h");
  assert.match(tls.message, /TLS config or NODE_EXTRA_CA_CERTS/);
  assert.equal(tls.retryable, false);
  assert.equal(fromNetworkError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "h").retryable, true);
});

test("a plug-in's or business rule's rejection leads with its own text", () => {
  const plugin = fromDataverseResponse({ status: 400, body: { error: { code: "0x80040265", message: "Credit limit exceeded for this customer." } } });
  assert.match(plugin.message, /^Dataverse: Credit limit exceeded for this customer\. \(HTTP 400, 0x80040265\)$/);
  assert.doesNotMatch(plugin.message, /column names/);
  const payload = fromDataverseResponse({ status: 400, body: { error: { code: "0x80060888", message: "Could not find a property named 'x'." } } });
  assert.match(payload.message, /Check the column names.*Could not find a property named 'x'/);
});

test("coded 500s are final, uncoded and known transient ones retryable", () => {
  assert.equal(fromDataverseResponse({ status: 500, body: { error: { code: "0x80040333", message: "A duplicate record was found." } } }).retryable, false);
  assert.equal(fromDataverseResponse({ status: 500, body: "<html>oops</html>" }).retryable, true);
  assert.equal(fromDataverseResponse({ status: 500, body: { error: { code: "0x80044151", message: "SQL timeout" } } }).retryable, true);
});

test("a 404 for an unknown segment says the table does not exist, with either code", () => {
  for (const code of ["0x8006088a", "0x80060888"]) {
    const e = fromDataverseResponse({ status: 404, body: { error: { code, message: "Resource not found for the segment 'acounts'." } }, table: "acounts" });
    assert.match(e.message, /Table 'acounts' does not exist/, code);
  }
});

test("a missing row a lookup points at names the lookup, not rowId", () => {
  const id = "a1b2c3d4-0001-4a00-8a00-00000000beef";
  const create = fromDataverseResponse({
    status: 404,
    body: { error: { code: "0x80040217", message: `account With Id = ${id} Does Not Exist` } },
    table: "contacts",
    method: "POST",
    requestBody: { lastname: "X", "parentcustomerid_account@odata.bind": `/accounts(${id})` },
  });
  assert.match(create.message, /The lookup parentcustomerid_account@odata.bind points at a account row that does not exist/);
  assert.doesNotMatch(create.message, /rowId/);
  const update = fromDataverseResponse({
    status: 404,
    body: { error: { code: "0x80040217", message: `contact With Id = ${id} Does Not Exist` } },
    table: "contacts",
    method: "PATCH",
    requestBody: {},
  });
  assert.match(update.message, /No row in 'contacts' has the id in rowId/);
});

test("sign-in errors carry the token endpoint's trace and correlation ids", () => {
  const trace = "654ce9b2-a626-4e0b-8598-0cac69970200";
  const correlation = "5be327fc-93cb-4bef-ab4e-0373f11a8017";
  const err = fromSignInError(msalError(7000215, 401), signIn, {
    status: 401,
    body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided.", trace_id: trace, correlation_id: correlation },
  });
  assert.equal(err.requestId, trace);
  assert.equal(err.toJSON().correlationId, correlation);
});
