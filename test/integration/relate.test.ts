// Relationships in a real Node-RED against the emulator: lookups written by column name in create,
// update, upsert, bulk and batch, and dataverse-relate associating and disassociating rows.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { collect, connectionNode, GUID, helper, loadFlow, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

const node = (type: string, table: string, extra: Record<string, unknown> = {}) => ({
  id: "n",
  type,
  connection: "conn",
  table,
  tableType: "str",
  wires: [["out"]],
  ...extra,
});

const relateNode = (extra: Record<string, unknown> = {}) =>
  node("dataverse-relate", "dv_iotdevices", { action: "associate", relationship: "dv_iotdevice_contact", relationshipType: "str", ...extra });

const row = async (set: string, id: string) => (await t.api.rows(set)).find((r) => r[`${set.replace(/s$/, "")}id`] === id)!;
const contact = (id: string) => row("contacts", id);

/** The body of the last write request to a path that ends so. */
async function lastBody(method: string, pathEnd: string): Promise<Record<string, unknown>> {
  const sent = (await t.api.requests()).filter((r) => r.server === "dataverse" && r.method === method && r.path.endsWith(pathEnd));
  return JSON.parse(sent.at(-1)!.body);
}

describe("lookups by column name", () => {
  it("create: a GUID on a one-table lookup becomes its navigation property's bind", async () => {
    await loadFlow(t.emu, [node("dataverse-create", "accounts")]);
    const { kind, msg } = await run("n", { payload: { name: "Linked", primarycontactid: SEED_IDS.susannaContact } });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal((await row("accounts", msg.rowId))._primarycontactid_value, SEED_IDS.susannaContact);
    assert.equal((await lastBody("POST", "/accounts"))["primarycontactid@odata.bind"], `/contacts(${SEED_IDS.susannaContact})`);
  });

  it("create: {table, id} on the polymorphic customer lookup, by logical or entity set name, by id or key", async () => {
    await loadFlow(t.emu, [node("dataverse-create", "contacts")]);
    const toAccount = await run("n", { payload: { lastname: "A", parentcustomerid: { table: "account", id: { accountnumber: "ACC-002" } } } });
    assert.equal(toAccount.kind, "out", toAccount.msg.error?.message);
    assert.equal((await contact(toAccount.msg.rowId))._parentcustomerid_value, SEED_IDS.fabrikamAccount);
    assert.equal((await lastBody("POST", "/contacts"))["parentcustomerid_account@odata.bind"], "/accounts(accountnumber='ACC-002')");
    const toContact = await run("n", { payload: { lastname: "B", parentcustomerid: { table: "contacts", id: SEED_IDS.yvonneContact } } });
    assert.equal(toContact.kind, "out", toContact.msg.error?.message);
    assert.equal((await contact(toContact.msg.rowId))._parentcustomerid_value, SEED_IDS.yvonneContact);
    assert.equal((await lastBody("POST", "/contacts"))["parentcustomerid_contact@odata.bind"], `/contacts(${SEED_IDS.yvonneContact})`);
  });

  it("update by alternate key object; null clears; binds already written and other columns pass through", async () => {
    await loadFlow(t.emu, [node("dataverse-update", "dv_iotdevices", { rowId: "rowId", rowIdType: "msg" })]);
    const set = await run("n", { rowId: SEED_IDS.boilerDevice, payload: { dv_accountid: { accountnumber: "ACC-002" }, dv_batterylevel: 50 } });
    assert.equal(set.kind, "out", set.msg.error?.message);
    let device = await row("dv_iotdevices", SEED_IDS.boilerDevice);
    assert.deepEqual([device._dv_accountid_value, device.dv_batterylevel], [SEED_IDS.fabrikamAccount, 50]);
    const cleared = await run("n", { rowId: SEED_IDS.boilerDevice, payload: { dv_accountid: null } });
    assert.equal(cleared.kind, "out", cleared.msg.error?.message);
    assert.equal((await row("dv_iotdevices", SEED_IDS.boilerDevice))._dv_accountid_value, null);
    assert.deepEqual(await lastBody("PATCH", `(${SEED_IDS.boilerDevice})`), { "dv_accountid@odata.bind": null });
    const written = await run("n", { rowId: SEED_IDS.boilerDevice, payload: { "dv_accountid@odata.bind": `/accounts(${SEED_IDS.contosoAccount})` } });
    assert.equal(written.kind, "out", written.msg.error?.message);
    device = await row("dv_iotdevices", SEED_IDS.boilerDevice);
    assert.equal(device._dv_accountid_value, SEED_IDS.contosoAccount);
  });

  it("upsert: null clears a polymorphic lookup", async () => {
    await loadFlow(t.emu, [node("dataverse-update", "contacts", { mode: "upsert", rowId: "rowId", rowIdType: "msg" })]);
    const { kind, msg } = await run("n", { rowId: SEED_IDS.yvonneContact, payload: { parentcustomerid: null } });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal((await contact(SEED_IDS.yvonneContact))._parentcustomerid_value, null);
  });

  it("a bare GUID on a polymorphic lookup, and an unknown target table, are input errors listing the allowed tables", async () => {
    await loadFlow(t.emu, [node("dataverse-create", "contacts")]);
    await t.api.clearRequests();
    const bare = await run("n", { payload: { lastname: "X", parentcustomerid: SEED_IDS.fabrikamAccount } });
    assert.equal(bare.kind, "caught");
    assert.equal(bare.msg.dataverse.code, "InvalidInput");
    assert.match(bare.msg.error.message, /row\.parentcustomerid is a lookup that accepts several tables \(account, contact\)/);
    const unknown = await run("n", { payload: { lastname: "X", parentcustomerid: { table: "dv_iotdevices", id: SEED_IDS.boilerDevice } } });
    assert.equal(unknown.kind, "caught");
    assert.match(unknown.msg.error.message, /names table 'dv_iotdevices', which this lookup does not accept: use one of account, contact/);
    const text = await run("n", { payload: { lastname: "X", parentcustomerid: { table: "account", id: "ACC-002" } } });
    assert.match(text.msg.error.message, /row\.parentcustomerid is not a lookup value/);
    const posts = (await t.api.requests()).filter((r) => r.server === "dataverse" && r.method === "POST");
    assert.equal(posts.length, 0, "nothing was sent");
  });

  it("relationship metadata is read once per table", async () => {
    await loadFlow(t.emu, [node("dataverse-create", "accounts")]);
    for (let i = 0; i < 3; i++) assert.equal((await run("n", { payload: { name: `A${i}`, primarycontactid: SEED_IDS.yvonneContact } })).kind, "out");
    const reads = (await t.api.requests()).filter((r) => r.path.includes("ManyToOneRelationships"));
    assert.equal(reads.length, 1);
  });

  it("a burst of creates with lookups goes as one CreateMultiple carrying the binds", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [node("dataverse-create", "dv_iotdevices")], { connection: connectionNode(t.emu, { concurrency: 1 }) });
    // Metadata first, so the burst waits on nothing but the first create.
    assert.equal((await run("n", { payload: { dv_name: "first", dv_accountid: SEED_IDS.contosoAccount } })).kind, "out");
    const done = collect(20);
    for (let i = 0; i < 20; i++) helper.getNode("n").receive({ payload: { dv_name: `dev ${i}`, dv_accountid: { accountnumber: "ACC-002" } } });
    const outcomes = await done;
    assert.deepEqual(
      outcomes.filter((o) => o.kind === "caught").map((o) => o.msg.error.message),
      [],
    );
    const devices = (await t.api.rows("dv_iotdevices")).filter((r) => String(r.dv_name).startsWith("dev "));
    assert.equal(devices.length, 20);
    assert.ok(devices.every((d) => d._dv_accountid_value === SEED_IDS.fabrikamAccount));
    const bulk = (await t.api.requests()).filter((r) => r.path.endsWith("CreateMultiple"));
    assert.ok(bulk.length >= 1, "went as CreateMultiple");
    const targets = JSON.parse(bulk[0].body).Targets;
    assert.equal(targets[0]["dv_accountid@odata.bind"], "/accounts(accountnumber='ACC-002')");
  });

  it("batch operations bind their lookups the same way", async () => {
    await loadFlow(t.emu, [{ id: "n", type: "dataverse-batch", connection: "conn", wires: [["out"]] }]);
    const { kind, msg } = await run("n", {
      payload: [
        { op: "update", table: "contacts", rowId: SEED_IDS.susannaContact, row: { parentcustomerid: { table: "account", id: SEED_IDS.contosoAccount } } },
      ],
    });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal((await contact(SEED_IDS.susannaContact))._parentcustomerid_value, SEED_IDS.contosoAccount);
  });
});

describe("dataverse-relate", () => {
  it("associates one row (N:N), then the same again: success with alreadyAssociated", async () => {
    await loadFlow(t.emu, [relateNode({ rowId: SEED_IDS.boilerDevice, rowIdType: "str" })]);
    const first = await run("n", { targetId: SEED_IDS.yvonneContact });
    assert.equal(first.kind, "out", first.msg.error?.message);
    assert.deepEqual(first.msg.payload, [{ table: "contacts", id: SEED_IDS.yvonneContact, result: "associated" }]);
    assert.equal(first.msg.dataverse.status, 204);
    assert.equal(first.msg.dataverse.relationship, "dv_iotdevice_contact");
    assert.equal(first.msg.dataverse.alreadyAssociated, 0);
    const again = await run("n", { targetId: SEED_IDS.yvonneContact });
    assert.equal(again.kind, "out", again.msg.error?.message);
    assert.equal(again.msg.payload[0].result, "alreadyAssociated");
    assert.equal(again.msg.dataverse.alreadyAssociated, 1);
  });

  it("associates and disassociates many; disassociating rows that are not associated is a success", async () => {
    const targets = [SEED_IDS.yvonneContact, SEED_IDS.susannaContact];
    await loadFlow(t.emu, [
      relateNode({ rowId: SEED_IDS.boilerDevice, rowIdType: "str" }),
      relateNode({ id: "d", action: "disassociate", rowId: SEED_IDS.boilerDevice, rowIdType: "str" }),
    ]);
    const linked = await run("n", { targetId: targets });
    assert.equal(linked.kind, "out", linked.msg.error?.message);
    assert.deepEqual(
      linked.msg.payload.map((r: { result: string }) => r.result),
      ["associated", "associated"],
    );
    const unlinked = await run("d", { targetId: targets });
    assert.equal(unlinked.kind, "out", unlinked.msg.error?.message);
    assert.deepEqual(
      unlinked.msg.payload.map((r: { result: string }) => r.result),
      ["disassociated", "disassociated"],
    );
    const deletes = (await t.api.requests()).filter((r) => r.method === "DELETE");
    assert.ok(deletes.some((r) => r.path.endsWith(`dv_iotdevice_contact(${SEED_IDS.susannaContact})/$ref`)));
    const twice = await run("d", { targetId: targets });
    assert.equal(twice.kind, "out", twice.msg.error?.message);
    // Linked again without a duplicate: they were really unlinked.
    assert.deepEqual(
      (await run("n", { targetId: targets })).msg.payload.map((r: { result: string }) => r.result),
      ["associated", "associated"],
    );
  });

  it("1:N by navigation property from the account's side, with a target table and a key", async () => {
    await loadFlow(t.emu, [
      node("dataverse-relate", "account", {
        action: "associate",
        relationship: "contact_customer_accounts",
        relationshipType: "str",
        targetTable: "contacts",
        targetTableType: "str",
      }),
    ]);
    const { kind, msg } = await run("n", { rowId: { accountnumber: "ACC-001" }, targetId: SEED_IDS.susannaContact });
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(msg.rowId, { accountnumber: "ACC-001" });
    assert.equal((await contact(SEED_IDS.susannaContact))._parentcustomerid_value, SEED_IDS.contosoAccount);
  });

  it("a relationship by schema name in any case; the other side too", async () => {
    await loadFlow(t.emu, [node("dataverse-relate", "contacts", { action: "associate", relationship: "DV_IoTDevice_Contact", relationshipType: "str" })]);
    const { kind, msg } = await run("n", { rowId: SEED_IDS.susannaContact, targetId: [SEED_IDS.boilerDevice] });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload[0].table, "dv_iotdevices");
    assert.equal(msg.dataverse.navigation, "dv_iotdevice_contact");
  });

  it("an unknown relationship, a wrong target table, bad target ids and a missing target are errors at Catch", async () => {
    await loadFlow(t.emu, [relateNode({ relationship: "nope", rowId: SEED_IDS.boilerDevice, rowIdType: "str" })]);
    const unknown = await run("n", { targetId: SEED_IDS.yvonneContact });
    assert.equal(unknown.kind, "caught");
    assert.equal(unknown.msg.dataverse.code, "InvalidInput");
    assert.match(unknown.msg.error.message, /Table 'dv_iotdevice' has no one-to-many or many-to-many relationship 'nope': use one of dv_iotdevice_contact/);
    await helper.unload();
    await loadFlow(t.emu, [relateNode({ rowId: SEED_IDS.boilerDevice, rowIdType: "str", targetTable: "accounts", targetTableType: "str" })]);
    const wrongTable = await run("n", { targetId: SEED_IDS.yvonneContact });
    assert.match(wrongTable.msg.error.message, /targetTable 'accounts' is not on the other side of dv_iotdevice_contact, which links to table 'contact'/);
    await helper.unload();
    await loadFlow(t.emu, [relateNode({ rowId: SEED_IDS.boilerDevice, rowIdType: "str" })]);
    const badId = await run("n", { targetId: [SEED_IDS.yvonneContact, "nope"] });
    assert.match(badId.msg.error.message, /targetId\[1\] 'nope' is not a row id/);
    const missing = "00000000-0000-0000-0000-00000000dead";
    const gone = await run("n", { targetId: [SEED_IDS.yvonneContact, missing] });
    assert.equal(gone.kind, "caught");
    assert.equal(gone.msg.dataverse.status, 404);
    assert.equal(gone.msg.dataverse.targetId, missing);
    assert.deepEqual(gone.msg.dataverse.completed, [SEED_IDS.yvonneContact]);
    assert.match(gone.msg.error.message, new RegExp(`Could not associate target ${missing}`));
  });

  it("the id in msg.rowId of a create flows into relate", async () => {
    await loadFlow(t.emu, [
      { ...node("dataverse-create", "contacts"), id: "c", wires: [["r"]] },
      { ...relateNode({ id: "r" }), table: "contacts" },
    ]);
    const { kind, msg } = await run("c", { payload: { lastname: "New" }, targetId: SEED_IDS.boilerDevice });
    assert.equal(kind, "out", msg.error?.message);
    assert.match(msg.rowId, GUID);
    assert.equal(msg.payload[0].result, "associated");
  });
});
