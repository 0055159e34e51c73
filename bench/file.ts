/**
 * `npm run bench -- --only file`: upload and download throughput (MB/s) of a 24 MB file in the file
 * column accounts.cr0a1_contract, Node-RED with dataverse-file against a plain axios script doing the
 * same requests (a chunked upload session with 4 MB chunks, then Range downloads of 4 MB), in the
 * same run against the same emulator process at 0 ms latency. Each client runs in a fresh child
 * process, twice, interleaved; the better run counts. Writes bench/results-file.md.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ConfidentialClientApplication, LogLevel } from "@azure/msal-node";
import axios, { type AxiosInstance } from "axios";
import { SEED_IDS, writeTrustBundle } from "../emulator";
import { PROXY_ENVIRONMENT } from "../src/client/proxy";
import { controlClient, round, type EmulatorInfo } from "./common";

const root = path.resolve(__dirname, "..");
const FILE_MB = 24;
const ROUNDS = 5;
const CHUNK = 4 * 1024 * 1024;
const TARGET_RATIO = 0.7;
const ROW = SEED_IDS.contosoAccount;
const COLUMN = "cr0a1_contract";

type Client = "plain" | "ours";

interface FileResult {
  client: Client;
  uploadMBps: number;
  downloadMBps: number;
  requests: number;
}

/** Runs both clients twice, interleaved, against an emulator of its own; prints and writes the results. */
export async function runFileBench(): Promise<number> {
  const load = os.loadavg()[0];
  const { child: emulator, info } = await startEmulatorProcess();
  const bundle = writeTrustBundle(info.caPem, path.join(root, ".run", "bench-ca", "trust-bundle.pem"));
  const control = controlClient(info.dataverseUrl, info.caPem);
  const results: FileResult[] = [];
  try {
    for (const client of ["plain", "ours", "plain", "ours"] as const) {
      await control.reset();
      await control.setConfig({ latencyMs: 0, concurrencyLimit: 1000, requestLimit: 1e9, executionTimeLimitMs: 1e12 });
      process.stderr.write(`file ${client}: ${ROUNDS} × ${FILE_MB} MB up and down... `);
      const result = await runChild(client, info, bundle);
      process.stderr.write(`upload ${result.uploadMBps} MB/s, download ${result.downloadMBps} MB/s\n`);
      results.push(result);
    }
  } finally {
    emulator.send({ type: "stop" });
  }
  const best = (client: Client, key: "uploadMBps" | "downloadMBps") => Math.max(...results.filter((r) => r.client === client).map((r) => r[key]));
  const lines = [
    `| Client | Upload MB/s | Download MB/s |`,
    `| --- | --- | --- |`,
    `| plain axios script | ${best("plain", "uploadMBps")} | ${best("plain", "downloadMBps")} |`,
    `| Node-RED: dataverse-file | ${best("ours", "uploadMBps")} | ${best("ours", "downloadMBps")} |`,
    `| ratio (target ≥ ${TARGET_RATIO}) | ${ratio(best("ours", "uploadMBps"), best("plain", "uploadMBps"))} | ${ratio(best("ours", "downloadMBps"), best("plain", "downloadMBps"))} |`,
  ];
  const met = ["uploadMBps", "downloadMBps"].every((k) => best("ours", k as "uploadMBps") >= TARGET_RATIO * best("plain", k as "uploadMBps"));
  console.log(`\n${lines.join("\n")}\n\nTarget (≥ ${TARGET_RATIO}× plain, upload and download): ${met ? "met" : "MISSED"}\n`);
  writeFileSync(
    path.join(__dirname, "results-file.md"),
    `# File columns: upload and download throughput\n\nWritten by \`npm run bench -- --only file\` on ${new Date().toISOString().slice(0, 10)}: a ${FILE_MB} MB file, ${ROUNDS} uploads then ${ROUNDS} downloads per run (4 MB chunks: one session request and 6 chunks up, 6 Range requests down), emulator at 0 ms latency in a process of its own, each client in a fresh process, two runs each, interleaved, the better counts. Node ${process.versions.node}, ${os.cpus().length} cores, load average ${load.toFixed(1)} at the start (other processes on the same cores make the rates noisy).\n\n${lines.join("\n")}\n\nTarget ≥ ${TARGET_RATIO}× plain for both: ${met ? "met" : "missed"}.\n`,
  );
  return met ? 0 : 1;
}

function ratio(ours: number, plain: number): string {
  return (Math.floor((ours / plain) * 100) / 100).toFixed(2);
}

function startEmulatorProcess(): Promise<{ child: ReturnType<typeof spawn>; info: EmulatorInfo }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "emulator-process.ts")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: cleanEnv({}),
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the emulator process exited (${code}) before it was ready`)));
    child.on("message", (message: { type?: string; info?: EmulatorInfo }) => {
      if (message.type === "ready" && message.info) resolve({ child, info: message.info });
    });
  });
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  for (const name of [...PROXY_ENVIRONMENT, "NODE_USE_ENV_PROXY"]) delete env[name];
  return env;
}

function runChild(client: Client, info: EmulatorInfo, bundle: string): Promise<FileResult> {
  const child = spawn(process.execPath, ["--import", "tsx", __filename, client, JSON.stringify(info)], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    env: cleanEnv({
      NODE_EXTRA_CA_CERTS: bundle,
      DATAVERSE_URL: info.dataverseUrl,
      DATAVERSE_CLOUD: "custom",
      DATAVERSE_AUTHORITY: `https://${info.authorityHost}`,
      DATAVERSE_TENANT: info.tenantId,
      DATAVERSE_CLIENT_ID: info.clientId,
      DATAVERSE_CLIENT_SECRET: info.clientSecret,
    }),
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("FILE_RESULT "));
      if (!line) reject(new Error(`file ${client}: no result (exit ${code})\n${out}`));
      else resolve(JSON.parse(line.slice("FILE_RESULT ".length)) as FileResult);
    });
  });
}

// ---- in the child ----

/** Uploads then downloads ROUNDS times (after one warm-up round); MB/s of each direction. */
async function measure(client: Client, upload: (file: Buffer) => Promise<void>, download: () => Promise<Buffer>, info: EmulatorInfo): Promise<FileResult> {
  const file = randomBytes(FILE_MB * 1024 * 1024);
  await upload(file);
  if (!(await download()).equals(file)) throw new Error("the downloaded file differs from the uploaded one");
  const control = controlClient(info.dataverseUrl, info.caPem);
  await control.resetStats();
  let t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await upload(file);
  const uploadSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await download();
  const downloadSeconds = (performance.now() - t0) / 1000;
  const stats = (await control.stats()) as { dataverseRequests: number };
  return {
    client,
    uploadMBps: round((FILE_MB * ROUNDS) / uploadSeconds, 1),
    downloadMBps: round((FILE_MB * ROUNDS) / downloadSeconds, 1),
    requests: stats.dataverseRequests,
  };
}

/** The plain script: one msal token, axios on a keep-alive agent, the requests Microsoft's docs show. */
async function plainClient(info: EmulatorInfo): Promise<FileResult> {
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: info.clientId,
      clientSecret: info.clientSecret,
      authority: `https://${info.authorityHost}/${info.tenantId}`,
      knownAuthorities: [info.authorityHost],
    },
    system: { loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => undefined } },
  });
  const token = (await cca.acquireTokenByClientCredential({ scopes: [`${info.dataverseUrl}/.default`] }))?.accessToken;
  const http: AxiosInstance = axios.create({
    httpsAgent: new https.Agent({ keepAlive: true }),
    proxy: false,
    maxRedirects: 0,
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0" },
  });
  const url = `${info.dataverseUrl}/api/data/v9.2/accounts(${ROW})/${COLUMN}`;
  const upload = async (file: Buffer) => {
    const session = await http.patch(`${url}?x-ms-file-name=bench.bin`, undefined, { headers: { "x-ms-transfer-mode": "chunked" } });
    const location = String(session.headers.location);
    for (let start = 0; start < file.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, file.length) - 1;
      await http.patch(location, file.subarray(start, end + 1), {
        headers: { "Content-Type": "application/octet-stream", "Content-Range": `bytes ${start}-${end}/${file.length}`, "x-ms-file-name": "bench.bin" },
      });
    }
  };
  const download = async () => {
    const parts: Buffer[] = [];
    let size = Infinity;
    for (let start = 0; start < size; start += CHUNK) {
      const res = await http.get(`${url}/$value`, { headers: { Range: `bytes=${start}-${start + CHUNK - 1}` }, responseType: "arraybuffer" });
      size = Number(res.headers["x-ms-file-size"]);
      parts.push(Buffer.from(res.data as ArrayBuffer));
    }
    return Buffer.concat(parts);
  };
  return measure("plain", upload, download, info);
}

/** Node-RED with the package: one dataverse-file node uploads, another downloads; a function node reports back. */
async function nodeRedClient(info: EmulatorInfo): Promise<FileResult> {
  const runDir = path.join(root, ".run", "bench");
  mkdirSync(runDir, { recursive: true });
  const userDir = mkdtempSync(path.join(runDir, "file-"));
  const file = (id: string, action: string) => ({
    id,
    type: "dataverse-file",
    z: "tab",
    x: 300,
    y: id === "up" ? 60 : 120,
    connection: "conn",
    action,
    table: "accounts",
    tableType: "str",
    rowId: "rowId",
    rowIdType: "msg",
    column: COLUMN,
    columnType: "str",
    wires: [["report"]],
  });
  const flow = [
    { id: "tab", type: "tab", label: "file bench" },
    {
      id: "conn",
      type: "dataverse-connection",
      name: "emulator",
      url: "${DATAVERSE_URL}",
      tenant: "${DATAVERSE_TENANT}",
      cloud: "custom",
      authority: "${DATAVERSE_AUTHORITY}",
      authType: "secret",
      tls: "",
    },
    file("up", "upload"),
    file("down", "download"),
    { id: "report", type: "function", z: "tab", x: 500, y: 90, func: "global.get('bench')(msg);\nreturn null;", outputs: 0, wires: [] },
    { id: "catch", type: "catch", z: "tab", x: 300, y: 180, scope: null, uncaught: false, wires: [["report"]] },
  ];
  writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flow));
  writeFileSync(
    path.join(userDir, "flows_cred.json"),
    JSON.stringify({ conn: { clientId: "${DATAVERSE_CLIENT_ID}", clientSecret: "${DATAVERSE_CLIENT_SECRET}" } }),
  );
  let answer: ((msg: Record<string, unknown>) => void) | undefined;
  const RED = require("node-red") as {
    init(settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    nodes: { getNode(id: string): { receive(msg: unknown): void } };
    events: { once(event: string, listener: () => void): void };
  };
  RED.init({
    userDir,
    flowFile: "flows.json",
    credentialSecret: false,
    nodesDir: [root],
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    telemetry: { enabled: false },
    logging: { console: { level: "fatal", metrics: false, audit: false } },
    functionGlobalContext: { bench: (msg: Record<string, unknown>) => answer?.(msg) },
  });
  const started = new Promise<void>((resolve) => RED.events.once("flows:started", resolve));
  await RED.start();
  await started;
  const send = (id: string, msg: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      answer = (out) => (out.error ? reject(new Error(String((out.error as { message?: string }).message))) : resolve(out));
      RED.nodes.getNode(id).receive(msg);
    });
  try {
    return await measure(
      "ours",
      async (payload) => void (await send("up", { rowId: ROW, payload, filename: "bench.bin" })),
      async () => (await send("down", { rowId: ROW })).payload as Buffer,
      info,
    );
  } finally {
    await RED.stop();
    rmSync(userDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [client, infoJson] = process.argv.slice(2);
  const info = JSON.parse(infoJson) as EmulatorInfo;
  (client === "plain" ? plainClient(info) : nodeRedClient(info)).then(
    (result) => {
      console.log(`FILE_RESULT ${JSON.stringify(result)}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
