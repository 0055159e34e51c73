// Update, upsert and delete with If-Match / If-None-Match: the whole matrix of the real service.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const EXISTING = `accounts(${SEED_IDS.fabrikamAccount})`;
const MISSING_ID = "9e9e9e9e-0000-4000-8000-000000000001";
const MISSING = `accounts(${MISSING_ID})`;

function assertError(res: HttpResult, status: number, code: string, message?: string | RegExp): void {
  assert.equal(res.status, status, res.text);
  const { error } = res.json();
  assert.equal(error.code, code);
  if (typeof message === "string") assert.equal(error.message, message);
  else if (message) assert.match(error.message, message);
}

async function etagOf(path: string): Promise<string> {
  return String((await client.api("GET", path)).headers.etag);
}

const patch = (path: string, body: object, headers: Record<string, string> = {}) => client.api("PATCH", path, { body, headers });

describe("PATCH without a condition (upsert)", () => {
  it("updates an existing row: 204, OData-EntityId, new etag", async () => {
    const before = await etagOf(EXISTING);
    const res = await patch(EXISTING, { telephone1: "555" });
    assert.equal(res.status, 204);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/${EXISTING}`);
    const row = (await client.api("GET", EXISTING)).json();
    assert.equal(row.telephone1, "555");
    assert.equal(row.name, "Fabrikam, Inc.", "columns not sent are kept");
    assert.notEqual(row["@odata.etag"], before);
  });

  it("creates a missing row with the id of the URL", async () => {
    const res = await patch(MISSING, { name: "Upserted" });
    assert.equal(res.status, 204);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/${MISSING}`);
    assert.equal((await client.api("GET", MISSING)).json().name, "Upserted");
  });

  it("creates a missing row with the alternate key values of the URL; OData-EntityId in key form", async () => {
    const res = await patch("dv_iotdevices(dv_serialnumber='SN-0099')", { dv_name: "New by key", dv_batterylevel: 50 });
    assert.equal(res.status, 204);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices(dv_serialnumber='SN-0099')`);
    const row = (await client.api("GET", "dv_iotdevices(dv_serialnumber='SN-0099')")).json();
    assert.equal(row.dv_name, "New by key");
  });

  it("answers an update by key with OData-EntityId in key form (normalized), by id in id form", async () => {
    let res = await patch("dv_iotdevices(dv_serialnumber%3D'SN-0001')", { dv_batterylevel: 10 });
    assert.equal(res.status, 204);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices(dv_serialnumber='SN-0001')`);
    res = await patch("contacts(emailaddress1='yvonne@contoso.example', firstname='Yvonne')", { jobtitle: "CEO" });
    assert.equal(res.status, 204);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/contacts(emailaddress1='yvonne@contoso.example',firstname='Yvonne')`);
    res = await patch("accounts(accountnumber='O''Brien')", { name: "Quote" });
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/accounts(accountnumber='O''Brien')`);
    res = await patch(`dv_iotdevices(${SEED_IDS.boilerDevice})`, { dv_batterylevel: 11 });
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices(${SEED_IDS.boilerDevice})`);
    res = await client.api("POST", "dv_iotdevices", { body: { dv_name: "Created", dv_serialnumber: "SN-0100" } });
    assert.match(String(res.headers["odata-entityid"]), /dv_iotdevices\([0-9a-f-]{36}\)$/, "a create keeps the id form");
  });

  it("an upsert by key uses the body's key value over the URL's (412 when that collides)", async () => {
    let res = await patch("dv_iotdevices(dv_serialnumber='SN-0200')", { dv_name: "Moved", dv_serialnumber: "SN-0201" });
    assert.equal(res.status, 204);
    assert.equal((await client.api("GET", "dv_iotdevices(dv_serialnumber='SN-0201')")).json().dv_name, "Moved");
    assert.equal((await client.api("GET", "dv_iotdevices(dv_serialnumber='SN-0200')")).status, 404);
    res = await patch("dv_iotdevices(dv_serialnumber='SN-0202')", { dv_name: "Clash", dv_serialnumber: "SN-0001" });
    assertError(res, 412, "0x80040237");
  });

  it("return=representation: 200 for an update, 201 for a create", async () => {
    const prefer = { Prefer: "return=representation" };
    let res = await client.api("PATCH", `${EXISTING}?$select=telephone1`, { body: { telephone1: "1" }, headers: prefer });
    assert.equal(res.status, 200);
    assert.equal(res.headers["preference-applied"], "return=representation");
    assert.equal(res.json().telephone1, "1");
    assert.equal(res.json().accountid, SEED_IDS.fabrikamAccount);
    res = await client.api("PATCH", MISSING, { body: { name: "Fresh" }, headers: prefer });
    assert.equal(res.status, 201);
    assert.equal(res.json().name, "Fresh");
  });

  it("treats If-None-Match: null as no condition", async () => {
    assert.equal((await patch(MISSING, { name: "x" }, { "If-None-Match": "null" })).status, 204);
    assert.equal((await patch(EXISTING, { name: "y" }, { "If-None-Match": "null" })).status, 204);
  });

  it("412 when the body would give the row another row's key values", async () => {
    assertError(await patch(EXISTING, { accountnumber: "ACC-001" }), 412, "0x80040237");
    assertError(await patch(EXISTING, { accountid: SEED_IDS.contosoAccount }), 412, "0x80040237");
    assertError(await patch("accounts(accountnumber='ACC-002')", { accountnumber: "acc-001" }), 412, "0x80040237");
    assert.equal((await patch("accounts(accountnumber='ACC-002')", { accountnumber: "ACC-002-B" })).status, 204, "a free value is fine");
  });
});

describe("PATCH with If-Match: * (update only)", () => {
  it("updates an existing row", async () => {
    assert.equal((await patch(EXISTING, { name: "Renamed" }, { "If-Match": "*" })).status, 204);
  });

  it("404 for a missing row, by id and by key, and creates nothing", async () => {
    assertError(await patch(MISSING, { name: "x" }, { "If-Match": "*" }), 404, "0x80040217", `account With Id = ${MISSING_ID} Does Not Exist`);
    assertError(
      await patch("accounts(accountnumber='NEW-1')", { name: "x" }, { "If-Match": "*" }),
      404,
      "0x80048d02",
      "A record with the specified key values does not exist in account entity",
    );
    assert.equal(emu.control.rows("accounts").length, 3);
  });
});

describe("PATCH with If-None-Match: * (create only)", () => {
  it("412 for an existing row, unchanged", async () => {
    const before = await etagOf(EXISTING);
    assertError(await patch(EXISTING, { name: "x" }, { "If-None-Match": "*" }), 412, "0x80040237", "A record with matching key values already exists.");
    assert.equal(await etagOf(EXISTING), before);
  });

  it("creates a missing row", async () => {
    assert.equal((await patch(MISSING, { name: "Created" }, { "If-None-Match": "*" })).status, 204);
    assert.equal((await client.api("GET", MISSING)).json().name, "Created");
  });
});

describe('PATCH with If-Match: W/"<etag>" (optimistic concurrency)', () => {
  it("updates when the etag is current, 412 0x80060882 when stale", async () => {
    const etag = await etagOf(EXISTING);
    assert.equal((await patch(EXISTING, { name: "First" }, { "If-Match": etag })).status, 204);
    assertError(
      await patch(EXISTING, { name: "Second" }, { "If-Match": etag }),
      412,
      "0x80060882",
      "The version of the existing record doesn't match the RowVersion property provided.",
    );
    assert.equal((await client.api("GET", EXISTING)).json().name, "First");
  });

  it("404 for a missing row", async () => {
    assertError(await patch(MISSING, { name: "x" }, { "If-Match": 'W/"1000001"' }), 404, "0x80040217");
  });
});

describe("DELETE", () => {
  it("If-Match: a current etag deletes, a stale one is 412 0x80060882 (row kept), a missing row 404", async () => {
    const path = `dv_iotdevices(${SEED_IDS.boilerDevice})`;
    const stale = await etagOf(path);
    await patch(path, { dv_batterylevel: 1 });
    assertError(
      await client.api("DELETE", path, { headers: { "If-Match": stale } }),
      412,
      "0x80060882",
      "The version of the existing record doesn't match the RowVersion property provided.",
    );
    assert.equal((await client.api("GET", path)).status, 200, "a refused delete keeps the row");
    assert.equal((await client.api("DELETE", path, { headers: { "If-Match": await etagOf(path) } })).status, 204);
    assertError(await client.api("DELETE", path, { headers: { "If-Match": stale } }), 404, "0x80040217");
    assertError(await client.api("DELETE", "dv_iotdevices(dv_serialnumber='SN-0001')", { headers: { "If-Match": "*" } }), 404, "0x80048d02");
  });

  it("If-Match by alternate key: * and the current etag delete", async () => {
    assert.equal((await client.api("DELETE", "accounts(accountnumber='ACC-002')", { headers: { "If-Match": "*" } })).status, 204);
    const etag = await etagOf("dv_iotdevices(dv_serialnumber='SN-0001')");
    assert.equal((await client.api("DELETE", "dv_iotdevices(dv_serialnumber='SN-0001')", { headers: { "If-Match": etag } })).status, 204);
    assert.equal(emu.control.rows("dv_iotdevices").length, 0);
  });

  it("204, then 404 the second time", async () => {
    const res = await client.api("DELETE", `dv_iotdevices(${SEED_IDS.boilerDevice})`);
    assert.equal(res.status, 204);
    assertError(await client.api("DELETE", `dv_iotdevices(${SEED_IDS.boilerDevice})`), 404, "0x80040217");
  });

  it("by key; 412 on a stale etag; lookups pointing at the row are cleared", async () => {
    const etag = await etagOf("accounts(accountnumber='ACC-001')");
    await patch("accounts(accountnumber='ACC-001')", { telephone1: "2" });
    assertError(await client.api("DELETE", "accounts(accountnumber='ACC-001')", { headers: { "If-Match": etag } }), 412, "0x80060882");
    assert.equal((await client.api("DELETE", "accounts(accountnumber='ACC-001')")).status, 204);
    assertError(await client.api("DELETE", "accounts(accountnumber='ACC-001')"), 404, "0x80048d02");
    const contact = (await client.api("GET", `contacts(${SEED_IDS.yvonneContact})`)).json();
    assert.equal(contact._parentcustomerid_value, null);
  });
});
