/**
 * What the benchmark's processes share: the scenario description handed to a measured child, the
 * result line it prints, the emulator's control API over HTTPS, and the RSS sampler.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import https from "node:https";
import { Session } from "node:inspector";
import path from "node:path";
import type { EmulatorConfig, EmulatorStats, RequestLogEntry } from "../emulator";

/** Where the emulator (in its own process) listens, and the app it knows. */
export interface EmulatorInfo {
  dataverseUrl: string;
  /** host:port of the sign-in server (cloud "custom"). */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caPem: string;
}

export type ScenarioName =
  | "plain"
  | "plain-https"
  | "ours"
  | "ours-update"
  | "token-per-message"
  | "dynamics-web-api"
  | "dynamics-web-api-16"
  | "rss"
  | QueryScenarioName
  | SustainedScenarioName;

/** The query scenarios: reading a whole table page by page. */
export type QueryScenarioName = "query-plain" | "query-ours" | "query-ours-all" | "query-dynamics-web-api" | "query-rss";

export const isQueryScenario = (name: ScenarioName): name is QueryScenarioName => name.startsWith("query-");

/**
 * The sustained-writes scenarios: 20,000 upserts by alternate key (dv_iotdevices) or creates
 * (accounts) against the emulator's real service protection limits, with bulk off or auto, or with
 * DynamicsWebApi in a function node.
 */
export type SustainedWrite = "upsert" | "create";
export type SustainedClient = "off" | "auto" | "dynamics-web-api";
export type SustainedScenarioName = `sustained-${SustainedWrite}-${SustainedClient}`;

export const isSustainedScenario = (name: ScenarioName): name is SustainedScenarioName => name.startsWith("sustained-");

export function sustainedParts(name: SustainedScenarioName): { write: SustainedWrite; client: SustainedClient } {
  const [, write, ...client] = name.split("-");
  return { write: write as SustainedWrite, client: client.join("-") as SustainedClient };
}

/**
 * Devices of the sustained upserts: message i upserts the device SN-(i mod DEVICES), so each device
 * sends a reading every 500 messages (40 in the timed phase), as in the ours-update scenario.
 */
export const SUSTAINED_DEVICES = 500;
export const sustainedSerial = (i: number) => `SN-${String(i % SUSTAINED_DEVICES).padStart(5, "0")}`;

/** The table the query scenarios read, and the rows the emulator is seeded with (`{n}`: the row number). */
export const QUERY_TABLE = "dv_iotdevices";
export const QUERY_ROW_TEMPLATE = {
  dv_name: "Device {n}",
  dv_serialnumber: "SN-{n}",
  dv_temperature: "{n%40}",
  dv_humidity: "{n%100}",
  dv_batterylevel: "{n%101}",
  dv_status: 100_000_000,
  dv_lastreadingon: "2024-01-15T08:55:00Z",
};
/** Page size every query scenario asks for (Dataverse's largest). */
export const QUERY_PAGE_SIZE = 5000;

/** What the parent asks a measured child to do (argv[2], JSON). */
export interface ScenarioSpec {
  scenario: ScenarioName;
  /** Emulator latency of this run (set by the parent; reported back). */
  latencyMs: number;
  /** Measured messages. */
  messages: number;
  /** Messages sent (and awaited) before measuring. */
  warmup: number;
  /** Requests in flight at once where the client has a setting for it. */
  concurrency: number;
  emulator: EmulatorInfo;
  /** rss only: how long to sample after the fan-out. */
  sampleMs?: number;
  /** Query scenarios: rows in the table, all read by each read. */
  tableRows?: number;
  /** Query scenarios: measured reads of the whole table (after one warm-up read). */
  reads?: number;
  /** Sustained scenarios: the emulator's time scale (the parent sets it). */
  timeScale?: number;
  /** Sustained scenarios: how the parent fills the service protection window while the child waits after its warm-up. */
  prefill?: Prefill;
}

/** A steady stream of cheap requests over one window, each carrying `costMs` of modelled execution time. */
export interface Prefill {
  /** Requests in the stream (they count against the request limit too). */
  requests: number;
  /** Modelled execution time of each, emulated ms (rowCostMs is set so, then put back). */
  costMs: number;
  /** Real ms the stream is spread over (one window). */
  spreadMs: number;
}

/** The one JSON line a measured child prints, after RESULT_PREFIX. */
export interface ScenarioResult {
  scenario: ScenarioName;
  latencyMs: number;
  messages: number;
  warmup: number;
  ok: number;
  errors: number;
  seconds: number;
  /** Successful messages per second in the measured phase (query scenarios: rows per second). */
  rate: number;
  /** Token requests the emulator saw during the whole child run (warm-up included). */
  tokenRequests: number;
  /** Dataverse requests the emulator saw during the measured phase (one per message is the floor). */
  dataverseRequests: number;
  /** Most Dataverse requests in flight at the emulator during the measured phase. */
  peakConcurrency: number;
  /** Peak resident set size of the measured process (getrusage maxrss), MB. */
  peakRssMb: number;
  firstError?: string;
  /** Rates of every run of this scenario and latency (the parent keeps the best). */
  runRates?: number[];
  /** Peak RSS of every run (query-rss: the parent keeps the highest). */
  runPeaks?: number[];
  /** CPU time of the measured process during the timed phase, % of one core. */
  cpuPercent?: number;
  /** The same for the emulator's process (filled in by the parent). */
  emulatorCpuPercent?: number;
  /** rss scenario: messages queued, in flight or done when sampling ended; peak of the samples. */
  accounted?: number;
  sampledPeakRssMb?: number;
  /** rss scenario: V8 heap in use when sampling ended, MB. */
  heapUsedMb?: number;
  /** query-rss: most V8 heap in use among the samples, MB. */
  sampledPeakHeapMb?: number;
  /** rss scenario: RSS after the warm-up, before the fan-out, MB. */
  baselineRssMb?: number;
  rssSamples?: number;
  /** Query scenarios: rows that reached the end of the flow in the measured phase. */
  rowsRead?: number;
  /** Sustained scenarios: the window when the timed phase began (after the prefill). */
  windowAtStart?: { requests: number; executionMs: number };
  /** Sustained upserts: messages that reached the counter without their row's GUID in msg.rowId. */
  withoutRowId?: number;
  /** Sustained scenarios: the window when the last message had ended. */
  windowAtEnd?: { requests: number; executionMs: number };
  /** Sustained scenarios: what the parent found in the request log and the table afterwards. */
  sustained?: SustainedFindings;
}

/** What the emulator saw of a sustained scenario's timed phase, and the rows it left. */
export interface SustainedFindings {
  timeScale: number;
  /** Dataverse requests in the timed phase (answered or throttled). */
  requests: number;
  /** Of which 429s (service protection). */
  throttled: number;
  /** Successful bulk messages ($batch included) and the rows they carried. */
  bulkRequests: number;
  bulkRows: number;
  /** Smallest and largest bulk request seen. */
  bulkMin: number;
  bulkMax: number;
  /** Successful single writes. */
  singleWrites: number;
  /** Successful GETs (the ids of rows upserted by key in bulk, table metadata). */
  reads: number;
  /** Modelled execution time of the answered requests, emulated s. */
  modelledSeconds: number;
  /**
   * Execution time the emulator counted beyond the model (its real processing time × time scale),
   * emulated s: from the window before and after, when the phase was shorter than the window.
   */
  measuredSeconds?: number;
  /** Rows in the table afterwards: written rows that are there twice or more, and expected rows missing. */
  duplicates: number;
  missing: number;
  rowsInTable: number;
}

export const RESULT_PREFIX = "BENCH_RESULT ";

export function printResult(result: ScenarioResult): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** The emulator's control API (/_emulator/ on the Dataverse server), on its own agent. */
export function controlClient(dataverseUrl: string, caPem: string) {
  const agent = new https.Agent({ keepAlive: false, ca: caPem });
  const call = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = https.request(`${dataverseUrl}/_emulator/${path}`, { method, agent, headers: { "content-type": "application/json" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          if ((res.statusCode ?? 0) >= 400) reject(new Error(`emulator control ${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      });
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    reset: () => call("POST", "reset"),
    setConfig: (config: Record<string, number | null>) => call("PATCH", "config", config),
    config: () => call("GET", "config") as Promise<EmulatorConfig>,
    stats: () => call("GET", "stats") as Promise<EmulatorStats>,
    resetStats: () => call("DELETE", "stats"),
    seed: (table: string, rows: Array<Record<string, unknown>>) => call("POST", "seed", { table, rows }),
    clearRows: (table: string) => call("DELETE", `rows/${table}`),
    /** Every row of a table (entity set name). */
    rows: (table: string) => call("GET", `rows/${table}`) as Promise<Array<Record<string, unknown>>>,
    /** The request log (the last 50,000 entries; `since`: after that sequence number). */
    requests: (since?: number) => call("GET", `requests${since === undefined ? "" : `?since=${since}`}`) as Promise<RequestLogEntry[]>,
    clearRequests: () => call("DELETE", "requests"),
    /** `count` rows made from `template` by the emulator itself (fast). */
    seedMany: (table: string, count: number, template: Record<string, unknown>) => call("POST", "seed", { table, count, template }),
  };
}

export type ControlClient = ReturnType<typeof controlClient>;

/** Peak RSS of this process so far (getrusage), MB. */
export function maxRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/** Samples process RSS (and V8's heap in use) every `everyMs` until stopped; the timer does not keep the process alive. */
export function sampleRss(everyMs: number): { stop(): { peakMb: number; peakHeapMb: number; samples: number } } {
  let peak = process.memoryUsage.rss();
  let peakHeap = process.memoryUsage().heapUsed;
  let samples = 1;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(() => {
    sample();
    samples++;
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakMb: round(peak / 1048576, 1), peakHeapMb: round(peakHeap / 1048576, 1), samples: samples + 1 };
    },
  };
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The row every create scenario writes (the same columns in every variant). */
export function accountRow(i: number): Record<string, unknown> {
  return { name: `Bench account ${i}`, telephone1: "+1 555 0100", numberofemployees: i % 1000 };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const PHASE_PREFIX = "BENCH_PHASE ";

/**
 * Marks the timed phase: tells the parent on stdout (it reads the emulator's CPU time then), measures
 * this process's CPU use, and with BENCH_CPU_PROF=<dir> records a V8 CPU profile of the phase alone
 * (start-up and warm-up left out) as <dir>/<name>.cpuprofile. The returned function ends the phase.
 */
export async function startTimedPhase(name: string): Promise<() => Promise<{ cpuPercent: number }>> {
  const stopProfile = await startProfile(name);
  process.stdout.write(`${PHASE_PREFIX}start\n`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return async () => {
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    process.stdout.write(`${PHASE_PREFIX}end\n`);
    await stopProfile();
    return { cpuPercent: round((cpu.user + cpu.system) / 10 / wallMs) };
  };
}

async function startProfile(name: string): Promise<() => Promise<void>> {
  const stopHeap = await startHeapProfile(name);
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return stopHeap;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 200 });
  await post("Profiler.start");
  return async () => {
    const { profile } = (await post("Profiler.stop")) as { profile: unknown };
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
    await stopHeap();
  };
}

/**
 * With BENCH_HEAP_PROF=<dir>, a sampling heap profile of the timed phase: every allocation, also those
 * garbage-collected since, as <dir>/<name>.heapprofile (Chrome DevTools, Memory).
 */
async function startHeapProfile(name: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_HEAP_PROF;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: unknown };
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
