// `npm run emulator`: runs the Entra ID + Dataverse emulator until Ctrl+C and prints how to use it.
import { join, resolve } from "node:path";
import { emulatorEnv, startEmulator, writeTrustBundle } from "./index";

const repoRoot = resolve(__dirname, "..");

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be a port number (got '${raw}')`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const caDir = process.env.EMULATOR_CA_DIR || join(repoRoot, ".run", "emulator");
  const emulator = await startEmulator({
    host: process.env.EMULATOR_HOST || "127.0.0.1",
    dataversePort: port("EMULATOR_DATAVERSE_PORT", 8443),
    loginPort: port("EMULATOR_LOGIN_PORT", 8444),
    caDir,
  });
  const bundle = writeTrustBundle(emulator.caPem, join(caDir, "trust-bundle.pem"));
  const env = emulatorEnv(emulator, bundle);

  console.log(
    [
      "Dataverse emulator running (test data only; nothing leaves this machine).",
      "",
      `  Environment URL   ${emulator.dataverseUrl}`,
      `  Web API           ${emulator.dataverseUrl}/api/data/v9.2/`,
      `  Authority host    ${emulator.authorityHost}   (cloud: custom)`,
      `  Tenant            ${emulator.tenantId}`,
      `  Client id         ${emulator.clientId}`,
      `  Client secret     ${emulator.clientSecret}   (fixed emulator-only value)`,
      `  CA certificate    ${emulator.caPath}`,
      `  Control API       ${emulator.dataverseUrl}/_emulator/   (reset, seed, rows, requests, config, faults, stats)`,
      `  Managed identity  IDENTITY_ENDPOINT=${emulator.managedIdentity.endpoint} IDENTITY_HEADER=${emulator.managedIdentity.header}`,
      `                    (authType managedIdentity; client id empty, or user-assigned ${emulator.managedIdentity.userAssignedClientId})`,
      `  AD FS             ${emulator.adfs.authority}   (cloud: adfs; client id ${emulator.adfs.clientId}, secret ${emulator.adfs.clientSecret})`,
      "",
      "To point a process at it, set:",
      "",
      ...Object.entries(env).map(([k, v]) => `  ${k}=${v}`),
      "",
      "NODE_EXTRA_CA_CERTS is read when Node starts: set it before starting the process that calls the emulator.",
      "Press Ctrl+C to stop.",
    ].join("\n"),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator...`);
    emulator.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: NodeJS.ErrnoException) => {
  if (err.code === "EADDRINUSE") {
    console.error(`Port already in use (${err.message}). Set EMULATOR_DATAVERSE_PORT / EMULATOR_LOGIN_PORT to free ports.`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
