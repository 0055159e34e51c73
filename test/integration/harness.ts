/**
 * A real Node-RED runtime (node-red-node-test-helper) with the compiled package, real msal-node and
 * axios, talking HTTPS to the project's emulator on 127.0.0.1. The emulator's CA is trusted the way a
 * user trusts a private CA: NODE_EXTRA_CA_CERTS, set by scripts/test.ts before this process started.
 */
import https from "node:https";
import { after, afterEach, before, beforeEach } from "node:test";
import helper from "node-red-node-test-helper";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { nodeRedMain, nodeRedRequire } from "../node-red";

export { helper };

// The compiled files Node-RED itself loads (npm test builds first), and the core change and function nodes.
export const nodes = [
  nodeRedRequire("@node-red/nodes/core/function/15-change.js"),
  nodeRedRequire("@node-red/nodes/core/function/10-function.js"),
  nodeRedRequire("@node-red/nodes/core/sequence/17-split.js"),
  require("../../nodes/dataverse-connection.js"),
  require("../../nodes/dataverse-whoami.js"),
  require("../../nodes/dataverse-retrieve.js"),
  require("../../nodes/dataverse-create.js"),
  require("../../nodes/dataverse-update.js"),
  require("../../nodes/dataverse-delete.js"),
  require("../../nodes/dataverse-query.js"),
  require("../../nodes/dataverse-batch.js"),
  require("../../nodes/dataverse-relate.js"),
  require("../../nodes/dataverse-action.js"),
  require("../../nodes/dataverse-file.js"),
  require("../../nodes/dataverse-changes.js"),
];

// Node-RED 4 from the root, or the Node-RED of npm test's second pass (test/node-red.ts).
helper.init(nodeRedMain);

export function startTestEmulator(): Promise<RunningEmulator> {
  return startEmulator({ caDir: process.env.DATAVERSE_TEST_CA_DIR, quiet: true });
}

export type Msg = Record<string, any>;
export type FlowNode = Record<string, unknown>;

export function connectionNode(emu: RunningEmulator, overrides: FlowNode = {}): FlowNode {
  return {
    id: "conn",
    type: "dataverse-connection",
    name: "emulator",
    url: emu.dataverseUrl,
    tenant: emu.tenantId,
    cloud: "custom",
    authority: emu.authorityHost,
    authType: "secret",
    ...overrides,
  };
}

export function credentialsFor(emu: RunningEmulator, overrides: Record<string, string> = {}): Record<string, Record<string, string>> {
  return { conn: { clientId: emu.clientId, clientSecret: emu.clientSecret, ...overrides } };
}

export interface LoadOptions {
  connection?: FlowNode | null;
  credentials?: Record<string, Record<string, string>>;
}

/**
 * Loads the given action nodes on one tab, with a helper node "out" and a catch node feeding helper
 * "caught". Wire the last action node to "out".
 */
export async function loadFlow(emu: RunningEmulator, actionNodes: FlowNode[], options: LoadOptions = {}): Promise<void> {
  const connection = options.connection === undefined ? connectionNode(emu) : options.connection;
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "test" },
    ...(connection ? [connection] : []),
    ...actionNodes.map((n) => ({ z: "tab", name: "", ...n })),
    { id: "out", type: "helper", z: "tab", wires: [] },
    { id: "catch-all", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab", wires: [] },
  ];
  await helper.load(nodes, flow as Parameters<typeof helper.load>[1], options.credentials ?? credentialsFor(emu));
}

export interface Outcome {
  kind: "out" | "caught";
  msg: Msg;
}

/** Sends one message into a node and resolves with where it ended: the output or a Catch node. */
export function run(nodeId: string, msg: Msg, timeoutMs = 15_000): Promise<Outcome> {
  const results = collect(1, timeoutMs);
  helper.getNode(nodeId).receive(msg);
  return results.then((all) => all[0]);
}

/** Resolves once `count` messages reached "out" or "caught", in arrival order. */
export function collect(count: number, timeoutMs = 30_000): Promise<Outcome[]> {
  const out = helper.getNode("out");
  const caught = helper.getNode("caught");
  const seen: Outcome[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out: ${seen.length} of ${count} messages arrived`));
    }, timeoutMs);
    const onOut = (msg: Msg) => record({ kind: "out", msg });
    const onCaught = (msg: Msg) => record({ kind: "caught", msg });
    function record(outcome: Outcome) {
      seen.push(outcome);
      if (seen.length === count) {
        stop();
        resolve(seen);
      }
    }
    function stop() {
      clearTimeout(timer);
      out.removeListener("input", onOut);
      caught.removeListener("input", onCaught);
    }
    out.on("input", onOut);
    caught.on("input", onCaught);
  });
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The emulator's HTTP control API (the same one a test in another process would use). */
export function control(emu: RunningEmulator) {
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(`${emu.dataverseUrl}/_emulator/${path}`, { method, headers: { "content-type": "application/json" } }, (r) => {
        let text = "";
        r.setEncoding("utf8");
        r.on("data", (c) => (text += c));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
    if (res.status >= 400) throw new Error(`control ${method} ${path}: ${res.status} ${res.text}`);
    return res.text ? JSON.parse(res.text) : undefined;
  };
  return {
    reset: () => call("POST", "reset"),
    seed: (table: string, rows: unknown[]) => call("POST", "seed", { table, rows }),
    rows: (table: string): Promise<Msg[]> => call("GET", `rows/${table}`).then((r) => (Array.isArray(r) ? r : (r.rows ?? r.value))),
    requests: (): Promise<Msg[]> => call("GET", "requests").then((r) => (Array.isArray(r) ? r : (r.requests ?? r.value))),
    clearRequests: () => call("DELETE", "requests"),
    invalidateTokens: () => call("POST", "tokens/invalidate"),
    stats: () => call("GET", "stats"),
    resetStats: () => call("DELETE", "stats"),
    faults: (): Promise<Msg[]> => call("GET", "faults").then((r) => (Array.isArray(r) ? r : (r.faults ?? r.value))),
    setConfig: (config: Record<string, unknown>) => call("PATCH", "config", config),
    addFault: (fault: Record<string, unknown>) => call("POST", "faults", fault),
    clearFaults: () => call("DELETE", "faults"),
  };
}

/**
 * For a test file: the emulator started once, reset before each test, the flow unloaded after each.
 * Read `emu` and `api` inside tests (they exist once the file's `before` has run).
 */
export function useTestEmulator(): { readonly emu: RunningEmulator; readonly api: ReturnType<typeof control> } {
  const state = {} as { emu: RunningEmulator; api: ReturnType<typeof control> };
  before(async () => {
    state.emu = await startTestEmulator();
    state.api = control(state.emu);
  });
  after(() => state.emu.close());
  beforeEach(() => state.api.reset());
  afterEach(() => helper.unload());
  return state;
}
