// dataverse-batch in a real Node-RED against the emulator.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { GUID, loadFlow, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

const batchNode = (extra: Record<string, unknown> = {}) => ({ id: "b", type: "dataverse-batch", connection: "conn", wires: [["out"]], ...extra });
const batches = async () => (await t.api.requests()).filter((r) => r.server === "dataverse" && r.path.endsWith("$batch"));

describe("dataverse-batch", () => {
  it("atomic: creates an account and a contact linked to it by $1, all in one change set", async () => {
    await loadFlow(t.emu, [batchNode({ atomic: true })]);
    const { kind, msg } = await run("b", {
      payload: [
        { op: "create", table: "accounts", row: { name: "Batch Co" } },
        { op: "create", table: "contact", row: { lastname: "Linked", "parentcustomerid_account@odata.bind": "$1" } },
        { op: "update", table: "accounts", rowId: SEED_IDS.contosoAccount, row: { telephone1: "555-0111" } },
      ],
    });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.length, 3);
    const [account, contact, update] = msg.payload;
    assert.match(account.rowId, GUID);
    assert.match(contact.rowId, GUID);
    assert.equal(update.status, 204);
    assert.equal(msg.dataverse.failed, 0);
    const stored = (await t.api.rows("contacts")).find((r) => r.contactid === contact.rowId);
    assert.equal(stored?._parentcustomerid_value, account.rowId);
    assert.equal((await batches()).length, 1);
  });

  it("atomic and failing: nothing is applied, and Catch names the operation", async () => {
    await loadFlow(t.emu, [batchNode({ atomic: true })]);
    const { kind, msg } = await run("b", {
      payload: [
        { op: "create", table: "accounts", row: { name: "Never" } },
        { op: "update", table: "accounts", rowId: "00000000-0000-0000-0000-00000000dead", row: { name: "x" } },
      ],
    });
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /Operation 2 \(payload\[1\], update accounts\) failed, so nothing in this atomic batch was applied/);
    assert.equal(msg.dataverse.status, 404);
    assert.equal(msg.dataverse.failedIndex, 1);
    assert.ok(!(await t.api.rows("accounts")).some((r) => r.name === "Never"), "rolled back");
  });

  it("not atomic: each operation gets its own result; failures are counted, not thrown", async () => {
    await loadFlow(t.emu, [batchNode()]);
    const { kind, msg } = await run("b", {
      payload: [
        { op: "retrieve", table: "accounts", rowId: SEED_IDS.contosoAccount, select: "name" },
        { op: "create", table: "accounts", row: { nosuchcolumn: 1 } },
        { op: "upsert", table: "dv_iotdevices", rowId: { dv_serialnumber: "SN-BATCH" }, row: { dv_name: "batched" } },
        { op: "delete", table: "accounts", rowId: SEED_IDS.northwindAccount },
      ],
    });
    assert.equal(kind, "out", msg.error?.message);
    const [read, bad, upsert, removed] = msg.payload;
    assert.equal(read.status, 200);
    assert.equal(read.rowId, SEED_IDS.contosoAccount);
    assert.ok(read.row.name);
    assert.match(read.etag, /^W\//);
    assert.equal(bad.status, 400);
    assert.equal(bad.error.code, "0x80060888");
    assert.match(bad.error.message, /nosuchcolumn/);
    assert.equal(upsert.status, 204);
    assert.equal(removed.status, 204);
    assert.equal(msg.dataverse.failed, 1);
    assert.ok((await t.api.rows("dv_iotdevices")).some((r) => r.dv_serialnumber === "SN-BATCH"));
  });

  it("more than 1,000 operations go as several batches; atomic, they are an input error", async () => {
    await loadFlow(t.emu, [batchNode()]);
    const payload = Array.from({ length: 1001 }, (_, i) => ({ op: "create", table: "accounts", row: { name: `many ${i}` } }));
    const { kind, msg } = await run("b", { payload }, 60_000);
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.length, 1001);
    assert.equal(msg.dataverse.batches, 2);
    assert.equal((await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("many ")).length, 1001);
  });

  it("bad operations are input errors naming the array index, and nothing is sent", async () => {
    await loadFlow(t.emu, [batchNode({ atomic: true })]);
    await t.api.clearRequests();
    const cases: Array<[unknown, RegExp]> = [
      ["not an array", /msg\.payload must be a non-empty array of operations/],
      [[{ op: "merge", table: "accounts" }], /payload\[0\] has op "merge"/],
      [[{ op: "create", row: {} }], /payload\[0\] has no table/],
      [[{ op: "update", table: "accounts", rowId: "123", row: {} }], /payload\[0\] \(update accounts\): rowId '123' is not a row id/],
      [[{ op: "retrieve", table: "accounts", rowId: SEED_IDS.contosoAccount }], /payload\[0\] is a retrieve: an atomic batch/],
      [
        [
          { op: "update", table: "accounts", rowId: SEED_IDS.contosoAccount, row: {} },
          { op: "create", table: "contacts", row: { "parentcustomerid_account@odata.bind": "$1" } },
        ],
        /operation 1 is not a create before this one/,
      ],
      [Array.from({ length: 1001 }, () => ({ op: "create", table: "accounts", row: {} })), /at most 1000 operations/],
    ];
    for (const [payload, pattern] of cases) {
      const { kind, msg } = await run("b", { payload });
      assert.equal(kind, "caught", String(pattern));
      assert.equal(msg.dataverse.code, "InvalidInput");
      assert.match(msg.error.message, pattern);
      assert.match(msg.error.message, /msg\.payload/);
    }
    assert.deepEqual(await batches(), []);
  });
});
