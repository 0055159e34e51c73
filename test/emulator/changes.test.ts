// Change tracking: the first read with Prefer: odata.track-changes, delta links, $deletedEntity,
// paging at maxpagesize, refused query options, token expiry, and a table with change tracking off.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const TRACK = { Prefer: "odata.track-changes" };
/** A delta or next link, relative to the service root, as a client follows it. */
const relative = (link: string) => link.slice(`${emu.dataverseUrl}/api/data/v9.2/`.length);

function assertError(res: HttpResult, status: number, code: string, message: RegExp): void {
  assert.equal(res.status, status, res.text);
  const { error } = res.json();
  assert.equal(error.code, code);
  assert.match(error.message, message);
}

async function firstRead(query = "accounts?$select=name", headers: Record<string, string> = TRACK): Promise<{ rows: any[]; deltaLink: string }> {
  let res = await client.api("GET", query, { headers });
  const rows: any[] = [];
  for (;;) {
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    rows.push(...body.value);
    if (!body["@odata.nextLink"]) return { rows, deltaLink: body["@odata.deltaLink"] };
    res = await client.api("GET", relative(body["@odata.nextLink"]), { headers });
  }
}

describe("change tracking", () => {
  it("the first read answers every row and a delta link with a $deltatoken", async () => {
    const res = await client.api("GET", "accounts?$select=name", { headers: TRACK });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers["preference-applied"], "odata.track-changes");
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts(name)`);
    assert.equal(body.value.length, (await emu.control.rows("accounts")).length);
    assert.ok(body.value.every((r: any) => r.accountid && "name" in r && r["@odata.etag"]));
    assert.match(
      body["@odata.deltaLink"],
      /^https:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/accounts\?\$select=name&\$deltatoken=\d+%21\d\d%2f\d\d%2f\d{4}%20\d\d%3a/,
    );
  });

  it("the delta link answers changed rows and $deletedEntity entries, then nothing", async () => {
    const { deltaLink } = await firstRead();
    const { ids } = emu.control.seed("accounts", [{ name: "New one" }]);
    await client.api("PATCH", `accounts(${SEED_IDS.fabrikamAccount})`, { body: { name: "Fabrikam renamed" } });
    await client.api("DELETE", `accounts(${SEED_IDS.northwindAccount})`);
    const res = await client.api("GET", relative(deltaLink));
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts(name)/$delta`);
    const changes = body.value.filter((r: any) => r.accountid !== SEED_IDS.contosoAccount);
    assert.deepEqual(
      changes.map((r: any) => r.name ?? r.reason),
      ["New one", "Fabrikam renamed", "deleted"],
    );
    assert.equal(changes[0].accountid, ids[0]);
    assert.deepEqual(changes[2], {
      "@odata.context": `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts/$deletedEntity`,
      id: SEED_IDS.northwindAccount,
      reason: "deleted",
    });
    const next = await client.api("GET", relative(body["@odata.deltaLink"]));
    assert.deepEqual(next.json().value, []);
  });

  it("pages the first read and a large delta at odata.maxpagesize", async () => {
    const headers = { Prefer: "odata.track-changes,odata.maxpagesize=2" };
    const first = await client.api("GET", "contacts?$select=fullname", { headers });
    assert.equal(first.headers["preference-applied"], "odata.track-changes,odata.maxpagesize=2");
    const all = await firstRead("contacts?$select=fullname", headers);
    assert.equal(all.rows.length, (await emu.control.rows("contacts")).length);
    emu.control.seedMany("contacts", 5, { firstname: "Person {n}" });
    const delta = await firstRead(relative(all.deltaLink), headers);
    assert.deepEqual(
      delta.rows.map((r) => r.fullname),
      ["Person 1", "Person 2", "Person 3", "Person 4", "Person 5"],
    );
    assert.deepEqual((await client.api("GET", relative(delta.deltaLink))).json().value, []);
  });

  it("refuses $filter, $orderby, $expand and $top with change tracking", async () => {
    for (const option of ["$filter=name eq 'x'", "$orderby=name", "$expand=primarycontactid", "$top=1"]) {
      const res = await client.api("GET", `accounts?${option}`, { headers: TRACK });
      assertError(res, 400, "0x80060888", /not supported with change tracking/);
    }
  });

  it("a table with change tracking off answers 0x80072491", async () => {
    const res = await client.api("GET", "dv_iotdevices", { headers: TRACK });
    assertError(res, 400, "0x80072491", /^Entity dv_iotdevice isn't enabled for change tracking\.$/);
    assert.equal((await client.api("GET", "dv_iotdevices")).status, 200, "an ordinary read still works");
  });

  it("tokens expire after changeTrackingExpiryDays; the control ages them", async () => {
    const { deltaLink } = await firstRead();
    await client.control("POST", "changetokens/age", { days: 6 });
    assert.equal((await client.api("GET", relative(deltaLink))).status, 200);
    await client.control("POST", "changetokens/age", { days: 2 });
    assertError(await client.api("GET", relative(deltaLink)), 400, "0x80044352", /Version stamp associated with the client has expired/);
    await client.control("PATCH", "config", { changeTrackingExpiryDays: 30 });
    assert.equal((await client.api("GET", relative(deltaLink))).status, 200);
  });

  it("a token from before a reset needs a full sync", async () => {
    const { deltaLink } = await firstRead();
    await client.control("POST", "reset");
    client.forgetToken();
    assertError(await client.api("GET", relative(deltaLink)), 400, "0x80044352", /expired/);
  });
});
