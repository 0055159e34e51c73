// dataverse-delete in a real Node-RED against the emulator.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { helper, loadFlow, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

const deleteNode = (extra: Record<string, unknown> = {}) => ({
  id: "d",
  type: "dataverse-delete",
  connection: "conn",
  table: "accounts",
  tableType: "str",
  wires: [["out"]],
  ...extra,
});

describe("dataverse-delete", () => {
  it("deletes a row by id from msg.rowId", async () => {
    await loadFlow(t.emu, [deleteNode()]);
    const { kind, msg } = await run("d", { rowId: SEED_IDS.northwindAccount });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.rowId, SEED_IDS.northwindAccount);
    assert.deepEqual(
      { status: msg.dataverse.status, rowId: msg.dataverse.rowId, deleted: msg.dataverse.deleted },
      { status: 204, rowId: SEED_IDS.northwindAccount, deleted: true },
    );
    assert.ok(!(await t.api.rows("accounts")).some((r) => r.accountid === SEED_IDS.northwindAccount));
  });

  it("deletes by alternate key, and by logical table name", async () => {
    await t.api.seed("accounts", [{ name: "Keyed", accountnumber: "DEL-1" }]);
    await loadFlow(t.emu, [deleteNode({ table: "account" })]);
    const { kind, msg } = await run("d", { rowId: { accountnumber: "DEL-1" } });
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(msg.rowId, { accountnumber: "DEL-1" });
    assert.equal(msg.dataverse.deleted, true);
    assert.ok(!(await t.api.rows("accounts")).some((r) => r.accountnumber === "DEL-1"));
  });

  it("a missing row is a 404 at Catch, or a success with deleted: false when missingOk", async () => {
    const missing = "00000000-0000-0000-0000-00000000dead";
    await loadFlow(t.emu, [deleteNode()]);
    const strict = await run("d", { rowId: missing });
    assert.equal(strict.kind, "caught");
    assert.deepEqual({ status: strict.msg.dataverse.status, code: strict.msg.dataverse.code }, { status: 404, code: "0x80040217" });
    assert.match(strict.msg.error.message, /No row in 'accounts' has the id in rowId/);
    await helper.unload();
    await loadFlow(t.emu, [deleteNode({ missingOk: true })]);
    const lenient = await run("d", { rowId: missing });
    assert.equal(lenient.kind, "out", lenient.msg.error?.message);
    assert.equal(lenient.msg.dataverse.deleted, false);
    assert.equal(lenient.msg.rowId, missing);
    const byKey = await run("d", { rowId: { accountnumber: "nobody" } });
    assert.equal(byKey.kind, "out");
    assert.equal(byKey.msg.dataverse.deleted, false);
  });

  it("msg.etag makes the delete conditional: a stale etag is a 412 at Catch and the row stays", async () => {
    await loadFlow(t.emu, [{ id: "r", type: "dataverse-retrieve", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] }, deleteNode()]);
    const read = await run("r", { rowId: SEED_IDS.contosoAccount });
    const etag = read.msg.dataverse.etag;
    const stale = await run("d", { rowId: SEED_IDS.contosoAccount, etag: 'W/"1"' });
    assert.equal(stale.kind, "caught");
    assert.equal(stale.msg.dataverse.status, 412);
    assert.ok((await t.api.rows("accounts")).some((r) => r.accountid === SEED_IDS.contosoAccount));
    const current = await run("d", { rowId: SEED_IDS.contosoAccount, etag });
    assert.equal(current.kind, "out", current.msg.error?.message);
    const sent = (await t.api.requests()).filter((r) => r.method === "DELETE");
    assert.equal(sent.at(-1)?.headers["if-match"], etag);
  });

  it("a retry after a lost answer that meets no row counts as deleted, not as an error", async () => {
    await loadFlow(t.emu, [deleteNode()]);
    await t.api.addFault({ server: "dataverse", method: "DELETE", action: "reset-after", times: 1 });
    const { kind, msg } = await run("d", { rowId: SEED_IDS.northwindAccount });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.dataverse.deleted, true);
    const deletes = (await t.api.requests()).filter((r) => r.method === "DELETE" && r.path.includes(SEED_IDS.northwindAccount));
    assert.deepEqual(
      deletes.map((r) => r.status),
      [0, 404],
      "the first answer was lost, the retry met no row",
    );
  });

  it("bad input goes to Catch before anything is sent", async () => {
    await loadFlow(t.emu, [deleteNode()]);
    await t.api.clearRequests();
    const { kind, msg } = await run("d", { rowId: "12345" });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidInput");
    assert.match(msg.error.message, /rowId '12345' is not a row id.*read from msg.rowId/);
    assert.deepEqual(await t.api.requests(), []);
  });
});
