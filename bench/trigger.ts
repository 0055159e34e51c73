/**
 * `npm run bench -- --only trigger` (or `npx tsx bench/trigger.ts`): what the dataverse-changes trigger costs and how fast it is, in a real
 * Node-RED runtime against the emulator (same process): the latency from a row changed to its message
 * out at a 5-second interval, and the requests an idle trigger sends per hour. Prints a table and
 * writes bench/trigger-results.md. The emulator's CA is trusted through NODE_EXTRA_CA_CERTS, so the
 * script starts itself again with it set.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { startEmulator, writeTrustBundle, type RunningEmulator } from "../emulator";
import { nodeRedMain, nodeRedVersion } from "../test/node-red";

const root = path.resolve(__dirname, "..");
const caDir = path.join(root, ".run", "bench-ca");
const INTERVAL_S = 5;
const CHANGES = 12;
const IDLE_S = 60;

async function main(): Promise<void> {
  if (!process.env.BENCH_TRIGGER_CHILD) {
    const emu = await startEmulator({ caDir, quiet: true });
    await emu.close();
    const bundle = writeTrustBundle(emu.caPem, path.join(caDir, "trust-bundle.pem"));
    const run = spawnSync(process.execPath, [...process.execArgv, __filename], {
      stdio: "inherit",
      env: { ...process.env, BENCH_TRIGGER_CHILD: "1", NODE_EXTRA_CA_CERTS: bundle },
    });
    process.exit(run.status ?? 1);
  }
  const emu = await startEmulator({ caDir, quiet: true });
  try {
    helper.init(nodeRedMain);
    await helper.load([require("../nodes/dataverse-connection.js"), require("../nodes/dataverse-changes.js")], flow(emu) as Parameters<typeof helper.load>[1], {
      conn: { clientId: emu.clientId, clientSecret: emu.clientSecret },
    });
    await until(() => emu.control.requests({ server: "dataverse" }).some((r) => r.path.endsWith("/accounts") && r.status === 200));
    const latencies = await measureLatency(emu);
    emu.control.clearRequests();
    await sleep(IDLE_S * 1000);
    const idle = emu.control.requests().filter((r) => r.server === "dataverse").length;
    await helper.unload();
    report(latencies, (idle * 3600) / IDLE_S);
  } finally {
    await emu.close();
  }
}

/** Changes a row at a random moment of the poll cycle and times its message; one change at a time. */
async function measureLatency(emu: RunningEmulator): Promise<number[]> {
  const out = helper.getNode("out") as unknown as NodeJS.EventEmitter;
  const latencies: number[] = [];
  for (let i = 1; i <= CHANGES; i++) {
    await sleep(Math.random() * INTERVAL_S * 1000);
    const name = `latency ${i}`;
    const arrived = new Promise<number>((resolve) => {
      const onInput = (msg: { payload?: { name?: string } }) => {
        if (msg.payload?.name !== name) return;
        out.removeListener("input", onInput);
        resolve(performance.now());
      };
      out.on("input", onInput);
    });
    const changedAt = performance.now();
    emu.control.seed("accounts", [{ name }]);
    latencies.push((await arrived) - changedAt);
  }
  return latencies;
}

function report(latencies: number[], idlePerHour: number): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const median = sorted[Math.floor(sorted.length / 2)];
  const lines = [
    "# dataverse-changes: latency and idle cost",
    "",
    `Measured by \`npm run bench -- --only trigger\` on ${new Date().toISOString().slice(0, 10)}: Node-RED ${nodeRedVersion}, Node ${process.versions.node}, ${os.cpus().length} cores, the emulator in the same process.`,
    "",
    "| What | Result |",
    "| --- | --- |",
    `| Latency, row changed → message out, interval ${INTERVAL_S} s (${CHANGES} changes at random moments) | median ${s(median)}, min ${s(sorted[0])}, max ${s(sorted[sorted.length - 1])} |`,
    `| Idle trigger at ${INTERVAL_S} s, requests per hour (measured over ${IDLE_S} s) | ${Math.round(idlePerHour)} |`,
    // The next poll is timed from the end of the last one: a little under 3600 / interval.
    `| Idle trigger at the default 60 s, requests per hour | under 60 (one delta read per poll, as at ${INTERVAL_S} s) |`,
    "",
    "The latency is bound by the interval: on average half of it, plus one delta read.",
    "",
  ];
  writeFileSync(path.join(root, "bench", "trigger-results.md"), lines.join("\n"));
  console.log(lines.join("\n"));
}

function flow(emu: RunningEmulator): Record<string, unknown>[] {
  return [
    { id: "tab", type: "tab", label: "bench" },
    {
      id: "conn",
      type: "dataverse-connection",
      url: emu.dataverseUrl,
      tenant: emu.tenantId,
      cloud: "custom",
      authority: emu.authorityHost,
      authType: "secret",
    },
    {
      id: "c",
      type: "dataverse-changes",
      z: "tab",
      connection: "conn",
      table: "accounts",
      select: "name",
      interval: String(INTERVAL_S),
      startFrom: "now",
      fallback: "",
      wires: [["out"]],
    },
    { id: "out", type: "helper", z: "tab", wires: [] },
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("the trigger did not make its first read");
    await sleep(50);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
