/**
 * `npm run bench`: the throughput and memory benchmark of issue 3. The emulator runs in a process of
 * its own; every scenario runs in a fresh child process against it and prints one JSON line; this
 * process resets the emulator between scenarios, prints the table and writes bench/results.md.
 *
 *   npm run bench                          everything (about 3 minutes), writes bench/results.md
 *   npm run bench -- --only plain,ours     some scenarios, nothing written
 *   npm run bench -- --only query          the query scenarios only (reading 100,000 and 200,000 rows)
 *   npm run bench -- --only sustained      the sustained-writes scenarios only (20,000 upserts and 20,000
 *                                          creates under the real service protection limits)
 *   npm run bench -- --only file           upload/download MB/s of a 24 MB file against a plain axios
 *                                          script (bench/file.ts), writes bench/results-file.md
 *   npm run bench -- --only trigger        the changes trigger: change → message latency at a 5 s interval
 *                                          and an idle trigger's requests per hour (bench/trigger.ts),
 *                                          writes bench/trigger-results.md
 *   npm run bench -- --latency 20          one latency, nothing written
 *   BENCH_CPU_PROF=.run/prof npm run bench -- --only ours --latency 0    a V8 CPU profile of each
 *                                          timed phase (open the .cpuprofile in Chrome DevTools)
 *   BENCH_HEAP_SNAPSHOT=.run/heap npm run bench -- --only rss           a heap snapshot with 20,000 queued
 *   BENCH_HEAP_PROF=.run/heap npm run bench -- --only query-rss         a sampling heap profile (every allocation) of each
 *                                          timed phase
 *   BENCH_PACKAGE_DIR=<dir>                another build of the package (a folder with package.json + nodes/);
 *                                          BENCH_PACKAGE_NOTE says what it is in results.md
 *   BENCH_SUSTAINED_TRACE=1                the sustained scenarios' timed phase second by second (request log)
 *   BENCH_SUSTAINED_TIME_SCALE=<n>         every sustained scenario at that time scale (for exploring)
 *   BENCH_SUSTAINED_PREFILL=0              sustained scenarios start with an empty window (a burst, not a steady state)
 *   BENCH_HEAP_SNAPSHOT=.run/heap npm run bench -- --only sustained-create-off   heap snapshots 5 s into the
 *                                          fan-out and at its end
 *   BENCH_NODE_ARGS="--max-old-space-size=160"   Node options for the measured processes
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeTrustBundle } from "../emulator";
import { PROXY_ENVIRONMENT } from "../src/client/proxy";
import { runFileBench } from "./file";
import { prefillWindow } from "./prefill";
import {
  controlClient,
  isQueryScenario,
  isSustainedScenario,
  PHASE_PREFIX,
  QUERY_PAGE_SIZE,
  QUERY_ROW_TEMPLATE,
  QUERY_TABLE,
  RESULT_PREFIX,
  SUSTAINED_DEVICES,
  sustainedParts,
  sustainedSerial,
  type ControlClient,
  type EmulatorInfo,
  type ScenarioName,
  type ScenarioResult,
  type ScenarioSpec,
  type SustainedClient,
  type SustainedScenarioName,
} from "./common";

const root = path.resolve(__dirname, "..");
const caDir = path.join(root, ".run", "bench-ca");

const CONCURRENCY = 16;
const LATENCIES = [20, 0];
/** Slow emulator of the memory scenario, and how many messages it queues. */
const RSS_LATENCY_MS = 200;
const RSS_MESSAGES = 20_000;
/** Rows in the table the query throughput scenarios read, how often each reads it (timed), and the rows of query-rss. */
const QUERY_ROWS = 100_000;
const QUERY_READS = 3;
const QUERY_RSS_ROWS = 200_000;

/**
 * The sustained-writes scenarios: the emulator's real limits (6,000 requests and 1,200 s of execution
 * time per 300-s window, 52 concurrent), a modelled server cost per request and per row, and time
 * compressed by a time scale so that a run takes seconds. Every connection setting is its default
 * (concurrency 8, bulk size 100) except bulk and the queue limit (20,000, so the fan-out fits).
 */
const SUSTAINED = {
  messages: 20_000,
  warmup: 200,
  /** Modelled server time of every request and of every row, emulated ms. */
  requestCostMs: 30,
  rowCostMs: 10,
  requestLimit: 6000,
  executionTimeLimitMs: 1_200_000,
  windowSeconds: 300,
  concurrency: 8,
  bulkSize: 100,
  /**
   * Time scale per client. Bulk off is held to 20 requests per emulated second, so its 20,000 rows
   * need 1,000 emulated seconds: 20 real seconds at 50. Bulk auto is allowed about 19 times as
   * many rows per emulated second, which at 50 would be more than these two cores can write; at 8 the
   * ceiling stays below what the machine does unthrottled, so the limits, not the CPU, decide.
   */
  timeScale: { off: 50, auto: 10, "dynamics-web-api": 50 } as Record<SustainedClient, number>,
};

/** Rows per emulated second the limits allow with B rows per request (B = 1: one write per request). */
function sustainedCeiling(rowsPerRequest: number): { rate: number; requestBound: number; executionBound: number } {
  const requestBound = (SUSTAINED.requestLimit / SUSTAINED.windowSeconds) * rowsPerRequest;
  const executionBound = SUSTAINED.executionTimeLimitMs / SUSTAINED.windowSeconds / (SUSTAINED.requestCostMs / rowsPerRequest + SUSTAINED.rowCostMs);
  return { rate: Math.min(requestBound, executionBound), requestBound, executionBound };
}

/** BENCH_SUSTAINED_TIME_SCALE=<n> runs every sustained scenario at that scale instead (for exploring). */
const sustainedTimeScale = (client: SustainedClient) => Number(process.env.BENCH_SUSTAINED_TIME_SCALE) || SUSTAINED.timeScale[client];

const rowsPerRequestOf = (client: SustainedClient) => (client === "auto" ? SUSTAINED.bulkSize : 1);

/**
 * What fills the window before the timed phase: the load of a client at the ceiling over the window
 * before (requests of B rows each, every one costing what such a request costs).
 */
function sustainedPrefill(client: SustainedClient): NonNullable<ScenarioSpec["prefill"]> {
  const rowsPerRequest = rowsPerRequestOf(client);
  const ceiling = sustainedCeiling(rowsPerRequest);
  // 99 % of the budget: the measured part of each request's execution time comes on top.
  const requests = Math.floor((0.99 * ceiling.rate * SUSTAINED.windowSeconds) / rowsPerRequest);
  return {
    requests,
    costMs: SUSTAINED.requestCostMs + SUSTAINED.rowCostMs * rowsPerRequest,
    spreadMs: (SUSTAINED.windowSeconds * 1000) / sustainedTimeScale(client),
  };
}

interface PlannedRun {
  scenario: ScenarioName;
  latencyMs: number;
  messages: number;
  warmup: number;
  sampleMs?: number;
  tableRows?: number;
  reads?: number;
  timeScale?: number;
  prefill?: ScenarioSpec["prefill"];
}

/** What each row means, for the table and results.md. */
const DESCRIPTIONS: Record<ScenarioName, string> = {
  plain: "plain script: axios + keep-alive, one msal token, pool of 16",
  "plain-https": "the same plain script with node:https instead of axios",
  ours: "Node-RED: fan-out → dataverse-create (concurrency 16) → counter",
  "ours-update": "Node-RED: fan-out → dataverse-update upsert by alternate key (500 devices)",
  "dynamics-web-api-16": "Node-RED: function node with DynamicsWebApi + msal-node, 16 in flight",
  "dynamics-web-api": "Node-RED: function node with DynamicsWebApi + msal-node, all at once",
  "token-per-message": "Node-RED: token request per message + http request nodes, all at once",
  rss: `Node-RED: ${RSS_MESSAGES.toLocaleString("en-US")} messages at once, ${RSS_LATENCY_MS} ms latency`,
  "query-plain": "plain script: axios + keep-alive, one msal token, following @odata.nextLink",
  "query-ours": "Node-RED: inject → dataverse-query (one message per page) → counter",
  "query-ours-all": "Node-RED: inject → dataverse-query (one message with all rows) → counter",
  "query-dynamics-web-api": "Node-RED: function node with DynamicsWebApi retrieveAll + msal-node → counter",
  "query-rss": `Node-RED: inject → dataverse-query (one message per row) → counter, ${QUERY_RSS_ROWS.toLocaleString("en-US")} rows`,
  "sustained-upsert-off": "Node-RED: fan-out → dataverse-update upsert by dv_serialnumber → counter, bulk off",
  "sustained-upsert-auto": "the same flow, bulk auto",
  "sustained-upsert-dynamics-web-api": "Node-RED: fan-out → function node with DynamicsWebApi upsert by key + msal-node, 8 in flight",
  "sustained-create-off": "Node-RED: fan-out → dataverse-create (accounts) → counter, bulk off",
  "sustained-create-auto": "the same flow, bulk auto",
  "sustained-create-dynamics-web-api": "Node-RED: fan-out → function node with DynamicsWebApi create + msal-node, 8 in flight",
};

function plan(): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const latencyMs of LATENCIES) {
    // 10,000 measured messages after a 500-message warm-up: one token must cover them all. The two
    // scenarios the targets compare run twice, interleaved, and the better run counts.
    for (const scenario of ["plain", "ours", "plain", "ours", "plain-https", "ours-update", "dynamics-web-api-16"] as const) {
      runs.push({ scenario, latencyMs, messages: 10_000, warmup: 500 });
    }
    // These send everything at once (one socket per message in flight): fewer messages.
    for (const scenario of ["dynamics-web-api", "token-per-message"] as const) runs.push({ scenario, latencyMs, messages: 3_000, warmup: 200 });
  }
  runs.push({ scenario: "rss", latencyMs: RSS_LATENCY_MS, messages: RSS_MESSAGES, warmup: 50, sampleMs: 8_000 });
  // Reading a whole table at 0 ms latency (pages come one after the other, so latency adds the same to
  // every client). The two the first target compares run twice, interleaved, and the better run counts.
  for (const scenario of ["query-plain", "query-ours", "query-plain", "query-ours", "query-ours-all", "query-dynamics-web-api"] as const) {
    runs.push({ scenario, latencyMs: 0, messages: QUERY_ROWS * QUERY_READS, warmup: QUERY_ROWS, tableRows: QUERY_ROWS, reads: QUERY_READS });
  }
  // Peak RSS depends on when V8 collects garbage: two runs, and the higher peak counts.
  for (let i = 0; i < 2; i++) runs.push({ scenario: "query-rss", latencyMs: 0, messages: QUERY_RSS_ROWS, warmup: 0, tableRows: QUERY_RSS_ROWS, reads: 1 });
  for (const write of ["upsert", "create"] as const) {
    for (const client of ["off", "auto", "dynamics-web-api"] as const) {
      runs.push({
        scenario: `sustained-${write}-${client}`,
        latencyMs: 0,
        messages: SUSTAINED.messages,
        warmup: SUSTAINED.warmup,
        timeScale: sustainedTimeScale(client),
        prefill: process.env.BENCH_SUSTAINED_PREFILL === "0" ? undefined : sustainedPrefill(client),
      });
    }
  }
  return runs;
}

function parseArgs(argv: string[]): { only?: Set<string>; latency?: number } {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const only = value("--only");
  const latency = value("--latency");
  return { only: only ? new Set(only.split(",")) : undefined, latency: latency === undefined ? undefined : Number(latency) };
}

/**
 * A child's environment: the trust bundle, no NODE_OPTIONS inherited from this tsx process, and no
 * proxy variables (a machine's npm proxy would put a proxy between the benchmark and the emulator).
 */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  for (const name of [...PROXY_ENVIRONMENT, "NODE_USE_ENV_PROXY"]) delete env[name];
  return env;
}

function startEmulatorProcess(): Promise<{ child: ChildProcess; info: EmulatorInfo }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "emulator-process.ts")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: childEnv({ BENCH_CA_DIR: caDir }),
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the emulator process exited (${code}) before it was ready`)));
    child.on("message", (message: { type?: string; info?: EmulatorInfo }) => {
      if (message.type === "ready" && message.info) resolve({ child, info: message.info });
    });
  });
}

function runScenario(spec: ScenarioSpec, bundle: string, emulatorPid: number, control: ControlClient): Promise<ScenarioResult> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : []),
      "--import",
      "tsx",
      path.join(__dirname, "scenario.ts"),
      JSON.stringify(spec),
    ],
    {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
      env: childEnv({
        ...(process.env.BENCH_CPU_PROF ? { BENCH_CPU_PROF: path.resolve(process.env.BENCH_CPU_PROF) } : {}),
        ...(process.env.BENCH_HEAP_SNAPSHOT ? { BENCH_HEAP_SNAPSHOT: path.resolve(process.env.BENCH_HEAP_SNAPSHOT) } : {}),
        ...(process.env.BENCH_HEAP_PROF ? { BENCH_HEAP_PROF: path.resolve(process.env.BENCH_HEAP_PROF) } : {}),
        NODE_EXTRA_CA_CERTS: bundle,
        DATAVERSE_URL: spec.emulator.dataverseUrl,
        DATAVERSE_CLOUD: "custom",
        DATAVERSE_AUTHORITY: `https://${spec.emulator.authorityHost}`,
        DATAVERSE_TENANT: spec.emulator.tenantId,
        DATAVERSE_CLIENT_ID: spec.emulator.clientId,
        DATAVERSE_CLIENT_SECRET: spec.emulator.clientSecret,
      }),
    },
  );
  let out = "";
  let phase: { at: number; cpuMs: number } | undefined;
  let emulatorCpuPercent: number | undefined;
  let prefilling = false;
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    out += chunk;
    // Sustained scenarios: the child has warmed up and waits while this process fills the window
    // (here, so that the measured process's RSS and CPU are not the prefill's).
    if (!prefilling && spec.prefill && out.includes(`${PHASE_PREFIX}prefill`)) {
      prefilling = true;
      prefillWindow(spec, control).then(
        () => child.stdin!.write("go\n"),
        (err: unknown) => {
          process.stderr.write(`prefill failed: ${err instanceof Error ? err.message : String(err)}\n`);
          child.kill("SIGKILL");
        },
      );
    }
    // The emulator's CPU time over the child's timed phase, read when the child marks it.
    if (!phase && out.includes(`${PHASE_PREFIX}start`)) phase = { at: performance.now(), cpuMs: cpuTimeMs(emulatorPid) };
    if (phase && emulatorCpuPercent === undefined && out.includes(`${PHASE_PREFIX}end`)) {
      emulatorCpuPercent = Math.round(((cpuTimeMs(emulatorPid) - phase.cpuMs) * 100) / (performance.now() - phase.at));
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  return new Promise((resolve, reject) => {
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const lines = out.split("\n");
      const line = lines.find((l) => l.startsWith(RESULT_PREFIX));
      const rest = lines.filter((l) => l && !l.startsWith(RESULT_PREFIX) && !l.startsWith(PHASE_PREFIX)).join("\n");
      if (rest) process.stderr.write(`${rest}\n`);
      if (!line) reject(new Error(`${spec.scenario} at ${spec.latencyMs} ms: no result (exit ${code ?? signal})`));
      else
        resolve({
          ...(JSON.parse(line.slice(RESULT_PREFIX.length)) as ScenarioResult),
          ...(Number.isFinite(emulatorCpuPercent) ? { emulatorCpuPercent } : {}),
        });
    });
  });
}

/** User + system CPU time of a process so far (Linux /proc), ms; NaN elsewhere. */
function cpuTimeMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return Number.NaN;
  }
}

/** Share of all cores busy over `ms` (Linux /proc/stat); undefined elsewhere. */
async function busyShare(ms: number): Promise<number | undefined> {
  const read = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await new Promise((r) => setTimeout(r, ms));
    const b = read();
    return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most `maxMs`) until other processes leave the cores alone, so a scenario does not start
 * in the middle of someone's test run. Returns the busy share it last saw.
 */
async function waitForQuiet(maxMs: number): Promise<number | undefined> {
  const until = Date.now() + maxMs;
  let busy = await busyShare(500);
  while (busy !== undefined && busy > 0.15 && Date.now() < until) busy = await busyShare(1000);
  return busy;
}

// ---- reporting ----

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function tokensPer10k(r: ScenarioResult): number {
  return (r.tokenRequests * 10_000) / (r.messages + r.warmup);
}

/**
 * One result per scenario and latency: the run with the highest rate, with every run's rate; for
 * query-rss (a memory target) the run with the highest peak RSS, with every run's peak.
 */
function bestRuns(results: ScenarioResult[]): ScenarioResult[] {
  const out: ScenarioResult[] = [];
  for (const r of results) {
    const i = out.findIndex((o) => o.scenario === r.scenario && o.latencyMs === r.latencyMs);
    if (i < 0) out.push({ ...r, runRates: [r.rate], runPeaks: [r.peakRssMb] });
    else {
      const better = r.scenario === "query-rss" ? r.peakRssMb > out[i].peakRssMb : r.rate > out[i].rate;
      out[i] = { ...(better ? r : out[i]), runRates: [...(out[i].runRates ?? []), r.rate], runPeaks: [...(out[i].runPeaks ?? []), r.peakRssMb] };
    }
  }
  return out;
}

/** CPU time the measured process spent per message in the timed phase, µs. */
function cpuPerMessage(r: ScenarioResult): number {
  return Math.round((((r.cpuPercent ?? 0) / 100) * r.seconds * 1e6) / Math.max(1, r.messages));
}

/** Ratios are shown rounded down, so a shown 0.90 never hides a miss of 0.9. */
function ratioText(value: number): string {
  return (Math.floor(value * 100 + 1e-9) / 100).toFixed(2);
}

function limitRate(latencyMs: number): number | undefined {
  return latencyMs > 0 ? (CONCURRENCY * 1000) / latencyMs : undefined;
}

function find(results: ScenarioResult[], scenario: ScenarioName, latencyMs: number): ScenarioResult | undefined {
  return results.find((r) => r.scenario === scenario && r.latencyMs === latencyMs);
}

function table(results: ScenarioResult[]): string {
  const head = [
    "Scenario",
    "Latency",
    "Messages",
    "msgs/s",
    "× limit",
    "× plain",
    "Errors",
    "Token requests",
    "Tokens per 10k msgs",
    "Peak concurrency",
    "Peak RSS (MB)",
    "CPU per msg (µs)",
    "CPU: client / emulator",
  ];
  const cpu = (r: ScenarioResult) => `${r.cpuPercent ?? "?"} % / ${r.emulatorCpuPercent ?? "?"} %`;
  const rows: string[][] = [];
  const perRequest = (r: ScenarioResult) => r.scenario !== "rss" && !isQueryScenario(r.scenario) && !isSustainedScenario(r.scenario);
  const latencies = [...new Set(results.filter(perRequest).map((r) => r.latencyMs))];
  for (const latencyMs of latencies) {
    const limit = limitRate(latencyMs);
    if (limit)
      rows.push([`limit: ${CONCURRENCY} ÷ ${latencyMs} ms`, `${latencyMs} ms`, "", fmt(limit), "1.00", "", "", "", "", String(CONCURRENCY), "", "", ""]);
    const plain = find(results, "plain", latencyMs);
    for (const r of results.filter((x) => x.latencyMs === latencyMs && perRequest(x))) {
      rows.push([
        r.scenario,
        `${latencyMs} ms`,
        fmt(r.messages),
        // The better run; the other runs' rates in brackets.
        [
          fmt(r.rate),
          ...(r.runRates && r.runRates.length > 1
            ? [
                `(${r.runRates
                  .filter((_x, i) => i !== r.runRates!.indexOf(r.rate))
                  .map((x) => fmt(x))
                  .join(", ")})`,
              ]
            : []),
        ].join(" "),
        limit ? ratioText(r.rate / limit) : "",
        plain ? ratioText(r.rate / plain.rate) : "",
        fmt(r.errors),
        fmt(r.tokenRequests),
        tokensPer10k(r) < 10 ? tokensPer10k(r).toFixed(2) : fmt(tokensPer10k(r)),
        // At 0 ms the emulator answers each request in one go, so it never has two in hand at once.
        latencyMs > 0 ? fmt(r.peakConcurrency) : "–",
        fmt(r.peakRssMb),
        fmt(cpuPerMessage(r)),
        cpu(r),
      ]);
    }
  }
  for (const r of results.filter((x) => x.scenario === "rss")) {
    rows.push([
      "rss (20,000 queued)",
      `${r.latencyMs} ms`,
      fmt(r.messages),
      "",
      "",
      "",
      fmt(r.errors),
      fmt(r.tokenRequests),
      "",
      fmt(r.peakConcurrency),
      `${fmt(r.peakRssMb)} (${fmt(r.baselineRssMb ?? 0)} before)`,
      "",
      "",
    ]);
  }
  return [`| ${head.join(" | ")} |`, `| ${head.map((_h, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** CPU time the measured process spent per 1,000 rows read in the timed phase, ms. */
function cpuPer1000Rows(r: ScenarioResult): number {
  return round1((((r.cpuPercent ?? 0) / 100) * r.seconds * 1e6) / Math.max(1, r.rowsRead ?? 0));
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function queryTable(results: ScenarioResult[]): string {
  const head = [
    "Scenario",
    "Rows read",
    "rows/s",
    "× plain",
    "× DynamicsWebApi",
    "Requests",
    "Errors",
    "Peak RSS (MB)",
    "CPU per 1,000 rows (ms)",
    "CPU: client / emulator",
  ];
  const plain = find(results, "query-plain", 0);
  const dwa = find(results, "query-dynamics-web-api", 0);
  const rows = results
    .filter((r) => isQueryScenario(r.scenario))
    .map((r) => {
      const rss = r.scenario === "query-rss";
      return [
        r.scenario,
        fmt(r.rowsRead ?? 0),
        [
          fmt(r.rate),
          ...(r.runRates && r.runRates.length > 1
            ? [
                `(${r.runRates
                  .filter((_x, i) => i !== r.runRates!.indexOf(r.rate))
                  .map((x) => fmt(x))
                  .join(", ")})`,
              ]
            : []),
        ].join(" "),
        plain && !rss ? ratioText(r.rate / plain.rate) : "",
        dwa && !rss ? ratioText(r.rate / dwa.rate) : "",
        fmt(r.dataverseRequests),
        fmt(r.errors),
        rss
          ? `${[r.peakRssMb, ...(r.runPeaks ?? []).filter((_x, i) => i !== r.runPeaks!.indexOf(r.peakRssMb))].map((x) => fmt(x, 1)).join(", ")} (${fmt(r.baselineRssMb ?? 0)} before the read)`
          : fmt(r.peakRssMb),
        String(cpuPer1000Rows(r)),
        `${r.cpuPercent ?? "?"} % / ${r.emulatorCpuPercent ?? "?"} %`,
      ];
    });
  return [`| ${head.join(" | ")} |`, `| ${head.map((_h, i) => (i < 1 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

// ---- sustained writes ----

function sustainedEntitySet(scenario: SustainedScenarioName): string {
  return sustainedParts(scenario).write === "upsert" ? "dv_iotdevices" : "accounts";
}

/** The timed phase as the emulator saw it (its request log), and the rows the scenario left in its table. */
async function sustainedFindings(control: ControlClient, r: ScenarioResult): Promise<ScenarioResult["sustained"]> {
  const scenario = r.scenario as SustainedScenarioName;
  const timeScale = sustainedTimeScale(sustainedParts(scenario).client);
  const log = (await control.requests()).filter((e) => e.server === "dataverse");
  const findings = {
    timeScale,
    requests: log.length,
    throttled: 0,
    bulkRequests: 0,
    bulkRows: 0,
    bulkMin: 0,
    bulkMax: 0,
    singleWrites: 0,
    reads: 0,
    modelledSeconds: 0,
    measuredSeconds: undefined as number | undefined,
    duplicates: 0,
    missing: 0,
    rowsInTable: 0,
  };
  const single = SUSTAINED.requestCostMs + SUSTAINED.rowCostMs;
  let modelledMs = 0;
  for (const e of log) {
    if (e.status === 429) {
      findings.throttled++;
      continue;
    }
    const operations = e.operations ?? 1;
    if (e.path.includes("Microsoft.Dynamics.CRM.") || e.path.endsWith("$batch")) {
      if (e.status < 400) {
        findings.bulkRequests++;
        findings.bulkRows += operations;
        findings.bulkMin = findings.bulkMin ? Math.min(findings.bulkMin, operations) : operations;
        findings.bulkMax = Math.max(findings.bulkMax, operations);
      }
      modelledMs += e.path.endsWith("$batch") ? operations * single : SUSTAINED.requestCostMs + SUSTAINED.rowCostMs * operations;
    } else {
      if (e.status < 400) {
        if (e.method === "GET") findings.reads++;
        else findings.singleWrites++;
      }
      modelledMs += single;
    }
  }
  if (process.env.BENCH_SUSTAINED_TRACE) traceLog(log);
  findings.modelledSeconds = round1(modelledMs / 1000);
  // The window held the prefill, spread evenly over it: in a phase shorter than the window, the share
  // phase ÷ window of it expired. What else the window gained is the phase's own execution time.
  const windowMs = (SUSTAINED.windowSeconds * 1000) / timeScale;
  const phaseMs = r.seconds * 1000;
  if (r.windowAtStart && r.windowAtEnd && phaseMs < windowMs) {
    const gained = r.windowAtEnd.executionMs - r.windowAtStart.executionMs * (1 - phaseMs / windowMs);
    findings.measuredSeconds = round1((gained - modelledMs) / 1000);
  }

  // One row per device (upserts) or per created name (creates), over the warm-up and the timed phase.
  const rows = await control.rows(sustainedEntitySet(scenario));
  findings.rowsInTable = rows.length;
  const upsert = sustainedParts(scenario).write === "upsert";
  const expected = new Set<string>();
  for (let i = 0; i < r.warmup + r.messages; i++) expected.add(upsert ? sustainedSerial(i).toLowerCase() : `Bench account ${i}`);
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = upsert ? String(row.dv_serialnumber ?? "").toLowerCase() : String(row.name ?? "");
    if (expected.has(key)) seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  for (const key of expected) {
    const n = seen.get(key) ?? 0;
    if (n === 0) findings.missing++;
    else findings.duplicates += n - 1;
  }
  return findings;
}

/**
 * BENCH_SUSTAINED_TRACE=1: the timed phase second by second, from the request log: requests,
 * 429s, write requests and the rows they carried, reads.
 */
function traceLog(log: Awaited<ReturnType<ControlClient["requests"]>>): void {
  if (!log.length) return;
  const t0 = log[0].startedAt;
  const buckets = new Map<number, { requests: number; throttled: number; writes: number; rows: number; reads: number; sizes: number[] }>();
  for (const e of log) {
    const second = Math.floor((e.startedAt - t0) / 1000);
    const b = buckets.get(second) ?? { requests: 0, throttled: 0, writes: 0, rows: 0, reads: 0, sizes: [] };
    b.requests++;
    if (e.status === 429) b.throttled++;
    else if (e.method === "GET") b.reads++;
    else {
      b.writes++;
      b.rows += e.operations ?? 1;
      b.sizes.push(e.operations ?? 1);
    }
    buckets.set(second, b);
  }
  for (const [second, b] of [...buckets].sort((x, y) => x[0] - y[0])) {
    process.stderr.write(
      `  t=${second}s requests ${b.requests} 429s ${b.throttled} writes ${b.writes} rows ${b.rows} reads ${b.reads} sizes ${b.sizes.slice(0, 40).join(",")}${b.sizes.length > 40 ? ",…" : ""}\n`,
    );
  }
}

/** Rows per emulated second: what a real environment would allow in the same time. */
const dataverseRate = (r: ScenarioResult) => r.rate / (r.sustained?.timeScale ?? 1);

function sustainedLine(r: ScenarioResult): string {
  const f = r.sustained!;
  return `${fmt(r.ok)} ok, ${fmt(r.rate)} rows/s (${fmt(dataverseRate(r), 1)} per emulated s, time scale ${f.timeScale}), ${fmt(f.requests)} requests (${fmt(f.throttled)} × 429, ${fmt(f.bulkRequests)} bulk of ${f.bulkMin}–${f.bulkMax} rows, ${fmt(f.singleWrites)} single writes, ${fmt(f.reads)} reads), ${r.errors} errors${r.withoutRowId ? ` (and ${fmt(r.withoutRowId)} messages without the row's GUID in msg.rowId)` : ""}, ${f.duplicates} duplicates, ${f.missing} missing, ${r.tokenRequests} token requests, peak RSS ${fmt(r.peakRssMb)} MB (${fmt(r.baselineRssMb ?? 0)} before the fan-out, sampled peak ${fmt(r.sampledPeakRssMb ?? 0)}, V8 heap in use at most ${fmt(r.sampledPeakHeapMb ?? 0)}), ${r.cpuPercent} % CPU; execution time modelled ${fmt(f.modelledSeconds)} s${f.measuredSeconds !== undefined ? ` + measured about ${fmt(f.measuredSeconds)} s` : ""}; window at start ${fmt(r.windowAtStart?.requests ?? 0)} requests, ${fmt((r.windowAtStart?.executionMs ?? 0) / 1000)} s`;
}

/** How the sustained scenarios work and where their ceilings come from (results.md). */
function sustainedMethod(): string {
  const S = SUSTAINED;
  const single = S.requestCostMs + S.rowCostMs;
  const bulk = S.requestCostMs + S.rowCostMs * S.bulkSize;
  const one = sustainedCeiling(1);
  const many = sustainedCeiling(S.bulkSize);
  const fill = (client: SustainedClient) => sustainedPrefill(client);
  const window = S.windowSeconds;
  return `**Sustained writes.** The emulator enforces Dataverse's service protection limits, per user and web server (one
here): ${fmt(S.requestLimit)} requests and ${fmt(S.executionTimeLimitMs / 1000)} s of execution time per ${window}-s sliding window, 52 requests at once.
Each request has a modelled server cost of ${S.requestCostMs} ms, plus ${S.rowCostMs} ms per row (\`requestCostMs\`, \`rowCostMs\`): a single
write costs ${single} ms, a bulk message of ${S.bulkSize} rows ${fmt(bulk)} ms, a \`$batch\` the sum of its requests; the emulator's own
processing time counts too. Latency is 0 ms. Time runs faster by the time scale *s*: the window lasts ${window}/*s* real
seconds, \`Retry-After\` is 5/*s* s (at least 1), measured processing time counts *s* times. Bulk off and DynamicsWebApi
run at *s* = ${S.timeScale.off} (their ${fmt(S.messages)} rows need ${fmt(S.messages / one.rate)} seconds of Dataverse time, ${fmt(S.messages / one.rate / S.timeScale.off)} real ones), bulk auto at
*s* = ${S.timeScale.auto}: at ${S.timeScale.off} its ceiling would be ${fmt(many.rate * S.timeScale.off)} rows per real second, more than two cores write; at ${S.timeScale.auto} it
is ${fmt(many.rate * S.timeScale.auto)}, well below the 9,700 upserts and 22,000 creates per second the same flows wrote with the limits
out of the way (measured with \`BENCH_SUSTAINED_TIME_SCALE=1000 BENCH_SUSTAINED_PREFILL=0\`), so the limits decide, not the CPU.
As long as that holds, the rate in Dataverse time does not depend on *s*. Each connection keeps its defaults
(concurrency ${S.concurrency}, bulk size ${S.bulkSize}) except *bulk* and a queue limit of 20,000 (the fan-out sends all ${fmt(S.messages)} at once).

**The ceiling.** With *B* rows per request, the request limit allows ${fmt(S.requestLimit)} / ${window} × *B* = ${fmt(S.requestLimit / window)} *B* rows per second
and the execution-time limit ${fmt(S.executionTimeLimitMs / 1000)} s / ${window} s = ${fmt(S.executionTimeLimitMs / 1000 / window)} s of execution per second, that is
${fmt(S.executionTimeLimitMs / window)} / (${S.requestCostMs}/*B* + ${S.rowCostMs}) rows per second; the ceiling is the smaller of the two. One row per request (bulk off,
DynamicsWebApi): min(${fmt(one.requestBound, 1)}, ${fmt(one.executionBound, 1)}) = **${fmt(one.rate, 1)} rows/s**, held by the request limit. ${S.bulkSize} rows per request (bulk auto):
min(${fmt(many.requestBound)}, ${fmt(many.executionBound, 1)}) = **${fmt(many.rate, 1)} rows/s**, held by execution time. Per real second, times *s*. Anything else a client
sends (table metadata, the reads that learn the ids of rows upserted by key) comes out of the same budgets.

**Steady state.** A window that starts empty lets a short run spend a whole window's budget at once (${fmt(S.executionTimeLimitMs / 1000)} s of
execution time is ${fmt((S.executionTimeLimitMs / bulk) * S.bulkSize)} rows in bulks of ${S.bulkSize}, far more than ${fmt(S.messages)}): that would measure a burst, not a sustained
rate. So each scenario first sends a warm-up of ${S.warmup} messages (sign-in, metadata), and then the benchmark's own process fills the window as
a client at the ceiling would have in the ${window} s before: a steady stream of WhoAmI requests over one window, each costing what
one request of that client costs, 99 % of the budget (one row per request: ${fmt(fill("off").requests)} requests of ${single} ms, the request budget full;
${S.bulkSize} rows: ${fmt(fill("auto").requests)} of ${fmt(bulk)} ms, the execution-time budget full). During the timed phase that load leaves the window at
the ceiling's pace, as it would in a steady state. The stream has its own token and runs in the benchmark's process while the
Node-RED process waits, so neither its token request nor its memory is counted. Then the fan-out sends the ${fmt(S.messages)} messages at
once, timed until the last one has ended. Afterwards the benchmark reads the emulator's request log (requests, 429s, rows per
write request, reads) and the table: one row per serial number for the upserts (${SUSTAINED_DEVICES} devices, each sending a reading every ${SUSTAINED_DEVICES}
messages), one per name for the creates, none twice and none missing. DynamicsWebApi ${dependencyVersion("dynamics-web-api")} (in a function node as in the create
scenarios, ${S.concurrency} requests in flight) does not retry a 429, so its throttled messages end at Catch; its rows/s counts the successful ones.
\`BENCH_SUSTAINED_TRACE=1\` prints the timed phase second by second from the request log (requests, 429s, rows per write request).`;
}

function sustainedTable(results: ScenarioResult[]): string {
  const head = [
    "Scenario",
    "Time scale",
    "Rows written",
    "Seconds",
    "rows/s",
    "rows/s in Dataverse time",
    "× ceiling",
    "× bulk off",
    "Requests",
    "429s",
    "Rows per write request",
    "Errors (Catch)",
    "Duplicate / missing rows",
    "Token requests",
    "Peak RSS (MB)",
    "CPU: client / emulator",
  ];
  const rows: string[][] = [];
  for (const write of ["upsert", "create"] as const) {
    const runs = results.filter((r) => isSustainedScenario(r.scenario) && sustainedParts(r.scenario).write === write);
    if (!runs.length) continue;
    const off = runs.find((r) => sustainedParts(r.scenario as SustainedScenarioName).client === "off");
    for (const b of [1, SUSTAINED.bulkSize]) {
      const c = sustainedCeiling(b);
      rows.push([
        `${write}: ceiling, ${b === 1 ? "one row" : `${b} rows`} per request`,
        "",
        "",
        "",
        "",
        fmt(c.rate, 1),
        "1.00",
        "",
        "",
        "",
        String(b),
        "",
        "",
        "",
        "",
        "",
      ]);
    }
    for (const r of runs) {
      const f = r.sustained!;
      const { client } = sustainedParts(r.scenario as SustainedScenarioName);
      const writeRequests = f.bulkRequests + f.singleWrites;
      rows.push([
        r.scenario,
        String(f.timeScale),
        fmt(r.ok),
        fmt(r.seconds, 1),
        fmt(r.rate),
        fmt(dataverseRate(r), 1),
        ratioText(dataverseRate(r) / sustainedCeiling(rowsPerRequestOf(client)).rate),
        off && off !== r ? ratioText(dataverseRate(r) / dataverseRate(off)) : "",
        `${fmt(f.requests)}${f.reads ? ` (${fmt(f.reads)} reads)` : ""}`,
        fmt(f.throttled),
        writeRequests ? fmt((f.bulkRows + f.singleWrites) / writeRequests, 1) : "",
        fmt(r.errors),
        `${fmt(f.duplicates)} / ${fmt(f.missing)}`,
        fmt(r.tokenRequests),
        fmt(r.peakRssMb),
        `${r.cpuPercent ?? "?"} % / ${r.emulatorCpuPercent ?? "?"} %`,
      ]);
    }
  }
  return [`| ${head.join(" | ")} |`, `| ${head.map((_h, i) => (i < 1 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

interface Target {
  name: string;
  measured: string;
  /** undefined: not measured, or only for information. */
  pass: boolean | undefined;
  info?: boolean;
}

function targets(results: ScenarioResult[]): Target[] {
  const out: Target[] = [];
  const ratio = (a?: ScenarioResult, b?: ScenarioResult) => (a && b && b.rate > 0 ? a.rate / b.rate : undefined);
  const clean = (...rs: Array<ScenarioResult | undefined>) => rs.every((r) => r && r.errors === 0);
  const add = (name: string, value: number | undefined, pass: (v: number) => boolean, show: (v: number) => string, ok = true) =>
    out.push({ name, measured: value === undefined ? "not measured" : show(value), pass: value === undefined ? undefined : pass(value) && ok });

  const ours20 = find(results, "ours", 20);
  const plain20 = find(results, "plain", 20);
  const ours0 = find(results, "ours", 0);
  const plain0 = find(results, "plain", 0);
  const dwa0 = find(results, "dynamics-web-api", 0);
  const dwa16 = find(results, "dynamics-web-api-16", 0);
  add(
    "20 ms: ours ≥ 0.9 × plain script",
    ratio(ours20, plain20),
    (v) => v >= 0.9,
    (v) => `${ratioText(v)} × (${fmt(ours20?.rate ?? 0)} vs ${fmt(plain20?.rate ?? 0)} msgs/s)`,
    clean(ours20),
  );
  add(
    "0 ms: ours ≥ 0.7 × plain script",
    ratio(ours0, plain0),
    (v) => v >= 0.7,
    (v) => `${ratioText(v)} × (${fmt(ours0?.rate ?? 0)} vs ${fmt(plain0?.rate ?? 0)} msgs/s)`,
    clean(ours0),
  );
  add(
    "0 ms: ours ≥ DynamicsWebApi in a function node",
    ratio(ours0, dwa0),
    (v) => v >= 1,
    (v) => `${ratioText(v)} × (${fmt(ours0?.rate ?? 0)} vs ${fmt(dwa0?.rate ?? 0)} msgs/s)`,
    clean(ours0),
  );
  const vs16 = ratio(ours0, dwa16);
  if (vs16 !== undefined) {
    out.push({
      name: "0 ms, not a target: ours vs DynamicsWebApi with a 16-request limit written into its function node",
      measured: `${ratioText(vs16)} × (${fmt(ours0?.rate ?? 0)} vs ${fmt(dwa16?.rate ?? 0)} msgs/s)`,
      pass: undefined,
      info: true,
    });
  }
  const ours = results.filter((r) => r.scenario === "ours" || r.scenario === "ours-update");
  const worstTokens = ours.length ? Math.max(...ours.map(tokensPer10k)) : undefined;
  add(
    "1 token request per 10,000 messages",
    worstTokens,
    (v) => v <= 1,
    (v) => `${v.toFixed(2)} (worst of ${ours.length} runs of ours, ${fmt((ours[0]?.messages ?? 0) + (ours[0]?.warmup ?? 0))} messages each)`,
  );
  const rss = find(results, "rss", RSS_LATENCY_MS);
  add(
    `peak RSS < 300 MB with ${fmt(RSS_MESSAGES)} queued`,
    rss?.peakRssMb,
    (v) => v < 300,
    (v) => `${fmt(v)} MB (${fmt(rss?.accounted ?? 0)} of ${fmt(RSS_MESSAGES)} queued, in flight or done)`,
    !!rss && (rss.accounted ?? 0) >= RSS_MESSAGES,
  );
  const qPlain = find(results, "query-plain", 0);
  const qOurs = find(results, "query-ours", 0);
  const qAll = find(results, "query-ours-all", 0);
  const qDwa = find(results, "query-dynamics-web-api", 0);
  const complete = (...rs: Array<ScenarioResult | undefined>) => rs.every((r) => r && r.errors === 0 && r.rowsRead === r.messages);
  const rowsPerSecond = (a?: ScenarioResult, b?: ScenarioResult) => `${fmt(a?.rate ?? 0)} vs ${fmt(b?.rate ?? 0)} rows/s`;
  add(
    `query ${fmt(QUERY_ROWS)} rows: ours ≥ 0.9 × plain script`,
    ratio(qOurs, qPlain),
    (v) => v >= 0.9,
    (v) => `${ratioText(v)} × (${rowsPerSecond(qOurs, qPlain)})`,
    complete(qOurs, qPlain),
  );
  add(
    `query ${fmt(QUERY_ROWS)} rows: ours ≥ DynamicsWebApi retrieveAll in a function node`,
    ratio(qOurs, qDwa),
    (v) => v >= 1,
    (v) => `${ratioText(v)} × (${rowsPerSecond(qOurs, qDwa)})`,
    complete(qOurs, qDwa),
  );
  const allVsPlain = ratio(qAll, qPlain);
  if (allVsPlain !== undefined) {
    out.push({
      name: "query, not a target: ours with one message holding all rows vs plain script",
      measured: `${ratioText(allVsPlain)} × (${rowsPerSecond(qAll, qPlain)})`,
      pass: undefined,
      info: true,
    });
  }
  const qRss = find(results, "query-rss", 0);
  add(
    `query ${fmt(QUERY_RSS_ROWS)} rows, one message per row: peak RSS < 300 MB`,
    qRss?.peakRssMb,
    (v) => v < 300,
    (v) => `${fmt(v, 1)} MB (the higher of ${qRss?.runPeaks?.length ?? 1} runs; ${fmt(qRss?.rowsRead ?? 0)} of ${fmt(QUERY_RSS_ROWS)} rows counted)`,
    complete(qRss),
  );
  for (const write of ["upsert", "create"] as const) {
    const off = find(results, `sustained-${write}-off`, 0);
    const auto = find(results, `sustained-${write}-auto`, 0);
    if (!off && !auto) continue;
    const what = write === "upsert" ? `${fmt(SUSTAINED.messages)} upserts by key` : `${fmt(SUSTAINED.messages)} creates`;
    const perSecond = (r?: ScenarioResult) => `${fmt(r ? dataverseRate(r) : 0, 1)} rows/s`;
    const complete = (r?: ScenarioResult) => !!r && r.ok === r.messages;
    add(
      `sustained ${what}: bulk auto ≥ 10 × bulk off`,
      off && auto ? dataverseRate(auto) / dataverseRate(off) : undefined,
      (v) => v >= 10,
      (v) => `${ratioText(v)} × (${perSecond(auto)} vs ${perSecond(off)} in Dataverse time)`,
      complete(off) && complete(auto),
    );
    const ceiling = sustainedCeiling(SUSTAINED.bulkSize).rate;
    add(
      `sustained ${what}: bulk auto ≥ 0.8 × the ceiling of ${SUSTAINED.bulkSize} rows per request`,
      auto ? dataverseRate(auto) / ceiling : undefined,
      (v) => v >= 0.8,
      (v) => `${ratioText(v)} × (${perSecond(auto)} vs ${fmt(ceiling, 1)} rows/s)`,
      complete(auto),
    );
    for (const [label, r] of [
      ["bulk off", off],
      ["bulk auto", auto],
    ] as const) {
      if (!r) continue;
      const f = r.sustained;
      add(
        `sustained ${what}, ${label}: 0 messages at Catch`,
        r.errors,
        (v) => v === 0,
        (v) => `${fmt(v)}${r.firstError ? ` (first: ${r.firstError})` : ""}`,
      );
      add(
        `sustained ${what}, ${label}: 0 duplicate rows`,
        f ? f.duplicates : undefined,
        (v) => v === 0 && f!.missing === 0,
        (v) =>
          `${fmt(v)} duplicates, ${fmt(f!.missing)} missing (${fmt(f!.rowsInTable)} rows in ${write === "upsert" ? `dv_iotdevices, one per device of ${fmt(SUSTAINED_DEVICES)}` : "accounts, one per name"})`,
      );
      add(
        `sustained ${what}, ${label}: 1 token request`,
        r.tokenRequests,
        (v) => v === 1,
        (v) => fmt(v),
      );
      if (r.withoutRowId !== undefined)
        out.push({
          name: `sustained ${what}, ${label}, not a target: messages that left without their row's GUID in msg.rowId`,
          measured: fmt(r.withoutRowId),
          pass: undefined,
          info: true,
        });
      // The memory target is bulk auto's; one request per message (bulk off) is shown, not judged.
      if (label === "bulk off")
        out.push({ name: `sustained ${what}, ${label}, not a target: peak RSS of Node-RED`, measured: `${fmt(r.peakRssMb)} MB`, pass: undefined, info: true });
      else
        add(
          `sustained ${what}, ${label}: peak RSS of Node-RED < 300 MB`,
          r.peakRssMb,
          (v) => v < 300,
          (v) => `${fmt(v)} MB`,
        );
    }
  }
  return out;
}

function targetLines(list: Target[]): string {
  return list.map((t) => `- ${t.info ? "(info)" : t.pass === undefined ? "—" : t.pass ? "**PASS**" : "**MISS**"} ${t.name}: ${t.measured}`).join("\n");
}

/** The commit measured, and whether the package's sources differ from it. */
function revision(): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "nodes"], { cwd: root, encoding: "utf8" }).trim();
    return dirty ? `commit ${sha} with uncommitted changes in src/ or nodes/` : `commit ${sha}`;
  } catch {
    return "an unknown commit";
  }
}

function machine(): string {
  const cpus = os.cpus();
  const nodeRedVersion = dependencyVersion("node-red");
  return `${cpus[0]?.model.trim() ?? "unknown CPU"} × ${cpus.length}, ${fmt(os.totalmem() / 2 ** 30, 1)} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}, Node-RED ${nodeRedVersion}`;
}

function resultsMarkdown(results: ScenarioResult[], list: Target[], seconds: number, loadBefore: number, busyStarts: number): string {
  const date = new Date().toISOString().slice(0, 10);
  const notes = results
    .filter((r) => r.firstError)
    .map((r) => `- ${r.scenario} at ${r.latencyMs} ms, first error: ${r.firstError!.replace(/\s+/g, " ")}`)
    .join("\n");
  return `# Benchmark results

Measured ${date} at ${revision()} on ${machine()}, by \`npm run bench\` (${Math.round(seconds)} s; load average ${loadBefore.toFixed(2)} before it started${
    busyStarts ? `; ${busyStarts} scenario(s) started while other processes kept the CPU busy` : ""
  }).${
    process.env.BENCH_PACKAGE_DIR
      ? `\n\n**The package was loaded from \`${path.relative(root, path.resolve(process.env.BENCH_PACKAGE_DIR))}\` (BENCH_PACKAGE_DIR), not from this checkout's \`nodes/\`**${process.env.BENCH_PACKAGE_NOTE ? `: ${process.env.BENCH_PACKAGE_NOTE.replace(/\.?$/, ".")}` : "."}`
      : ""
  }

${table(results)}

Rows: ${Object.entries(DESCRIPTIONS)
    .filter(([name]) => !isQueryScenario(name as ScenarioName) && !isSustainedScenario(name as ScenarioName) && results.some((r) => r.scenario === name))
    .map(([name, text]) => `**${name}**: ${text}`)
    .join("; ")}.

### Query

${queryTable(results)}

Rows: ${Object.entries(DESCRIPTIONS)
    .filter(([name]) => isQueryScenario(name as ScenarioName) && results.some((r) => r.scenario === name))
    .map(([name, text]) => `**${name}**: ${text}`)
    .join("; ")}.

### Sustained writes under Dataverse's limits

${sustainedTable(results)}

Rows: ${Object.entries(DESCRIPTIONS)
    .filter(([name]) => isSustainedScenario(name as ScenarioName) && results.some((r) => r.scenario === name))
    .map(([name, text]) => `**${name}**: ${text}`)
    .join("; ")}. *rows/s* is per real second, *rows/s in Dataverse time* per second of the emulated clock
(real ÷ time scale): what a real environment with these limits would allow. The ratios compare Dataverse time.
The ceilings and the method are below.

## Targets

${targetLines(list)}
${notes ? `\n## Errors\n\n${notes}\n` : ""}
## Method

The emulator runs in its own Node.js process (\`bench/emulator-process.ts\`) and every scenario in a
fresh child process (\`bench/scenario.ts\`), so the measured process has a clean heap and its own event
loop, and shares the machine's cores only with the emulator. Before each scenario the emulator is
reset and set to the scenario's latency, with its service protection limits raised out of the way
(1,000 concurrent requests, no request or execution-time limit). The Node-RED scenarios run a real
embedded Node-RED runtime with this package loaded from the repository the way \`npm start\` does, and
a flow \`inject → function (fan-out) → … → function (counter)\` plus \`catch → function\`; the fan-out
returns the whole batch at once, its rows built in the function node. Their connections have *bulk* off (the default is
auto), so every message is one request, as in the plain script (bulk is measured by the sustained scenarios). Each scenario first sends a
warm-up batch (sign-in, table metadata, sockets, JIT) and is then timed from the fan-out to the last
message's end; msgs/s counts successful messages only. *plain* and *ours* run twice, interleaved,
and the better run counts (the other in brackets); each scenario waits (up to 30 s) for the cores to
be free of other processes before it starts. Token requests are counted by the emulator over
the whole process (warm-up included) and given per 10,000 messages sent. Peak concurrency is the
emulator's during the timed batch (at 0 ms it answers each request synchronously, so it never holds
two). Peak RSS is the measured process's maximum resident set size; CPU per msg is the measured process's
CPU time in the timed batch per message, and CPU the share of one core the measured process and the
emulator used during it. The limit row is the most any client
can do with ${CONCURRENCY} requests in flight: ${CONCURRENCY} ÷ latency. *plain* is the floor cost of the same requests
without Node-RED: axios on a keep-alive agent, one msal-node token, a pool of ${CONCURRENCY}, the same headers
and body (with a client-chosen id) as the package sends; *plain-https* is the same script on node:https
instead of axios (what the HTTP library costs; no target). *dynamics-web-api* is DynamicsWebApi
${dependencyVersion("dynamics-web-api")} in a function node with msal-node's \`acquireTokenByClientCredential\` as
\`onTokenRefresh\`, as its README shows, sending each message on when its create ends; it has no
concurrency limit of its own, so *dynamics-web-api-16* adds a ${CONCURRENCY}-slot semaphore to the function node
for comparison. *token-per-message* is the classic blog flow: a function node builds a
client-credentials token request, an http request node sends it, a function node sets the
Authorization header and an http request node creates the row. The two flows that send every message
at once run ${fmt(3000)} messages. *rss* fans ${fmt(RSS_MESSAGES)} messages out at once to a create node whose
connection has concurrency ${CONCURRENCY} and a queue limit of 20,000, against ${RSS_LATENCY_MS} ms latency, and samples RSS
every 50 ms for 8 s; stopping the flows then ends the queued messages.

The query scenarios read the table \`${QUERY_TABLE}\`, seeded by the emulator with ${fmt(QUERY_ROWS)} generated rows (query-rss:
${fmt(QUERY_RSS_ROWS)}) of ${Object.keys(QUERY_ROW_TEMPLATE).length} columns, every column returned, in pages of ${fmt(QUERY_PAGE_SIZE)} rows
(\`Prefer: odata.maxpagesize=${QUERY_PAGE_SIZE}\`), one page after the other, at 0 ms latency. After one warm-up read,
each scenario reads the whole table ${QUERY_READS} times back to back and rows/s is the rows that reached the counter
divided by that time. *query-plain* is the floor: axios on a keep-alive agent with one msal-node token, a loop
following \`@odata.nextLink\`, each page parsed and counted. *query-ours* is a real Node-RED flow \`inject →
dataverse-query → function (counter)\` with Max rows 0 and one message per page (*query-ours-all*: one message with
every row); *query-plain* and *query-ours* run twice, interleaved, and the better run counts. *query-dynamics-web-api*
is DynamicsWebApi's \`retrieveAll\` (which follows the next links itself) in a function node, signed in with
msal-node as in the create scenarios, sending one message with every row. *query-rss* reads ${fmt(QUERY_RSS_ROWS)} rows
with one message per row into the counter, with no warm-up; its peak RSS is the process's maximum resident set size;
it runs twice and the higher peak counts (the other follows it).

${sustainedMethod()}
`;
}

/** An installed package's version (read from its package.json: not every package exports it). */
function dependencyVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.only?.has("file")) return runFileBench();
  if (args.only?.has("trigger")) {
    execFileSync(process.execPath, [...process.execArgv, path.join(__dirname, "trigger.ts")], { stdio: "inherit" });
    return 0;
  }
  const chosen = (r: PlannedRun) =>
    !args.only ||
    args.only.has(r.scenario) ||
    (args.only.has("query") && isQueryScenario(r.scenario)) ||
    (args.only.has("sustained") && isSustainedScenario(r.scenario)) ||
    [...args.only].some((o) => o.startsWith("sustained-") && r.scenario.startsWith(`${o}-`));
  const runs = plan().filter(
    (r) =>
      chosen(r) &&
      (args.latency === undefined || r.latencyMs === args.latency || r.scenario === "rss" || isQueryScenario(r.scenario) || isSustainedScenario(r.scenario)),
  );
  const full = !args.only && args.latency === undefined;
  const began = performance.now();
  const loadBefore = os.loadavg()[0];
  if (loadBefore > 0.7) {
    process.stderr.write(
      `Warning: load average ${loadBefore.toFixed(2)} before the run: other processes compete for the ${os.cpus().length} cores, expect lower and noisier rates.\n`,
    );
  }

  const { child: emulatorProcess, info } = await startEmulatorProcess();
  const bundle = writeTrustBundle(info.caPem, path.join(caDir, "trust-bundle.pem"));
  const control = controlClient(info.dataverseUrl, info.caPem);
  const results: ScenarioResult[] = [];
  let failed = false;
  let busyStarts = 0;
  try {
    for (const run of runs) {
      process.stderr.write(`${run.scenario} at ${run.latencyMs} ms: ${fmt(run.messages)} messages... `);
      // Someone else's test run on the same cores would be measured too: wait for it (a while).
      const busy = await waitForQuiet(30_000);
      if (busy !== undefined && busy > 0.15) {
        busyStarts++;
        process.stderr.write(`(other processes keep ${Math.round(busy * 100)} % of the CPU busy) `);
      }
      await control.reset();
      if (isSustainedScenario(run.scenario)) {
        // The real limits (the emulator's defaults after a reset), with the cost model and the time scale.
        await control.setConfig({
          latencyMs: run.latencyMs,
          timeScale: run.timeScale ?? 1,
          requestCostMs: SUSTAINED.requestCostMs,
          rowCostMs: SUSTAINED.rowCostMs,
          requestLimit: SUSTAINED.requestLimit,
          executionTimeLimitMs: SUSTAINED.executionTimeLimitMs,
          windowSeconds: SUSTAINED.windowSeconds,
        });
        await control.clearRows(sustainedEntitySet(run.scenario));
      } else {
        await control.setConfig({ latencyMs: run.latencyMs, concurrencyLimit: 1000, requestLimit: 1e9, executionTimeLimitMs: 1e12 });
      }
      if (run.tableRows) {
        await control.clearRows(QUERY_TABLE);
        await control.seedMany(QUERY_TABLE, run.tableRows, QUERY_ROW_TEMPLATE);
      }
      const spec: ScenarioSpec = { ...run, concurrency: isSustainedScenario(run.scenario) ? SUSTAINED.concurrency : CONCURRENCY, emulator: info };
      try {
        // One retry: a run can fail for reasons of the moment (say, someone rebuilding nodes/ just then).
        const result = await runScenario(spec, bundle, emulatorProcess.pid!, control).catch((err: Error) => {
          process.stderr.write(`failed (${err.message}), once more... `);
          return runScenario(spec, bundle, emulatorProcess.pid!, control);
        });
        if (isSustainedScenario(result.scenario)) result.sustained = await sustainedFindings(control, result);
        results.push(result);
        process.stderr.write(
          result.sustained
            ? `${sustainedLine(result)}\n`
            : result.rowsRead !== undefined
              ? `${fmt(result.rowsRead)} rows, ${fmt(result.rate)} rows/s, ${cpuPer1000Rows(result)} ms CPU per 1,000 rows, ${fmt(result.dataverseRequests)} requests, ${result.errors} errors, ${fmt(result.peakRssMb)} MB\n`
              : `${fmt(result.rate)} msgs/s, ${cpuPerMessage(result)} µs CPU/msg, ${fmt(result.dataverseRequests)} requests, ${result.errors} errors, ${result.tokenRequests} token requests, peak ${result.peakConcurrency} in flight, ${fmt(result.peakRssMb)} MB\n`,
        );
        if (result.scenario === "query-rss")
          process.stderr.write(
            `  RSS ${fmt(result.baselineRssMb ?? 0)} MB before the read, sampled peak ${fmt(result.sampledPeakRssMb ?? 0)} MB; V8 heap in use at most ${fmt(result.sampledPeakHeapMb ?? 0)} MB (${result.rssSamples} samples)\n`,
          );
        if (result.accounted !== undefined)
          process.stderr.write(
            `  ${fmt(result.accounted)} queued, in flight or done; heap used ${fmt(result.heapUsedMb ?? 0)} MB, sampled RSS peak ${fmt(result.sampledPeakRssMb ?? 0)} MB (${result.rssSamples} samples)\n`,
          );
        if (result.firstError) process.stderr.write(`  first error: ${result.firstError}\n`);
      } catch (err) {
        failed = true;
        process.stderr.write(`failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  } finally {
    emulatorProcess.send({ type: "stop" });
  }

  const best = bestRuns(results);
  const list = targets(best);
  const tables = [
    ...(best.some((r) => !isQueryScenario(r.scenario) && !isSustainedScenario(r.scenario)) ? [table(best)] : []),
    ...(best.some((r) => isQueryScenario(r.scenario)) ? [queryTable(best)] : []),
    ...(best.some((r) => isSustainedScenario(r.scenario)) ? [sustainedTable(best)] : []),
  ];
  console.log(`\n${tables.join("\n\n")}\n\nTargets:\n${targetLines(list)}\n`);
  if (full && !failed) {
    const file = path.join(__dirname, "results.md");
    writeFileSync(file, resultsMarkdown(best, list, (performance.now() - began) / 1000, loadBefore, busyStarts));
    console.log(`Written to ${path.relative(root, file)}`);
  } else {
    console.log("(bench/results.md is only written by a full run without failures)");
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
