// The scheduler under faults, in a real Node-RED against the emulator. Every test checks that each
// message is accounted for: it reached the output or a Catch node, exactly once.
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { collect, connectionNode, control, helper, loadFlow, type Msg, type Outcome, run, startTestEmulator } from "./harness";

let emu: RunningEmulator;
let api: ReturnType<typeof control>;
const escaped: unknown[] = [];
const recordEscape = (reason: unknown) => escaped.push(reason);

before(async () => {
  emu = await startTestEmulator();
  api = control(emu);
  process.on("unhandledRejection", recordEscape);
  process.on("uncaughtException", recordEscape);
});
after(async () => {
  await emu.close();
  process.off("unhandledRejection", recordEscape);
  process.off("uncaughtException", recordEscape);
  // An error escaping a handler would have taken Node-RED down.
  assert.deepEqual(escaped.map(String), [], "no unhandled rejection or exception in any path");
});
beforeEach(async () => {
  await api.reset();
  await api.setConfig({ requestLimit: 1_000_000, executionTimeLimitMs: 1e9 });
});
afterEach(() => helper.unload());

function createNode(id: string, wires = [["out"]], extra: Record<string, unknown> = {}) {
  return { id, type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires, ...extra };
}

/** Sends `count` messages numbered by msg.seq, alternating between the given nodes. */
async function burst(nodeIds: string[], count: number, timeoutMs = 120_000, payload = (i: number) => ({ name: `msg ${i}` })): Promise<Outcome[]> {
  const done = collect(count, timeoutMs);
  for (let i = 0; i < count; i++) helper.getNode(nodeIds[i % nodeIds.length]).receive({ seq: i, payload: payload(i) });
  return done;
}

/** Each message exactly once. */
function accountedFor(outcomes: Outcome[], count: number): void {
  const seen = outcomes.map((o) => o.msg.seq as number).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    Array.from({ length: count }, (_, i) => i),
    "every message arrived exactly once",
  );
}

function errorsOf(outcomes: Outcome[]): Msg[] {
  return outcomes.filter((o) => o.kind === "caught").map((o) => o.msg);
}

describe("throughput and limits", () => {
  it("2,000 messages from two nodes on one connection: no 429 reaches Catch, concurrency stays within the setting, one token", async () => {
    await api.setConfig({ concurrencyLimit: 8, latencyMs: 2 });
    await loadFlow(emu, [createNode("a"), createNode("b")]);
    const outcomes = await burst(["a", "b"], 2000);
    accountedFor(outcomes, 2000);
    assert.deepEqual(
      errorsOf(outcomes).map((m) => m.error.message),
      [],
    );
    const stats = await api.stats();
    assert.ok(stats.peakConcurrency <= 8, `peak concurrency ${stats.peakConcurrency}`);
    assert.equal(stats.tokenRequests, 1);
    const rows = (await api.rows("accounts")).filter((r) => String(r.name).startsWith("msg "));
    assert.equal(rows.length, 2000);
  });

  it("Dataverse's x-ms-dop-hint lowers the concurrency", async () => {
    await api.setConfig({ dopHint: 2, latencyMs: 20 });
    await loadFlow(emu, [createNode("a")]);
    await run("a", { seq: 0, payload: { name: "first" } }); // the hint arrives with the first answers
    await api.resetStats();
    const outcomes = await burst(["a"], 40);
    accountedFor(outcomes, 40);
    assert.ok((await api.stats()).peakConcurrency <= 2);
  });

  it("a full queue refuses messages at once with a clear error, and loses none", async () => {
    await api.setConfig({ latencyMs: 200 });
    await loadFlow(emu, [createNode("a")], { connection: connectionNode(emu, { concurrency: 1, queueLimit: 10 }) });
    await run("a", { seq: -1, payload: { name: "warm-up" } });
    const outcomes = await burst(["a"], 30);
    accountedFor(outcomes, 30);
    const refused = errorsOf(outcomes);
    assert.ok(refused.length >= 15, `${refused.length} refused`);
    for (const msg of refused) {
      assert.equal(msg.dataverse.code, "QueueFull");
      assert.equal(msg.dataverse.retryable, true);
      assert.match(msg.error.message, /Queue full: 10 messages are already waiting/);
    }
  });
});

describe("service protection (429)", () => {
  for (const code of ["0x80072322", "0x80072321", "0x80072326"]) {
    it(`${code} with Retry-After: 2 pauses the whole connection, then everything succeeds`, async () => {
      await loadFlow(emu, [createNode("a"), createNode("b")]);
      await run("a", { seq: -1, payload: { name: "warm-up" } });
      await api.clearRequests();
      await api.addFault({ server: "dataverse", method: "POST", status: 429, code, retryAfter: 2, times: 2 });
      const started = Date.now();
      const outcomes = await burst(["a", "b"], 20, 60_000);
      accountedFor(outcomes, 20);
      assert.deepEqual(
        errorsOf(outcomes).map((m) => m.error.message),
        [],
      );
      const log = (await api.requests()).filter((r) => r.server === "dataverse");
      const throttles = log.filter((r) => r.status === 429);
      assert.ok(throttles.length >= 1, "the emulator throttled");
      for (const t of throttles) {
        // Requests already on their way when the 429 left the emulator may still arrive (at most the
        // connection's concurrency, within moments); nothing new is sent until Retry-After has passed.
        const inTransit = log.filter((r) => r.startedAt > t.endedAt && r.startedAt <= t.endedAt + 100);
        assert.ok(inTransit.length <= 8, `${inTransit.length} requests arrived right after the 429`);
        const early = log.filter((r) => r.startedAt > t.endedAt + 100 && r.startedAt < t.endedAt + 2000 - 50);
        assert.deepEqual(
          early.map((r) => `${r.method} ${r.path} at +${Math.round(r.startedAt - t.endedAt)} ms`),
          [],
          "nothing was sent before Retry-After passed",
        );
      }
      assert.ok(Date.now() - started >= 2000);
      const status = (helper.getNode("a") as any).status.args.map((a: any[]) => a[0]);
      assert.ok(
        status.some((s: any) => s.fill === "yellow" && /throttled/.test(s.text)),
        "the node showed the pause",
      );
    });
  }

  it("gives up with a retryable error after the maximum throttle wait", async () => {
    await api.addFault({ server: "dataverse", path: "WhoAmI", status: 429, retryAfter: 3 });
    await loadFlow(emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      connection: connectionNode(emu, { maxThrottleWait: 1 }),
    });
    const { kind, msg } = await run("w", { seq: 0 });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 429);
    assert.equal(msg.dataverse.retryable, true);
    assert.match(msg.error.message, /service protection/);
  });
});

describe("tokens", () => {
  it("tokens revoked mid-burst: exactly one more token request, and every message succeeds", async () => {
    await api.setConfig({ latencyMs: 5 });
    // Small bulk requests, so the burst is still many requests when the tokens are revoked.
    await loadFlow(emu, [createNode("a")], { connection: connectionNode(emu, { bulkSize: 10 }) });
    const done = collect(300, 60_000);
    for (let i = 0; i < 300; i++) helper.getNode("a").receive({ seq: i, payload: { name: `t ${i}` } });
    // Mid-burst: some rows are written (bulk writes carry many rows per request).
    while ((await api.stats()).rowsCreated < 50) await new Promise((r) => setTimeout(r, 5));
    await api.invalidateTokens();
    const outcomes = await done;
    accountedFor(outcomes, 300);
    assert.deepEqual(
      errorsOf(outcomes).map((m) => m.error.message),
      [],
    );
    assert.equal((await api.stats()).tokenRequests, 2);
  });

  it("a token endpoint that answers 503 is retried with backoff", async () => {
    await api.addFault({ server: "login", method: "POST", status: 503, times: 2 });
    await loadFlow(emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }]);
    const outcomes = await burst(["w"], 5, 30_000);
    accountedFor(outcomes, 5);
    assert.deepEqual(
      errorsOf(outcomes).map((m) => m.error.message),
      [],
    );
    assert.equal((await api.stats()).tokenRequests, 3);
  });
});

describe("transient faults", () => {
  it("5% 503 and 5% connection resets before processing over 1,000 creates: 1,000 rows, all succeed", async () => {
    await api.addFault({ server: "dataverse", method: "POST", status: 503, probability: 0.05 });
    await api.addFault({ server: "dataverse", method: "POST", action: "reset-before", probability: 0.05 });
    // 10 retries: with 10% failing attempts, one of 1,000 messages failing 6 times in a row is not rare enough.
    // Bulk requests of two: enough requests for both faults to happen often, and combined writes under faults.
    await loadFlow(emu, [createNode("a")], { connection: connectionNode(emu, { concurrency: 16, maxRetries: 10, bulkSize: 2 }) });
    const outcomes = await burst(["a"], 1000, 180_000, (i) => ({ name: `fault ${i}` }));
    accountedFor(outcomes, 1000);
    assert.deepEqual(
      errorsOf(outcomes).map((m) => m.error.message),
      [],
    );
    const rows = (await api.rows("accounts")).filter((r) => String(r.name).startsWith("fault "));
    assert.equal(rows.length, 1000);
    assert.equal(new Set(rows.map((r) => r.name)).size, 1000);
    const faults = await api.faults();
    assert.ok(
      faults.every((f) => f.applied > 10),
      "both faults really happened",
    );
  });

  it("resets after the row was written never make a second row", async () => {
    await api.addFault({ server: "dataverse", method: "POST", action: "reset-after", probability: 0.2 });
    // Retries meet the same 20% (the 412 that confirms a row can be reset too): allow 10 of them.
    await loadFlow(emu, [createNode("a", [["out"]], { returnRow: true })], { connection: connectionNode(emu, { maxRetries: 10 }) });
    const outcomes = await burst(["a"], 200, 120_000, (i) => ({ name: `once ${i}` }));
    accountedFor(outcomes, 200);
    assert.deepEqual(
      errorsOf(outcomes).map((m) => m.error.message),
      [],
    );
    const rows = (await api.rows("accounts")).filter((r) => String(r.name).startsWith("once "));
    assert.equal(rows.length, 200, "no duplicates");
    for (const { msg } of outcomes) assert.equal(msg.payload.accountid, msg.rowId, "the row it reports is its own");
    const faults = await api.faults();
    assert.ok(faults[0].applied >= 10, `resets happened: ${faults[0].applied}`);
  });

  it("requests that hang end by the timeout and are retried", async () => {
    await api.addFault({ server: "dataverse", path: "WhoAmI", action: "hang", times: 1 });
    await loadFlow(emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      connection: connectionNode(emu, { timeout: 1 }),
    });
    const started = Date.now();
    const { kind } = await run("w", { seq: 0 });
    assert.equal(kind, "out");
    assert.ok(Date.now() - started >= 1000);
  });

  it("a request that always hangs fails after its retries with a clear timeout error", async () => {
    await api.addFault({ server: "dataverse", path: "WhoAmI", action: "hang" });
    await loadFlow(emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      connection: connectionNode(emu, { timeout: 1, maxRetries: 1 }),
    });
    const { kind, msg } = await run("w", { seq: 0 }, 20_000);
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /No answer from 127\.0\.0\.1:\d+ within 1 s.*gave up after 2 tries/);
    assert.equal(msg.dataverse.retryable, true);
  });
});

describe("closing and redeploying", () => {
  it("a redeploy with 1,000 messages in flight: each ends once (done, or 'not sent' at Catch), no duplicates, Node-RED keeps running", async () => {
    await api.setConfig({ latencyMs: 20 });
    const flow = (name: string) => [
      { id: "tab", type: "tab", label: "test" },
      { ...connectionNode(emu), name },
      { ...createNode("a"), z: "tab", name: "" },
      { id: "out", type: "helper", z: "tab", wires: [] },
      { id: "catch-all", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "tab", wires: [] },
    ];
    const credentials = { conn: { clientId: emu.clientId, clientSecret: emu.clientSecret } };
    // Bulk requests of two, so 1,000 messages are still in flight when the redeploy comes.
    await loadFlow(emu, [createNode("a")], { connection: connectionNode(emu, { bulkSize: 2 }) });
    const done = collect(1000, 60_000);
    for (let i = 0; i < 1000; i++) helper.getNode("a").receive({ seq: i, payload: { name: `deploy ${i}` } });
    await new Promise((r) => setTimeout(r, 300));
    const redeployStarted = Date.now();
    // "Modified nodes" deploy of the connection: it and its users restart, the Catch node keeps running.
    await helper.setFlows(flow("renamed") as Parameters<typeof helper.setFlows>[0], "nodes", credentials);
    assert.ok(Date.now() - redeployStarted < 10_000, "the redeploy finished well inside Node-RED's 15 s");
    const outcomes = await done;
    accountedFor(outcomes, 1000);
    const succeeded = outcomes.filter((o) => o.kind === "out").length;
    const closed = errorsOf(outcomes);
    assert.ok(succeeded > 0 && closed.length > 0, `${succeeded} done, ${closed.length} ended by the redeploy`);
    for (const msg of closed) {
      assert.equal(msg.dataverse.code, "ConnectionClosed");
      assert.equal(msg.dataverse.retryable, true);
      assert.match(msg.error.message, /Not sent: the Dataverse connection was closed/);
    }
    const rows = (await api.rows("accounts")).filter((r) => String(r.name).startsWith("deploy "));
    assert.equal(rows.length, succeeded, "exactly the messages reported done were written");
    // the new flow works
    const after = await run("a", { seq: 5000, payload: { name: "after redeploy" } });
    assert.equal(after.kind, "out", after.msg.error?.message);
  });
});
