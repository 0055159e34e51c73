// dataverse-changes in a real Node-RED against the emulator: change tracking, the modifiedon
// fallback, expired tokens, throttling, closing, and a restart of Node-RED with a file context store.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { startNodeRed, type RunningNodeRed } from "../installed-node-red";
import { connectionNode, credentialsFor, helper, loadFlow, useTestEmulator, type Msg } from "./harness";

const t = useTestEmulator();

const changesNode = (extra: Record<string, unknown> = {}) => ({
  id: "c",
  type: "dataverse-changes",
  connection: "conn",
  table: "accounts",
  select: "name",
  interval: "3600",
  startFrom: "now",
  fallback: "",
  wires: [["out"]],
  ...extra,
});

/** Node-RED's log levels (its log module's numbers). */
const [ERROR, WARN] = [20, 30];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Status = { fill?: string; shape?: string; text?: string };

/** Resolves with the next status of the node that ends a poll (not the blue "requesting"). */
function pollEnded(id = "c", timeoutMs = 30_000): Promise<Status> {
  const node = helper.getNode(id) as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeListener("call:status", onStatus);
      reject(new Error("no poll ended in time"));
    }, timeoutMs);
    function onStatus(call: { args: [Status] }) {
      const status = call.args[0];
      // Not "requesting" (blue), nor the connection's throttling pause drawn over it.
      if (!status.fill || status.fill === "blue" || /throttled/.test(status.text ?? "")) return;
      clearTimeout(timer);
      node.removeListener("call:status", onStatus);
      resolve(status);
    }
    node.on("call:status", onStatus);
  });
}

/** Node-RED hands messages on in later turns of the event loop: waits until they stop arriving. */
async function settle(seen: { out: Msg[]; caught: Msg[] }): Promise<void> {
  let count = -1;
  while (count !== seen.out.length + seen.caught.length) {
    count = seen.out.length + seen.caught.length;
    await sleep(30);
  }
}

/** Every message at the output and at the Catch node from now on. */
function record(): { out: Msg[]; caught: Msg[] } {
  const seen = { out: [] as Msg[], caught: [] as Msg[] };
  helper.getNode("out").on("input", (msg: Msg) => seen.out.push(msg));
  helper.getNode("caught").on("input", (msg: Msg) => seen.caught.push(msg));
  current = seen;
  return seen;
}

/** Loads the node and waits for its first poll (the start point for startFrom now). */
async function deploy(extra: Record<string, unknown> = {}): Promise<{ seen: ReturnType<typeof record>; first: Status }> {
  await loadFlow(t.emu, [changesNode(extra)]);
  const seen = record();
  const first = await pollEnded();
  await settle(seen);
  return { seen, first };
}

let current: { out: Msg[]; caught: Msg[] } = { out: [], caught: [] };

/** Sends an input message (poll now) and waits for that poll to end and its messages to arrive. */
async function pollNow(): Promise<Status> {
  const ended = pollEnded();
  helper.getNode("c").receive({ payload: "poll" });
  const status = await ended;
  await settle(current);
  return status;
}

describe("dataverse-changes", () => {
  it("startFrom now: sends each create, update and delete once, in order, when a message asks", async () => {
    const { seen, first } = await deploy();
    assert.equal(first.fill, "green", first.text);
    assert.equal(seen.out.length, 0, "the rows there at deploy are not sent");
    const { ids } = t.emu.control.seed("accounts", [{ name: "Created" }]);
    t.emu.control.seed("accounts", [{ accountid: SEED_IDS.fabrikamAccount, name: "Fabrikam updated" }]);
    t.emu.control.deleteRow("accounts", SEED_IDS.northwindAccount);
    const started = Date.now();
    await pollNow();
    assert.ok(Date.now() - started < 5000, "the input message polled at once, not after the hour-long interval");
    assert.deepEqual(
      seen.out.map((m) => [m.dataverse.change, m.rowId, m.payload.name]),
      [
        ["upsert", ids[0], "Created"],
        ["upsert", SEED_IDS.fabrikamAccount, "Fabrikam updated"],
        ["delete", SEED_IDS.northwindAccount, undefined],
      ],
    );
    const [created, , deleted] = seen.out;
    assert.deepEqual(created.dataverse, { status: 200, change: "upsert", table: "accounts", rowId: ids[0], requestId: created.dataverse.requestId });
    assert.deepEqual(Object.keys(created.payload).sort(), ["@odata.etag", "accountid", "name"]);
    assert.deepEqual(deleted.payload, { accountid: SEED_IDS.northwindAccount });
    assert.equal(deleted.dataverse.change, "delete");
    await pollNow();
    assert.equal(seen.out.length, 3, "nothing is sent twice");
    const sent = (await t.api.requests()).filter((r) => r.path.endsWith("/accounts"));
    assert.match(sent[0].headers.prefer, /odata\.track-changes/);
    assert.ok(
      sent.slice(1).every((r) => /\$deltatoken=/.test(r.query)),
      "later polls follow the delta link",
    );
  });

  it("startFrom all: every existing row first, then changes", async () => {
    const { seen } = await deploy({ startFrom: "all", select: "" });
    const rows = await t.api.rows("accounts");
    assert.deepEqual(new Set(seen.out.map((m) => m.rowId)), new Set(rows.map((r) => r.accountid)));
    assert.ok(
      seen.out.every((m) => m.dataverse.change === "upsert" && "telephone1" in m.payload),
      "no select: all columns",
    );
    t.emu.control.seed("accounts", [{ name: "Later" }]);
    await pollNow();
    assert.equal(seen.out.length, rows.length + 1);
    assert.equal(seen.out.at(-1)!.payload.name, "Later");
  });

  it("pages a large change set through @odata.nextLink", async () => {
    const { seen } = await deploy();
    t.emu.control.seedMany("accounts", 5200, { name: "Bulk {n}" });
    await pollNow();
    assert.equal(seen.out.length, 5200);
    assert.equal(new Set(seen.out.map((m) => m.rowId)).size, 5200);
    assert.equal(seen.out.at(-1)!.payload.name, "Bulk 5200");
    const deltas = (await t.api.requests()).filter((r) => /\$deltatoken=/.test(r.query));
    assert.ok(
      deltas.some((r) => /\$skiptoken=/.test(r.query)),
      "the second page came through the next link",
    );
  });

  it("a table without change tracking: a clear error at Catch and in the status, and polling goes on", async () => {
    const { seen, first } = await deploy({ table: "dv_iotdevices", select: "dv_name" });
    assert.equal(first.fill, "red");
    assert.match(first.text!, /400/);
    assert.equal(seen.caught.length, 1);
    const error = seen.caught[0];
    assert.equal(error.dataverse.code, "0x80072491");
    assert.match(error.error.message, /Change tracking is off for table 'dv_iotdevices'.*Track changes.*fallback to modifiedon/);
    const again = await pollNow();
    assert.equal(again.fill, "red", "it keeps polling (and reports to the message that asked)");
    assert.equal(seen.caught.length, 2);
  });

  it("fallback modifiedon: reads by modifiedon, sends each change once, cannot see deletes", async () => {
    const { seen, first } = await deploy({ table: "dv_iotdevices", select: "dv_name", fallback: "modifiedon" });
    assert.equal(first.fill, "green", first.text);
    assert.equal(seen.out.length, 0);
    const { ids } = t.emu.control.seed("dv_iotdevices", [{ dv_name: "Sensor A", dv_serialnumber: "SN-A" }]);
    await pollNow();
    assert.deepEqual(
      seen.out.map((m) => [m.dataverse.change, m.rowId, m.payload.dv_name]),
      [["upsert", ids[0], "Sensor A"]],
    );
    assert.equal("modifiedon" in seen.out[0].payload, false, "modifiedon is read, but only sent when selected");
    // Changed again within the same second: still seen (gt would miss it), and once.
    t.emu.control.seed("dv_iotdevices", [{ dv_iotdeviceid: ids[0], dv_name: "Sensor A2", dv_serialnumber: "SN-A" }]);
    await pollNow();
    await pollNow();
    assert.deepEqual(
      seen.out.map((m) => m.payload.dv_name),
      ["Sensor A", "Sensor A2"],
    );
    t.emu.control.deleteRow("dv_iotdevices", ids[0]);
    await pollNow();
    assert.equal(seen.out.length, 2, "a delete is not seen by modifiedon");
    const reads = (await t.api.requests()).filter((r) => r.path.includes("/dv_iotdevices"));
    assert.ok(reads.some((r) => decodeURIComponent(r.query).includes("$filter=modifiedon ge ")));
  });

  it("an expired token: starts over from now, says so in the status and the log, and goes on", async () => {
    const { seen } = await deploy();
    await t.emu.control.ageChangeTokens(8);
    t.emu.control.seed("accounts", [{ name: "In the gap" }]);
    const status = await pollNow();
    assert.equal(status.fill, "yellow");
    assert.match(status.text!, /tokenExpired/);
    assert.equal(seen.out.length, 0, "the rows of the new first read are not sent again");
    const warned = helper.log().args.filter((a: any[]) => a[0]?.level === WARN && /tokenExpired/.test(String(a[0].msg)));
    assert.equal(warned.length, 1);
    t.emu.control.seed("accounts", [{ name: "After" }]);
    await pollNow();
    assert.deepEqual(
      seen.out.map((m) => m.payload.name),
      ["After"],
    );
  });

  it("a 429 during a poll waits and goes on through the connection's scheduler", async () => {
    const { seen } = await deploy();
    t.emu.control.seed("accounts", [{ name: "Throttled" }]);
    await t.api.addFault({ server: "dataverse", method: "GET", path: "/accounts", status: 429, retryAfter: 1, times: 1 });
    const status = await pollNow();
    assert.equal(status.fill, "green", status.text);
    assert.deepEqual(
      seen.out.map((m) => m.payload.name),
      ["Throttled"],
    );
    const statuses = (await t.api.requests()).filter((r) => r.path.includes("/accounts")).map((r) => r.status);
    assert.deepEqual(statuses.slice(-2), [429, 200]);
  });

  it("polls every interval, and closing leaves no timer and no poll behind", async () => {
    const { seen } = await deploy({ interval: "5" });
    t.emu.control.seed("accounts", [{ name: "By the timer" }]);
    await pollEnded("c", 8000);
    await settle(seen);
    assert.deepEqual(
      seen.out.map((m) => m.payload.name),
      ["By the timer"],
    );
    const node = helper.getNode("c") as unknown as NodeJS.EventEmitter;
    let calls = 0;
    node.on("call:status", () => calls++);
    await helper.unload();
    await t.api.clearRequests();
    calls = 0;
    await sleep(5500);
    assert.equal(calls, 0, "no poll ran after close");
    assert.deepEqual(await t.api.requests(), []);
  });

  it("bad settings: an interval under 5 seconds or an unknown startFrom is an error, and nothing is sent", async () => {
    for (const extra of [{ interval: "2" }, { startFrom: "yesterday" }]) {
      await loadFlow(t.emu, [changesNode(extra)]);
      await sleep(100);
      const errors = helper.log().args.filter((a: any[]) => a[0]?.level === ERROR);
      assert.match(String(errors.at(-1)?.[0].msg), "interval" in extra ? /interval must be a whole number from 5/ : /startFrom must be now or all/);
      await helper.unload();
    }
    assert.deepEqual(
      (await t.api.requests()).filter((r) => r.path.includes("/accounts")),
      [],
    );
  });
});

describe("dataverse-changes across a restart of Node-RED", () => {
  it("with a file context store, each change made before or during the restart is delivered exactly once", { timeout: 240_000 }, async () => {
    const userDir = mkdtempSync(path.join(tmpdir(), "dv-changes-restart-"));
    const lines = path.join(userDir, "changes.jsonl");
    // The package as Node-RED finds an installed one: in the user dir's node_modules.
    mkdirSync(path.join(userDir, "node_modules"));
    symlinkSync(path.resolve(__dirname, "..", ".."), path.join(userDir, "node_modules", "node-red-contrib-dataverse"), "dir");
    writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true }));
    writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(restartFlow(lines)));
    writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(credentialsFor(t.emu)));
    // A memory default and a file store beside it: the node picks the persistent one.
    const settings = { credentialSecret: false, contextStorage: { default: { module: "memory" }, file: { module: "localfilesystem" } } };
    const delivered = (): Msg[] =>
      existsSync(lines)
        ? readFileSync(lines, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [];
    let nodeRed: RunningNodeRed | undefined;
    try {
      nodeRed = await startNodeRed(userDir, settings);
      await until(() => t.emu.control.requests().some((r) => r.path.endsWith("/accounts") && r.status === 200), "the first read", nodeRed);
      const { ids } = t.emu.control.seed("accounts", [{ name: "Before the restart" }]);
      await fetch(`${nodeRed.base}/inject/poll`, { method: "POST" });
      await until(() => delivered().length === 1, "the first change", nodeRed);
      await nodeRed.stop();
      assert.ok(readdirSync(path.join(userDir, "context")).length > 0, "the position was written to the file store");

      t.emu.control.seed("accounts", [{ accountid: SEED_IDS.fabrikamAccount, name: "During the restart" }]);
      t.emu.control.deleteRow("accounts", SEED_IDS.northwindAccount);
      nodeRed = await startNodeRed(userDir, settings);
      await until(() => delivered().length >= 3, "the changes made while Node-RED was stopped", nodeRed);
      await fetch(`${nodeRed.base}/inject/poll`, { method: "POST" });
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(
        delivered().map((m) => [m.change, m.accountid, m.name]),
        [
          ["upsert", ids[0], "Before the restart"],
          ["upsert", SEED_IDS.fabrikamAccount, "During the restart"],
          ["delete", SEED_IDS.northwindAccount, undefined],
        ],
      );
    } finally {
      await nodeRed?.stop();
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});

/** An inject node to poll, the trigger, and each change appended to a file as one JSON line. */
function restartFlow(file: string): Record<string, unknown>[] {
  return [
    { id: "tab", type: "tab", label: "changes" },
    connectionNode(t.emu),
    { id: "poll", type: "inject", z: "tab", props: [{ p: "payload" }], payload: "", payloadType: "date", repeat: "", once: false, wires: [["c"]] },
    { ...changesNode(), z: "tab", wires: [["line"]] },
    {
      id: "line",
      type: "change",
      z: "tab",
      rules: [{ t: "set", p: "payload.change", pt: "msg", to: "dataverse.change", tot: "msg" }],
      wires: [["to-file"]],
    },
    {
      id: "to-file",
      type: "file",
      z: "tab",
      filename: file,
      filenameType: "str",
      appendNewline: true,
      createDir: true,
      overwriteFile: "false",
      encoding: "none",
      wires: [],
    },
  ];
}

async function until(check: () => boolean, what: string, nodeRed: RunningNodeRed, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`waited in vain for ${what}\n${nodeRed.output()}`);
    await sleep(100);
  }
}
