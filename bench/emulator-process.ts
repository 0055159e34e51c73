/**
 * The emulator in a process of its own, so it does not share an event loop (or a core) with what the
 * benchmark measures. Started by bench/run.ts with an IPC channel: it reports its URLs with
 * process.send and stops when the parent says so or goes away.
 */
import path from "node:path";
import { startEmulator } from "../emulator";
import type { EmulatorInfo } from "./common";

async function main(): Promise<void> {
  const caDir = process.env.BENCH_CA_DIR || path.resolve(__dirname, "..", ".run", "bench-ca");
  const emulator = await startEmulator({ caDir, quiet: true });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("message", (message: unknown) => {
    if ((message as { type?: string } | null)?.type === "stop") stop();
  });
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const info: EmulatorInfo = {
    dataverseUrl: emulator.dataverseUrl,
    authorityHost: emulator.authorityHost,
    tenantId: emulator.tenantId,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    caPem: emulator.caPem,
  };
  process.send?.({ type: "ready", info });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
