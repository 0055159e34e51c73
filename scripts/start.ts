/**
 * `npm start`: the Dataverse emulator, and Node-RED on http://127.0.0.1:1880 with this package and its
 * example flows, the connection pointed at the emulator through environment variables. Ctrl-C stops
 * both. The user dir lives in .run/node-red (ignored by git); flows you change there are kept.
 * `npm start -- --reset-flows` puts the examples back.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { emulatorEnv, startEmulator, writeTrustBundle } from "../emulator";
import { exampleFlows } from "./example-flows";

const root = path.resolve(__dirname, "..");
const userDir = path.join(root, ".run", "node-red");
const port = Number(process.env.PORT || 1880);

async function main(): Promise<void> {
  const caDir = path.join(root, ".run", "emulator");
  const emulator = await startEmulator({
    caDir,
    dataversePort: Number(process.env.EMULATOR_DATAVERSE_PORT || 8443),
    loginPort: Number(process.env.EMULATOR_LOGIN_PORT || 8444),
  });
  const bundle = writeTrustBundle(emulator.caPem, path.join(caDir, "trust-bundle.pem"));
  prepareUserDir(process.argv.includes("--reset-flows"));

  console.log(`Dataverse emulator: ${emulator.dataverseUrl} (sign-in at https://${emulator.authorityHost})`);
  console.log(`Node-RED:           http://127.0.0.1:${port}  (Ctrl-C stops both)\n`);

  const nodeRed = spawn(process.execPath, [require.resolve("node-red/red.js"), "--userDir", userDir, "--port", String(port)], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ...emulatorEnv(emulator, bundle), ...localWithoutProxy() },
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (nodeRed.exitCode === null) nodeRed.kill("SIGINT");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const code = await new Promise<number>((resolve) => nodeRed.on("exit", (c) => resolve(c ?? 0)));
  await emulator.close();
  process.exit(stopping ? 0 : code);
}

/** settings.js, and the example flows with env-var credentials, unless flows were already made. */
function prepareUserDir(resetFlows: boolean): void {
  mkdirSync(userDir, { recursive: true });
  writeFileSync(
    path.join(userDir, "settings.js"),
    `// Written by npm start. Loads this package from the repository and keeps dialogs out of the way.
module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  nodesDir: [${JSON.stringify(root)}],
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  logging: { console: { level: "info" } },
};
`,
  );
  const flowFile = path.join(userDir, "flows.json");
  if (existsSync(flowFile) && !resetFlows) return;
  const { flows, credentials } = exampleFlows(path.join(root, "examples"));
  writeFileSync(flowFile, JSON.stringify(flows, null, 2));
  writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(credentials, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/** The emulator is on this machine: a proxy from the environment (or npm's own) must not carry its traffic. */
function localWithoutProxy(): Record<string, string> {
  const noProxy = [process.env.no_proxy || process.env.NO_PROXY, "127.0.0.1", "localhost"].filter(Boolean).join(",");
  return { NO_PROXY: noProxy, no_proxy: noProxy };
}
