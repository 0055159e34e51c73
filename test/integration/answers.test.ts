// Answers the client must read right (as real Dataverse and Entra ID give them), and what a new user
// tripped over: in a real Node-RED against the emulator, each answer made to happen for real.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { collect, connectionNode, credentialsFor, GUID, helper, loadFlow, type Msg, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

const node = (type: string, extra: Record<string, unknown> = {}) => ({
  id: "n",
  type,
  connection: "conn",
  table: "accounts",
  tableType: "str",
  wires: [["out"]],
  ...extra,
});
const sent = async (method: string) => (await t.api.requests()).filter((r) => r.server === "dataverse" && r.method === method);

describe("one request that does not answer never holds other messages longer than its own timeout", () => {
  for (const [what, fault] of [
    ["the metadata lookup and then writes", { server: "dataverse", action: "hang", times: 5 }],
    ["writes", { server: "dataverse", method: "POST", action: "hang", times: 5 }],
  ] as const) {
    it(`20 creates while the next 5 requests (${what}) never answer: all end, sent on or at Catch, within twice the timeout`, async () => {
      const timeoutSeconds = 4;
      await loadFlow(t.emu, [node("dataverse-create")], { connection: connectionNode(t.emu, { timeout: timeoutSeconds }) });
      await t.api.addFault(fault);
      const started = Date.now();
      const done = collect(20, 4 * timeoutSeconds * 1000);
      for (let i = 0; i < 20; i++) helper.getNode("n").receive({ seq: i, payload: { name: `hang ${i}` } });
      const outcomes = await done;
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 2 * timeoutSeconds * 1000, `took ${elapsed} ms`);
      assert.deepEqual(
        outcomes.map((o) => o.msg.seq).sort((a, b) => a - b),
        [...Array(20).keys()],
        "each message once",
      );
      for (const { kind, msg } of outcomes.filter((o) => o.kind === "caught")) {
        assert.equal(kind, "caught");
        assert.match(msg.dataverse.code, /OutcomeUnknown|ECONNABORTED|ETIMEDOUT/, msg.error.message);
      }
      const rows = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("hang "));
      assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, "no row twice");
    });
  }
});

describe("a lost answer after a write that is not safe to repeat", () => {
  it("an etag-conditional update that meets a 502 says it may have been applied, and is not retried", async () => {
    await loadFlow(t.emu, [node("dataverse-update")]);
    await t.api.addFault({ server: "dataverse", method: "PATCH", status: 502, times: 1 });
    const { kind, msg } = await run("n", { rowId: SEED_IDS.contosoAccount, etag: 'W/"1"', payload: { name: "x" } });
    assert.equal(kind, "caught");
    assert.deepEqual(
      { code: msg.dataverse.code, status: msg.dataverse.status, retryable: msg.dataverse.retryable },
      { code: "OutcomeUnknown", status: 502, retryable: false },
    );
    assert.match(msg.error.message, /may or may not have applied it.*Check whether it was applied/);
    assert.equal((await sent("PATCH")).length, 1);
  });

  it("a create without a client-chosen id (no metadata) that meets a 504 says the same", async () => {
    await loadFlow(t.emu, [node("dataverse-create")]);
    await t.api.addFault({ server: "dataverse", path: "EntityDefinitions", status: 403, times: 1 });
    await t.api.addFault({ server: "dataverse", method: "POST", status: 504, times: 1 });
    const { kind, msg } = await run("n", { payload: { name: "maybe" } });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "OutcomeUnknown");
    assert.equal(msg.dataverse.retryable, false);
    assert.equal((await sent("POST")).length, 1);
  });
});

describe("an upsert or update by alternate key", () => {
  it("puts the row's id in msg.rowId, whatever form OData-EntityId takes", async () => {
    await loadFlow(t.emu, [node("dataverse-update", { table: "dv_iotdevices", mode: "upsert" })]);
    const created = await run("n", { rowId: { dv_serialnumber: "SN-KEY-1" }, payload: { dv_name: "by key" } });
    assert.equal(created.kind, "out", created.msg.error?.message);
    assert.match(created.msg.rowId, GUID);
    const row = (await t.api.rows("dv_iotdevices")).find((r) => r.dv_serialnumber === "SN-KEY-1")!;
    assert.equal(created.msg.rowId, row.dv_iotdeviceid);
    assert.equal(created.msg.payload.dv_name, "by key", "the payload is left alone");
    const updated = await run("n", { rowId: { dv_serialnumber: "SN-KEY-1" }, payload: { dv_batterylevel: 50 } });
    assert.equal(updated.msg.rowId, row.dv_iotdeviceid);
    assert.equal(updated.msg.dataverse.rowId, row.dv_iotdeviceid);
  });
});

describe("Dataverse's own words", () => {
  it("a plug-in's rejection leads with the plug-in's text", async () => {
    await loadFlow(t.emu, [node("dataverse-create")]);
    await t.api.addFault({
      server: "dataverse",
      method: "POST",
      status: 400,
      code: "0x80040265",
      message: "Orders over 10,000 need a manager's approval.",
      times: 1,
    });
    const { msg } = await run("n", { payload: { name: "big order" } });
    assert.match(msg.error.message, /Dataverse: Orders over 10,000 need a manager's approval\. \(HTTP 400, 0x80040265\)/);
    assert.equal(msg.dataverse.retryable, false);
  });

  it("a coded 500 (duplicate detection) is final and sent once; an uncoded 500 is retried", async () => {
    await loadFlow(t.emu, [node("dataverse-update")]);
    await t.api.addFault({
      server: "dataverse",
      method: "PATCH",
      status: 500,
      code: "0x80040333",
      message: "A record was not created or updated because a duplicate of the current record already exists.",
      times: 1,
    });
    const coded = await run("n", { rowId: SEED_IDS.contosoAccount, payload: { name: "dup" } });
    assert.equal(coded.kind, "caught");
    assert.equal(coded.msg.dataverse.retryable, false);
    assert.match(coded.msg.error.message, /duplicate of the current record/);
    assert.equal((await sent("PATCH")).length, 1);
    await t.api.clearRequests();
    await t.api.addFault({ server: "dataverse", method: "PATCH", status: 500, code: "", message: "", times: 1 });
    const uncoded = await run("n", { rowId: SEED_IDS.contosoAccount, payload: { name: "again" } });
    assert.equal(uncoded.kind, "out", uncoded.msg.error?.message);
    assert.deepEqual(
      (await sent("PATCH")).map((r) => r.status),
      [500, 204],
    );
  });

  it("a 404 'Resource not found for the segment' with code 0x80060888 says the table does not exist", async () => {
    await loadFlow(t.emu, [node("dataverse-retrieve")]);
    await t.api.addFault({
      server: "dataverse",
      method: "GET",
      path: "accounts(",
      status: 404,
      code: "0x80060888",
      message: "Resource not found for the segment 'accounts'.",
      times: 1,
    });
    const { msg } = await run("n", { rowId: SEED_IDS.contosoAccount });
    assert.match(msg.error.message, /Table 'accounts' does not exist/);
  });

  it("a 200 that is not JSON (a proxy's page) is an error, not a WhoAmI of 'undefined'", async () => {
    await loadFlow(t.emu, [node("dataverse-whoami")]);
    await t.api.addFault({ server: "dataverse", path: "WhoAmI", action: "invalid-json", status: 200, times: 1 });
    const { kind, msg } = await run("n", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidResponse");
    assert.match(msg.error.message, /answered HTTP 200 without the JSON Dataverse sends/);
  });

  it("a sign-in failure carries the token endpoint's trace id and correlation id", async () => {
    await loadFlow(t.emu, [node("dataverse-whoami")], { credentials: credentialsFor(t.emu, { clientSecret: "wrong" }) });
    const { msg } = await run("n", {});
    assert.equal(msg.dataverse.code, "AADSTS7000215");
    assert.match(msg.dataverse.requestId, GUID);
    assert.match(msg.dataverse.correlationId, GUID);
  });

  it("a create whose lookup points at a missing row names the lookup and its table", async () => {
    await loadFlow(t.emu, [node("dataverse-create", { table: "contacts" })]);
    const missing = "a1b2c3d4-0009-4a00-8a00-00000000beef";
    const { msg } = await run("n", { payload: { lastname: "Orphan", "parentcustomerid_account@odata.bind": `/accounts(${missing})` } });
    assert.equal(msg.dataverse.status, 404);
    assert.match(msg.error.message, /The lookup parentcustomerid_account@odata.bind points at a account row that does not exist/);
    assert.doesNotMatch(msg.error.message, /rowId/);
  });
});

describe("status after a service protection pause", () => {
  it("each node gets its own status back; a busy node shows how many messages wait", async () => {
    await t.api.setConfig({ latencyMs: 30 });
    await loadFlow(t.emu, [node("dataverse-create", { id: "a" }), node("dataverse-retrieve", { id: "b" })], {
      connection: connectionNode(t.emu, { concurrency: 1 }),
    });
    const failed = await run("b", { rowId: "00000000-0000-0000-0000-00000000dead" });
    assert.equal(failed.kind, "caught");
    await t.api.addFault({ server: "dataverse", method: "POST", status: 429, retryAfter: 2, times: 1 });
    const done = collect(60, 60_000);
    for (let i = 0; i < 60; i++) helper.getNode("a").receive({ seq: i, payload: { name: `s ${i}` } });
    const outcomes = await done;
    assert.equal(outcomes.filter((o) => o.kind === "out").length, 60);
    // The test helper spies on every node's status in one spy, and has no catalogues: texts are keys.
    const spy = (helper.getNode("a") as any).status;
    const statuses = (id: string): Msg[] => spy.args.filter((_: unknown, i: number) => spy.thisValues[i] === helper.getNode(id)).map((a: any[]) => a[0]);
    const a = statuses("a").map((s) => s.text ?? "");
    assert.ok(
      a.some((t) => t.endsWith("status.throttledWaiting")),
      a.join(" | "),
    );
    assert.ok(
      a.some((t) => t.endsWith("status.waiting")),
      a.join(" | "),
    );
    assert.match(a.at(-1)!, /status\.done$/);
    const b = statuses("b");
    assert.ok(
      b.some((s) => s.text?.endsWith("status.throttled")),
      "the idle node shows the pause",
    );
    assert.equal(b.at(-1)?.fill, "red", "and gets its own status back");
    assert.match(b.at(-1)?.text, /status\.error 404$/);
    assert.ok(!b.some((s) => Object.keys(s).length === 0), "never wiped");
  });
});
