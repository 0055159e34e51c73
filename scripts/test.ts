/**
 * `npm test` after build and type check: makes the emulator's CA once, trusts it the way a user would
 * (NODE_EXTRA_CA_CERTS holding the system bundle plus that CA), runs every test file with Node's test
 * runner, and ends with a plain "N passed, N failed" line.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { startEmulator, writeTrustBundle } from "../emulator";

const root = path.resolve(__dirname, "..");
const suites = ["test/unit", "test/emulator", "test/integration", "test/package"];

async function main(): Promise<number> {
  const caDir = path.join(root, ".run", "test-ca");
  mkdirSync(caDir, { recursive: true });
  const emulator = await startEmulator({ caDir, quiet: true });
  await emulator.close();
  const bundle = writeTrustBundle(emulator.caPem, path.join(caDir, "trust-bundle.pem"));

  const only = process.argv.slice(2);
  const files = only.length
    ? only
    : suites.flatMap((dir) =>
        readdirSafe(path.join(root, dir))
          .filter((f) => f.endsWith(".test.ts"))
          .map((f) => path.join(dir, f)),
      );
  const tap = path.join(root, ".run", "test-results.tap");
  rmSync(tap, { force: true });
  const child = spawn(
    process.execPath,
    ["--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files],
    {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, NODE_OPTIONS: "--import tsx", NODE_EXTRA_CA_CERTS: bundle, DATAVERSE_TEST_CA_DIR: caDir },
    },
  );
  const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  const summary = readFileSafe(tap);
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)`, "m").exec(summary)?.[1] ?? 0);
  console.log(`\n${count("pass")} passed, ${count("fail") + count("cancelled")} failed, ${count("skipped")} skipped`);
  return code;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
