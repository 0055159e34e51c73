// Automatic bulk writes in a real Node-RED against the emulator: bursts become CreateMultiple,
// UpsertMultiple, UpdateMultiple or $batch, and every message keeps its own outcome.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { collect, connectionNode, GUID, helper, loadFlow, type Outcome, useTestEmulator } from "./harness";

const t = useTestEmulator();

const writer = (type: string, table: string, extra: Record<string, unknown> = {}) => ({
  id: "w",
  type,
  connection: "conn",
  table,
  tableType: "str",
  wires: [["out"]],
  ...extra,
});
/** One request at a time and a little latency: a burst waits, so it goes in bulk. */
const slowConnection = (extra: Record<string, unknown> = {}) => connectionNode(t.emu, { concurrency: 1, ...extra });

async function burst(count: number, msg: (i: number) => Record<string, unknown>, timeoutMs = 60_000): Promise<Outcome[]> {
  const done = collect(count, timeoutMs);
  for (let i = 0; i < count; i++) helper.getNode("w").receive({ seq: i, ...msg(i) });
  const outcomes = await done;
  assert.deepEqual(
    outcomes.map((o) => o.msg.seq).sort((a, b) => a - b),
    [...Array(count).keys()],
    "every message exactly once",
  );
  return outcomes;
}

const bulkRequests = async (path: string) => (await t.api.requests()).filter((r) => r.server === "dataverse" && r.path.endsWith(path));
const caught = (outcomes: Outcome[]) => outcomes.filter((o) => o.kind === "caught").map((o) => o.msg);

describe("automatic bulk", () => {
  it("a burst of creates goes as CreateMultiple; each message gets its own id, the first goes alone at once", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    const outcomes = await burst(300, (i) => ({ payload: { name: `bulk ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    const rows = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("bulk "));
    assert.equal(rows.length, 300);
    for (const { msg } of outcomes) {
      assert.match(msg.rowId, GUID);
      assert.equal(rows.find((r) => r.accountid === msg.rowId)?.name, msg.payload.name, "its own row");
    }
    const requests = await bulkRequests("CreateMultiple");
    assert.ok(requests.length >= 2 && requests.length <= 10, `${requests.length} CreateMultiple requests`);
    assert.ok(
      requests.every((r) => r.operations <= 100),
      "at most bulkSize per request",
    );
    const viaBulk = outcomes.filter((o) => o.msg.dataverse.bulk?.via === "CreateMultiple");
    assert.ok(viaBulk.length >= 250, `${viaBulk.length} via CreateMultiple`);
    assert.equal(outcomes.find((o) => o.msg.seq === 0)!.msg.dataverse.bulk, undefined, "the first found nothing waiting");
  });

  it("upserts by alternate key go as UpsertMultiple, and each message still learns its row's id", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-update", "dv_iotdevices", { mode: "upsert" })], { connection: slowConnection() });
    const outcomes = await burst(120, (i) => ({ rowId: { dv_serialnumber: `SN-B-${i}` }, payload: { dv_name: `device ${i}`, dv_batterylevel: i % 100 } }));
    assert.deepEqual(caught(outcomes), []);
    const rows = await t.api.rows("dv_iotdevices");
    for (const { msg } of outcomes) {
      const row = rows.find((r) => r.dv_serialnumber === msg.rowId?.dv_serialnumber || r.dv_iotdeviceid === msg.rowId);
      assert.ok(row, `row for ${msg.seq}`);
      assert.equal(msg.rowId, row.dv_iotdeviceid, "the GUID, as when sent alone");
    }
    assert.ok((await bulkRequests("UpsertMultiple")).length >= 1);
  });

  it("updates by id go as UpdateMultiple; a missing row among them fails alone", async () => {
    const { ids } = await t.api.seed(
      "accounts",
      Array.from({ length: 50 }, (_, i) => ({ name: `to update ${i}` })),
    );
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-update", "accounts")], { connection: slowConnection() });
    const missing = "00000000-0000-0000-0000-00000000dead";
    const outcomes = await burst(51, (i) => ({ rowId: i === 25 ? missing : ids[i > 25 ? i - 1 : i], payload: { telephone1: `555-${i}` } }));
    const failed = caught(outcomes);
    assert.deepEqual(
      failed.map((m) => [m.seq, m.dataverse.status]),
      [[25, 404]],
    );
    const rows = await t.api.rows("accounts");
    assert.equal(rows.filter((r) => String(r.telephone1).startsWith("555-")).length, 50);
    assert.ok((await bulkRequests("UpdateMultiple")).length >= 1);
  });

  it("a table without bulk messages gets its writes in one $batch each", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "contacts")], { connection: slowConnection() });
    const outcomes = await burst(60, (i) => ({ payload: { firstname: "Batch", lastname: `Contact ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    assert.equal((await t.api.rows("contacts")).filter((r) => r.firstname === "Batch").length, 60);
    assert.ok((await bulkRequests("$batch")).length >= 1);
    assert.equal((await bulkRequests("CreateMultiple")).length, 0);
    assert.ok(outcomes.some((o) => o.msg.dataverse.bulk?.via === "$batch"));
  });

  it("a $batch that is throttled waits like any request, then every write succeeds", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "contacts")], { connection: slowConnection() });
    await t.api.addFault({ server: "dataverse", path: "$batch", status: 429, retryAfter: 1, times: 2 });
    const outcomes = await burst(60, (i) => ({ payload: { firstname: "Throttled", lastname: `Contact ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    assert.equal((await t.api.rows("contacts")).filter((r) => r.firstname === "Throttled").length, 60);
  });

  it("one bad row among 500: only its message reaches Catch, every other row is written once", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    const outcomes = await burst(500, (i) => ({ payload: i === 321 ? { name: `bad ${i}`, nosuchcolumn: 1 } : { name: `good ${i}` } }), 120_000);
    assert.deepEqual(
      caught(outcomes).map((m) => m.seq),
      [321],
    );
    assert.match(caught(outcomes)[0].error.message, /nosuchcolumn/);
    const rows = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("good "));
    assert.equal(rows.length, 499);
    assert.equal(new Set(rows.map((r) => r.name)).size, 499, "no duplicates");
  });

  it("a lost answer to a bulk create makes no duplicates", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    await t.api.addFault({ server: "dataverse", path: "CreateMultiple", action: "reset-after", times: 1 });
    const outcomes = await burst(200, (i) => ({ payload: { name: `lost ${i}` } }));
    assert.deepEqual(
      caught(outcomes).map((m) => m.error.message),
      [],
    );
    const rows = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("lost "));
    assert.equal(rows.length, 200);
    for (const { msg } of outcomes) assert.ok(rows.some((r) => r.accountid === msg.rowId));
    // Rows a resent bulk meets as its own are checked within the connection's one request at a time.
    assert.equal((await t.api.stats()).peakConcurrency, 1);
  });

  it("a 429 storm during bulk pauses, then everything is written", async () => {
    await t.api.setConfig({ latencyMs: 10 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    await t.api.addFault({ server: "dataverse", path: "CreateMultiple", status: 429, retryAfter: 1, times: 3 });
    const outcomes = await burst(300, (i) => ({ payload: { name: `storm ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    assert.equal((await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("storm ")).length, 300);
  });

  it("an execution-time 429 halves the bulk size", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    await t.api.addFault({ server: "dataverse", path: "CreateMultiple", status: 429, code: "0x80072321", retryAfter: 1, times: 1 });
    const outcomes = await burst(400, (i) => ({ payload: { name: `shrink ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    const sizes = (await bulkRequests("CreateMultiple")).filter((r) => r.status === 204 || r.status === 200).map((r) => r.operations);
    assert.ok(sizes[0] <= 50, `the first bulk after the 429 carried ${sizes[0]}`);
    assert.ok(Math.max(...sizes) <= 100);
  });

  it("bulk off sends every write alone", async () => {
    await t.api.setConfig({ latencyMs: 10 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection({ bulk: "off" }) });
    const outcomes = await burst(50, (i) => ({ payload: { name: `alone ${i}` } }));
    assert.deepEqual(caught(outcomes), []);
    assert.equal((await bulkRequests("CreateMultiple")).length, 0);
    assert.equal((await t.api.requests()).filter((r) => r.method === "POST" && r.path.endsWith("/accounts")).length, 50);
  });

  it("sends no ARRAffinity cookie, so requests spread over the web servers", async () => {
    await t.api.setConfig({ webServers: 2 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")]);
    await burst(20, (i) => ({ payload: { name: `spread ${i}` } }));
    const requests = (await t.api.requests()).filter((r) => r.server === "dataverse");
    assert.ok(
      requests.every((r) => !r.headers.cookie),
      "no cookie sent",
    );
    const servers = (await t.api.stats()).servers as Array<{ requests: number }>;
    assert.ok(
      servers.every((s) => s.requests > 0),
      JSON.stringify(servers),
    );
  });

  it("a redeploy while bulk requests are in flight ends each message once", async () => {
    await t.api.setConfig({ latencyMs: 50 });
    await loadFlow(t.emu, [writer("dataverse-create", "accounts")], { connection: slowConnection() });
    const done = collect(300, 30_000);
    for (let i = 0; i < 300; i++) helper.getNode("w").receive({ seq: i, payload: { name: `redeploy ${i}` } });
    await new Promise((r) => setTimeout(r, 150));
    await helper.getNode("w").close(false);
    const outcomes = await done;
    assert.deepEqual(
      outcomes.map((o) => o.msg.seq).sort((a, b) => a - b),
      [...Array(300).keys()],
    );
    const written = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("redeploy "));
    const confirmed = outcomes.filter((o) => o.kind === "out");
    assert.ok(written.length >= confirmed.length, "every confirmed row exists");
    assert.equal(new Set(written.map((r) => r.name)).size, written.length, "no duplicates");
  });
});
