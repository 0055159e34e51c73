/**
 * The Node-RED scenarios: a real embedded Node-RED runtime (require("node-red"), RED.init/start, no
 * HTTP server) loading this package from the repository the way `npm start` does (nodesDir), with
 * the core nodes from @node-red/nodes. Every flow is
 *
 *   inject → fan-out (function) → <what is measured> → counter (function)      catch → errors (function)
 *
 * The fan-out sends one batch of messages at once; the counter and the error function report to a
 * probe object the runtime hands to function nodes through functionGlobalContext.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { writeHeapSnapshot } from "node:v8";
import {
  controlClient,
  isQueryScenario,
  isSustainedScenario,
  maxRssMb,
  PHASE_PREFIX,
  QUERY_PAGE_SIZE,
  QUERY_TABLE,
  startTimedPhase,
  round,
  sampleRss,
  sleep,
  SUSTAINED_DEVICES,
  sustainedParts,
  type ScenarioResult,
  type SustainedScenarioName,
  type ScenarioSpec,
} from "./common";

const root = path.resolve(__dirname, "..");

type FlowNode = Record<string, unknown>;

interface RuntimeNode {
  receive(msg: Record<string, unknown>): void;
}

interface EmbeddedRed {
  init(settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown; getNodeList(): Array<{ id: string; err?: unknown }> };
  events: { once(event: string, listener: (...args: unknown[]) => void): void; on(event: string, listener: (event: unknown) => void): void };
  hooks: { add(name: string, hook: (event: never) => void): void };
}

/** What the flow's function nodes call (global.get("bench")). */
class Probe {
  batch = { start: 0, count: 0 };
  ok = 0;
  errors = 0;
  firstError?: string;
  private target = 0;
  private finished?: () => void;

  /** Query scenarios: rows that made it through. */
  rowCount = 0;

  /** Query counter node: `count` rows arrived; `last` when the read ended with them. */
  rows(count: number, last: boolean): void {
    this.rowCount += count;
    if (last) this.done();
  }

  /** Sustained upserts: messages that left without their row's GUID in msg.rowId. */
  withoutId = 0;

  /** Counter node: one message made it through (`hasId` false: without a GUID in msg.rowId). */
  done(hasId = true): void {
    this.ok++;
    if (!hasId) this.withoutId++;
    this.check();
  }

  /** Catch node: one message failed. */
  failed(msg: { error?: { message?: unknown }; dataverse?: { status?: unknown; code?: unknown } }): void {
    this.errors++;
    if (this.firstError === undefined) {
      const dv = msg.dataverse ? ` [status ${String(msg.dataverse.status)} ${String(msg.dataverse.code ?? "")}]` : "";
      this.firstError = `${String(msg.error?.message ?? "unknown error").slice(0, 300)}${dv}`;
    }
    this.check();
  }

  /** Resolves once `count` more messages have ended (ok or error). */
  expect(count: number, timeoutMs: number): Promise<void> {
    this.target = this.ok + this.errors + count;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${this.ok + this.errors - (this.target - count)} of ${count} messages ended`)), timeoutMs);
      this.finished = () => {
        clearTimeout(timer);
        resolve();
      };
      this.check();
    });
  }

  private check(): void {
    if (this.finished && this.ok + this.errors >= this.target) {
      const finished = this.finished;
      this.finished = undefined;
      finished();
    }
  }
}

// ---- function node bodies (what a flow author would type) ----
// The rows are those of accountRow() in common.ts, which the plain script sends.

const FANOUT_CREATE = `const b = global.get("bench").batch;
const msgs = [];
for (let i = b.start; i < b.start + b.count; i++) {
    msgs.push({ payload: { name: "Bench account " + i, telephone1: "+1 555 0100", numberofemployees: i % 1000 } });
}
return [msgs];`;

const FANOUT_UPSERT = `const b = global.get("bench").batch;
const msgs = [];
for (let i = b.start; i < b.start + b.count; i++) {
    const serial = "SN-" + String(i % 500).padStart(4, "0");
    msgs.push({
        rowId: { dv_serialnumber: serial },
        payload: { dv_name: "Device " + serial, dv_temperature: 20 + (i % 100) / 10, dv_humidity: 40 + (i % 50) },
    });
}
return [msgs];`;

// The IoT flow of the sustained scenarios: every message is a reading of one of SUSTAINED_DEVICES devices,
// upserted by its serial number (the same serials as sustainedSerial() in common.ts).
const FANOUT_READINGS = `const b = global.get("bench").batch;
const msgs = [];
for (let i = b.start; i < b.start + b.count; i++) {
    const serial = "SN-" + String(i % ${SUSTAINED_DEVICES}).padStart(5, "0");
    msgs.push({
        rowId: { dv_serialnumber: serial },
        payload: { dv_name: "Device " + serial, dv_temperature: 20 + (i % 100) / 10, dv_humidity: 40 + (i % 50), dv_batterylevel: 100 - (i % 101) },
    });
}
return [msgs];`;

const COUNTER = `global.get("bench").done();
return null;`;

// The upsert by key sets msg.rowId to the row's GUID (README): counted when it does not.
const COUNTER_WITH_ID = `global.get("bench").done(typeof msg.rowId === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(msg.rowId));
return null;`;

// Counts the rows of a query, whatever the output: an array of rows (all, page) or one row; a read
// has ended with a message that has no msg.parts (all) or the last part (msg.parts.count).
const QUERY_COUNTER = `global.get("bench").rows(Array.isArray(msg.payload) ? msg.payload.length : 1, !msg.parts || msg.parts.count !== undefined);
return null;`;

const ERRORS = `global.get("bench").failed(msg);
return null;`;

// Classic blog style: a token request per message, then the Web API call with core http request nodes.
const TOKEN_REQUEST = `msg.row = msg.payload;
msg.method = "POST";
msg.url = env.get("DATAVERSE_AUTHORITY") + "/" + env.get("DATAVERSE_TENANT") + "/oauth2/v2.0/token";
msg.headers = { "Content-Type": "application/x-www-form-urlencoded" };
msg.payload = "grant_type=client_credentials"
    + "&client_id=" + encodeURIComponent(env.get("DATAVERSE_CLIENT_ID"))
    + "&client_secret=" + encodeURIComponent(env.get("DATAVERSE_CLIENT_SECRET"))
    + "&scope=" + encodeURIComponent(env.get("DATAVERSE_URL") + "/.default");
return msg;`;

const CALL_DATAVERSE = `if (msg.statusCode !== 200 || !msg.payload || !msg.payload.access_token) {
    node.error("token request failed: HTTP " + msg.statusCode, msg);
    return null;
}
msg.method = "POST";
msg.url = env.get("DATAVERSE_URL") + "/api/data/v9.2/accounts";
msg.headers = {
    "Authorization": "Bearer " + msg.payload.access_token,
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0"
};
msg.payload = msg.row;
delete msg.row;
return msg;`;

const CHECK_CREATED = `if (msg.statusCode !== 204) {
    node.error("create failed: HTTP " + msg.statusCode + " " + String(msg.payload).slice(0, 200), msg);
    return null;
}
return msg;`;

// DynamicsWebApi in a function node, signed in with msal-node as its README shows.
const DWA_SETUP = (limit: number) => `const { DynamicsWebApi } = global.get("dynamicsWebApi");
const msal = global.get("msal");
const serverUrl = env.get("DATAVERSE_URL");
const cca = new msal.ConfidentialClientApplication({
    auth: {
        clientId: env.get("DATAVERSE_CLIENT_ID"),
        clientSecret: env.get("DATAVERSE_CLIENT_SECRET"),
        authority: env.get("DATAVERSE_AUTHORITY") + "/" + env.get("DATAVERSE_TENANT"),
        knownAuthorities: [env.get("DATAVERSE_AUTHORITY").replace(/^https:\\/\\//, "")]
    }
});
const acquireToken = async () => {
    try {
        return await cca.acquireTokenByClientCredential({ scopes: [serverUrl + "/.default"] });
    } catch (error) {
        throw new Error("Failed to acquire a token: " + error.message);
    }
};
context.set("api", new DynamicsWebApi({ serverUrl, dataApi: { version: "9.2" }, onTokenRefresh: acquireToken }));
${
  limit > 0
    ? `// At most ${limit} requests in flight, like the other clients (DynamicsWebApi has no limit of its own).
let active = 0;
const waiting = [];
context.set("limit", (job) => new Promise((resolve, reject) => {
    const go = () => {
        active++;
        job().then(resolve, reject).finally(() => {
            active--;
            const next = waiting.shift();
            if (next) next();
        });
    };
    if (active < ${limit}) go(); else waiting.push(go);
}));`
    : `context.set("limit", (job) => job());`
}`;

const DWA_CREATE = `const api = context.get("api");
context.get("limit")(() => api.create({ collection: "accounts", data: msg.payload })).then(
    (id) => {
        msg.rowId = id;
        node.send(msg);
        node.done();
    },
    (err) => node.error(err, msg)
);
return null;`;

// The same upsert by alternate key with DynamicsWebApi (its key syntax: "column='value'").
const DWA_UPSERT = `const api = context.get("api");
const key = Object.entries(msg.rowId).map(([k, v]) => k + "='" + String(v).replace(/'/g, "''") + "'").join(",");
context.get("limit")(() => api.upsert({ collection: "dv_iotdevices", key, data: msg.payload })).then(
    () => {
        node.send(msg);
        node.done();
    },
    (err) => node.error(err, msg)
);
return null;`;

// DynamicsWebApi's retrieveAll (every page, following @odata.nextLink), as its documentation shows.
const DWA_QUERY = `const api = context.get("api");
api.retrieveAll({ collection: "${QUERY_TABLE}", maxPageSize: ${QUERY_PAGE_SIZE} }).then(
    (response) => {
        msg.payload = response.value;
        node.send(msg);
        node.done();
    },
    (err) => node.error(err, msg)
);
return null;`;

function functionNode(id: string, func: string, wires: string[], initialize = ""): FlowNode {
  return { id, type: "function", z: "tab", name: id, func, outputs: 1, timeout: 0, noerr: 0, initialize, finalize: "", libs: [], wires: [wires] };
}

function httpRequestNode(id: string, ret: "obj" | "txt", wires: string[]): FlowNode {
  return {
    id,
    type: "http request",
    z: "tab",
    name: id,
    method: "use",
    ret,
    paytoqs: "ignore",
    url: "",
    tls: "",
    persist: false,
    proxy: "",
    insecureHTTPParser: false,
    authType: "",
    senderr: false,
    headers: [],
    wires: [wires],
  };
}

function buildFlow(spec: ScenarioSpec): { flow: FlowNode[]; credentials: Record<string, unknown> } {
  const emu = spec.emulator;
  const common: FlowNode[] = [
    { id: "tab", type: "tab", label: "bench" },
    {
      id: "inject",
      type: "inject",
      z: "tab",
      name: "",
      props: [{ p: "payload" }],
      payload: "",
      payloadType: "date",
      repeat: "",
      crontab: "",
      once: false,
      onceDelay: 0.1,
      topic: "",
      wires: [["fanout"]],
    },
    functionNode("counter", COUNTER, []),
    { id: "catch", type: "catch", z: "tab", name: "", scope: null, uncaught: false, wires: [["errors"]] },
    functionNode("errors", ERRORS, []),
  ];
  const connection: FlowNode = {
    id: "conn",
    type: "dataverse-connection",
    name: "emulator",
    url: emu.dataverseUrl,
    tenant: emu.tenantId,
    cloud: "custom",
    authority: `https://${emu.authorityHost}`,
    authType: "secret",
    tls: "",
    concurrency: spec.concurrency,
    queueLimit: 20_000,
    maxThrottleWait: "",
    maxRetries: "",
    timeout: "",
    // The per-request scenarios compare the same requests as the plain script: one write per request.
    bulk: isSustainedScenario(spec.scenario) ? sustainedParts(spec.scenario).client : "off",
    bulkSize: "",
  };
  const credentials = { conn: { clientId: emu.clientId, clientSecret: emu.clientSecret } };
  switch (spec.scenario) {
    case "ours":
    case "rss":
      return {
        flow: [
          ...common,
          connection,
          functionNode("fanout", FANOUT_CREATE, ["create"]),
          {
            id: "create",
            type: "dataverse-create",
            z: "tab",
            name: "",
            connection: "conn",
            table: "accounts",
            tableType: "str",
            row: "payload",
            rowType: "msg",
            returnRow: false,
            wires: [["counter"]],
          },
        ],
        credentials,
      };
    case "ours-update":
      return {
        flow: [
          ...common,
          connection,
          functionNode("fanout", FANOUT_UPSERT, ["update"]),
          {
            id: "update",
            type: "dataverse-update",
            z: "tab",
            name: "",
            connection: "conn",
            table: "dv_iotdevices",
            tableType: "str",
            rowId: "rowId",
            rowIdType: "msg",
            row: "payload",
            rowType: "msg",
            mode: "upsert",
            returnRow: false,
            wires: [["counter"]],
          },
        ],
        credentials,
      };
    case "token-per-message":
      return {
        flow: [
          ...common,
          functionNode("fanout", FANOUT_CREATE, ["token-request"]),
          functionNode("token-request", TOKEN_REQUEST, ["http-token"]),
          httpRequestNode("http-token", "obj", ["call-dataverse"]),
          functionNode("call-dataverse", CALL_DATAVERSE, ["http-create"]),
          httpRequestNode("http-create", "txt", ["check-created"]),
          functionNode("check-created", CHECK_CREATED, ["counter"]),
        ],
        credentials: {},
      };
    case "query-ours":
    case "query-ours-all":
    case "query-rss":
      return {
        flow: [
          ...common.map((n) => (n.id === "inject" ? { ...n, wires: [["query"]] } : n.id === "counter" ? functionNode("counter", QUERY_COUNTER, []) : n)),
          connection,
          {
            id: "query",
            type: "dataverse-query",
            z: "tab",
            name: "",
            connection: "conn",
            queryType: "odata",
            table: QUERY_TABLE,
            tableType: "str",
            maxRows: "0",
            maxRowsType: "num",
            pageSize: String(QUERY_PAGE_SIZE),
            pageSizeType: "num",
            output: spec.scenario === "query-rss" ? "row" : spec.scenario === "query-ours-all" ? "all" : "page",
            count: false,
            formattedValues: false,
            wires: [["counter"]],
          },
        ],
        credentials,
      };
    case "query-dynamics-web-api":
      return {
        flow: [
          ...common.map((n) => (n.id === "inject" ? { ...n, wires: [["dwa-query"]] } : n.id === "counter" ? functionNode("counter", QUERY_COUNTER, []) : n)),
          functionNode("dwa-query", DWA_QUERY, ["counter"], DWA_SETUP(0)),
        ],
        credentials: {},
      };
    case "dynamics-web-api":
    case "dynamics-web-api-16":
      return {
        flow: [
          ...common,
          functionNode("fanout", FANOUT_CREATE, ["dwa-create"]),
          functionNode("dwa-create", DWA_CREATE, ["counter"], DWA_SETUP(spec.scenario === "dynamics-web-api-16" ? spec.concurrency : 0)),
        ],
        credentials: {},
      };
    case "sustained-upsert-off":
    case "sustained-upsert-auto":
    case "sustained-create-off":
    case "sustained-create-auto": {
      const upsert = sustainedParts(spec.scenario).write === "upsert";
      return {
        flow: [
          ...common.map((n) => (n.id === "counter" && upsert ? functionNode("counter", COUNTER_WITH_ID, []) : n)),
          connection,
          functionNode("fanout", upsert ? FANOUT_READINGS : FANOUT_CREATE, ["write"]),
          upsert
            ? {
                id: "write",
                type: "dataverse-update",
                z: "tab",
                name: "",
                connection: "conn",
                table: "dv_iotdevices",
                tableType: "str",
                rowId: "rowId",
                rowIdType: "msg",
                row: "payload",
                rowType: "msg",
                mode: "upsert",
                returnRow: false,
                wires: [["counter"]],
              }
            : {
                id: "write",
                type: "dataverse-create",
                z: "tab",
                name: "",
                connection: "conn",
                table: "accounts",
                tableType: "str",
                row: "payload",
                rowType: "msg",
                returnRow: false,
                wires: [["counter"]],
              },
        ],
        credentials,
      };
    }
    case "sustained-upsert-dynamics-web-api":
    case "sustained-create-dynamics-web-api": {
      const upsert = sustainedParts(spec.scenario).write === "upsert";
      return {
        flow: [
          ...common,
          functionNode("fanout", upsert ? FANOUT_READINGS : FANOUT_CREATE, ["dwa-write"]),
          functionNode("dwa-write", upsert ? DWA_UPSERT : DWA_CREATE, ["counter"], DWA_SETUP(spec.concurrency)),
        ],
        credentials: {},
      };
    }
    default:
      throw new Error(`not a Node-RED scenario: ${spec.scenario}`);
  }
}

export async function runNodeRed(spec: ScenarioSpec): Promise<ScenarioResult> {
  const control = controlClient(spec.emulator.dataverseUrl, spec.emulator.caPem);
  const runDir = path.join(root, ".run", "bench");
  mkdirSync(runDir, { recursive: true });
  const userDir = mkdtempSync(path.join(runDir, `${spec.scenario}-`));
  const { flow, credentials } = buildFlow(spec);
  // Flow nodes need a position (without one Node-RED takes them for config nodes).
  const placed = flow.map((n, i) => (n.z ? { x: 150 + 200 * (i % 6), y: 60 + 60 * Math.floor(i / 6), ...n } : n));
  writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(placed, null, 2));
  writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(credentials, null, 2));

  const probe = new Probe();
  const RED = require("node-red") as EmbeddedRed;
  RED.init({
    userDir,
    flowFile: "flows.json",
    credentialSecret: false,
    // BENCH_PACKAGE_DIR: benchmark another build of the package (a directory with its package.json).
    nodesDir: [path.resolve(root, process.env.BENCH_PACKAGE_DIR || ".")],
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    functionExternalModules: false,
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    telemetry: { enabled: false },
    // Messages that fail are counted by the catch node; one log line each would be measured too.
    logging: { console: { level: process.env.BENCH_LOG_LEVEL || "fatal", metrics: false, audit: false } },
    functionGlobalContext: {
      bench: probe,
      // What a settings.js would hand to function nodes for the DynamicsWebApi scenario.
      dynamicsWebApi: spec.scenario.includes("dynamics-web-api") ? require("dynamics-web-api") : undefined,
      msal: spec.scenario.includes("dynamics-web-api") ? require("@azure/msal-node") : undefined,
    },
  });
  // Flows with a node type Node-RED could not load never start: say which, instead of waiting.
  let timer: NodeJS.Timeout | undefined;
  const started = new Promise<void>((resolve, reject) => {
    RED.events.once("flows:started", () => resolve());
    RED.events.on("runtime-event", (event) => {
      const payload = (event as { payload?: { error?: string; types?: string[] } }).payload;
      if (payload?.error === "missing-types") {
        const loadErrors = RED.nodes
          .getNodeList()
          .filter((set) => set.err)
          .map((set) => `${set.id}: ${String(set.err)}`);
        reject(
          new Error(`the bench flow cannot start, missing node types: ${payload.types?.join(", ")}${loadErrors.length ? ` (${loadErrors.join("; ")})` : ""}`),
        );
      }
    });
    timer = setTimeout(() => reject(new Error("the bench flow did not start within 60 s")), 60_000);
  }).finally(() => clearTimeout(timer));
  try {
    await RED.start();
    await started;
  } catch (err) {
    rmSync(userDir, { recursive: true, force: true });
    throw err;
  }
  const inject = RED.nodes.getNode("inject") as RuntimeNode;

  const fire = (start: number, count: number, timeoutMs: number): Promise<void> => {
    probe.batch = { start, count };
    const ended = probe.expect(count, timeoutMs);
    inject.receive({});
    return ended;
  };

  try {
    if (isQueryScenario(spec.scenario)) return await measureQuery(spec, probe, fire, control);
    // Warm-up: sign-in, metadata, sockets, JIT.
    await fire(0, spec.warmup, 120_000);
    const warm = await control.stats();
    await control.resetStats();
    probe.ok = 0;
    probe.errors = 0;
    probe.withoutId = 0;
    probe.firstError = undefined;

    if (spec.scenario === "rss") return await measureRss(spec, probe, fire, RED, control, warm.tokenRequests);
    if (isSustainedScenario(spec.scenario)) return await measureSustained(spec, probe, fire, control, warm.tokenRequests);

    const endPhase = await startTimedPhase(`${spec.scenario}-${spec.latencyMs}ms`);
    const t0 = performance.now();
    await fire(spec.warmup, spec.messages, 240_000);
    const seconds = (performance.now() - t0) / 1000;
    const { cpuPercent } = await endPhase();
    return { ...measured(spec, probe, seconds, warm.tokenRequests, await control.stats()), peakRssMb: maxRssMb(), cpuPercent };
  } finally {
    await Promise.race([RED.stop(), sleep(20_000)]);
    rmSync(userDir, { recursive: true, force: true });
  }
}

/**
 * 20,000 messages at once against a slow emulator: all of them are queued (or done) at once, and RSS
 * is sampled while they wait. Stopping the flows afterwards ends the queued ones ("not sent").
 */
async function measureRss(
  spec: ScenarioSpec,
  probe: Probe,
  fire: (start: number, count: number, timeoutMs: number) => Promise<void>,
  RED: EmbeddedRed,
  control: ReturnType<typeof controlClient>,
  warmTokens: number,
): Promise<ScenarioResult> {
  // Messages that reached the create node; those it refused (queue full) end at once as errors.
  let received = 0;
  RED.hooks.add("onReceive.bench", (event: { destination: { id: string } }) => {
    if (event.destination.id === "create") received++;
  });
  const baselineRssMb = round(process.memoryUsage.rss() / 1048576, 1);
  const sampler = sampleRss(50);
  const t0 = performance.now();
  fire(spec.warmup, spec.messages, 3_600_000).catch(() => undefined); // never awaited: sampling ends first
  await sleep(spec.sampleMs ?? 8_000);
  const { peakMb, samples } = sampler.stop();
  const seconds = (performance.now() - t0) / 1000;
  const heapUsedMb = round(process.memoryUsage().heapUsed / 1048576, 1);
  const peakRssMb = maxRssMb();
  // BENCH_HEAP_SNAPSHOT=<dir>: what the queued messages hold on to (open in Chrome DevTools, Memory).
  if (process.env.BENCH_HEAP_SNAPSHOT) {
    mkdirSync(process.env.BENCH_HEAP_SNAPSHOT, { recursive: true });
    writeHeapSnapshot(path.join(process.env.BENCH_HEAP_SNAPSHOT, `rss-${process.pid}.heapsnapshot`));
  }
  return {
    ...measured(spec, probe, seconds, warmTokens, await control.stats()),
    peakRssMb,
    accounted: received - probe.errors,
    heapUsedMb,
    baselineRssMb,
    sampledPeakRssMb: peakMb,
    rssSamples: samples,
  };
}

/**
 * Sustained writes: the window is filled first (spec.prefill, the load of the five minutes before, in
 * emulated time), then one fan-out of `messages` writes is timed to its last message, RSS sampled
 * throughout. The parent reads the request log and the table afterwards (not in this process, whose
 * RSS is measured).
 */
async function measureSustained(
  spec: ScenarioSpec,
  probe: Probe,
  fire: (start: number, count: number, timeoutMs: number) => Promise<void>,
  control: ReturnType<typeof controlClient>,
  warmTokens: number,
): Promise<ScenarioResult> {
  if (spec.prefill) {
    // The parent fills the window meanwhile (bench/prefill.ts), and says when it is done.
    process.stdout.write(`${PHASE_PREFIX}prefill\n`);
    await lineFromParent("go");
  }
  const window = (await control.stats()).servers[0];
  await control.resetStats();
  await control.clearRequests();
  const baselineRssMb = round(process.memoryUsage.rss() / 1048576, 1);
  const sampler = sampleRss(50);
  const endPhase = await startTimedPhase(`${spec.scenario}`);
  const t0 = performance.now();
  // BENCH_HEAP_SNAPSHOT=<dir>: what the flow holds 5 s into the fan-out, and once every message has ended.
  const snapshot = (label: string) => {
    if (!process.env.BENCH_HEAP_SNAPSHOT) return;
    mkdirSync(process.env.BENCH_HEAP_SNAPSHOT, { recursive: true });
    writeHeapSnapshot(path.join(process.env.BENCH_HEAP_SNAPSHOT, `${spec.scenario}-${label}-${process.pid}.heapsnapshot`));
  };
  const midway = setTimeout(() => snapshot("5s"), 5000);
  await fire(spec.warmup, spec.messages, 600_000);
  clearTimeout(midway);
  const seconds = (performance.now() - t0) / 1000;
  snapshot("end");
  const { cpuPercent } = await endPhase();
  const { peakMb, peakHeapMb, samples } = sampler.stop();
  const stats = await control.stats();
  return {
    ...measured(spec, probe, seconds, warmTokens, stats),
    windowAtEnd: { requests: stats.servers[0].windowRequests, executionMs: stats.servers[0].windowExecutionMs },
    ...(sustainedParts(spec.scenario as SustainedScenarioName).write === "upsert" ? { withoutRowId: probe.withoutId } : {}),
    peakRssMb: maxRssMb(),
    cpuPercent,
    baselineRssMb,
    sampledPeakRssMb: peakMb,
    sampledPeakHeapMb: peakHeapMb,
    rssSamples: samples,
    windowAtStart: { requests: window.windowRequests, executionMs: window.windowExecutionMs },
  };
}

/** Resolves when the parent writes `line` to this process's stdin. */
function lineFromParent(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    const onData = (chunk: string) => {
      text += chunk;
      if (text.split("\n").includes(line)) {
        process.stdin.off("data", onData);
        process.stdin.pause();
        resolve();
      }
    };
    process.stdin.on("data", onData);
    process.stdin.once("end", () => reject(new Error(`the parent closed stdin before saying ${line}`)));
  });
}

/**
 * Query scenarios: every read sends one message to the flow's start, which reads the whole table.
 * Throughput: one warm-up read, then `reads` reads timed back to back, rows per second. query-rss:
 * one read (no warm-up, whose garbage would count too), RSS sampled throughout; the target is the
 * process's peak.
 */
async function measureQuery(
  spec: ScenarioSpec,
  probe: Probe,
  fire: (start: number, count: number, timeoutMs: number) => Promise<void>,
  control: ReturnType<typeof controlClient>,
): Promise<ScenarioResult> {
  const rss = spec.scenario === "query-rss";
  const read = () => fire(0, 1, 600_000);
  let warmTokens = 0;
  if (!rss) {
    await read();
    warmTokens = (await control.stats()).tokenRequests;
    await control.resetStats();
  }
  probe.ok = 0;
  probe.errors = 0;
  probe.rowCount = 0;
  probe.firstError = undefined;
  const reads = rss ? 1 : (spec.reads ?? 1);
  const baselineRssMb = round(process.memoryUsage.rss() / 1048576, 1);
  const sampler = sampleRss(50);
  const endPhase = await startTimedPhase(`${spec.scenario}-${spec.latencyMs}ms`);
  const t0 = performance.now();
  for (let i = 0; i < reads; i++) await read();
  const seconds = (performance.now() - t0) / 1000;
  const { cpuPercent } = await endPhase();
  const { peakMb, peakHeapMb, samples } = sampler.stop();
  const stats = await control.stats();
  return {
    ...measured(spec, probe, seconds, warmTokens, stats),
    messages: reads * (spec.tableRows ?? 0),
    warmup: rss ? 0 : (spec.tableRows ?? 0),
    rate: round(probe.rowCount / seconds),
    rowsRead: probe.rowCount,
    peakRssMb: maxRssMb(),
    cpuPercent,
    ...(rss
      ? {
          baselineRssMb,
          sampledPeakRssMb: peakMb,
          sampledPeakHeapMb: peakHeapMb,
          rssSamples: samples,
          heapUsedMb: round(process.memoryUsage().heapUsed / 1048576, 1),
        }
      : {}),
  };
}

/** What every Node-RED scenario reports: counts, rate, and what the emulator saw. */
function measured(
  spec: ScenarioSpec,
  probe: Probe,
  seconds: number,
  warmTokens: number,
  stats: { tokenRequests: number; dataverseRequests: number; peakConcurrency: number },
): Omit<ScenarioResult, "peakRssMb"> {
  return {
    scenario: spec.scenario,
    latencyMs: spec.latencyMs,
    messages: spec.messages,
    warmup: spec.warmup,
    ok: probe.ok,
    errors: probe.errors,
    seconds: round(seconds, 3),
    rate: round(probe.ok / seconds),
    tokenRequests: warmTokens + stats.tokenRequests,
    dataverseRequests: stats.dataverseRequests,
    peakConcurrency: stats.peakConcurrency,
    ...(probe.firstError ? { firstError: probe.firstError } : {}),
  };
}
