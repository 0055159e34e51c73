/**
 * `npm test` after build and type check: makes the emulator's CA once, trusts it the way a user would
 * (NODE_EXTRA_CA_CERTS holding the system bundle plus that CA), runs every test file with Node's test
 * runner on Node-RED 4 and this machine's Node, then the integration and browser tests again on
 * Node-RED 5 and Node 22 (test/node-red-5, installed on first use; SKIP_NODE_RED_5=1 leaves that pass
 * out), and ends with one plain "N passed, N failed" line for both.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { startEmulator, writeTrustBundle } from "../emulator";
import { PROXY_ENVIRONMENT } from "../src/client/proxy";

const root = path.resolve(__dirname, "..");
const suites = ["test/unit", "test/emulator", "test/editor", "test/integration", "test/browser", "test/package"];
/** The second pass: what depends on the Node-RED version, on Node-RED 5 under the Node 22 of test/node-red-5. */
const secondPassSuites = ["test/integration", "test/browser"];
const nodeRed5 = path.join(root, "test", "node-red-5");

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
  const env = { ...withoutProxies(process.env), NODE_OPTIONS: "--import tsx", NODE_EXTRA_CA_CERTS: bundle, DATAVERSE_TEST_CA_DIR: caDir };
  const passes = [await runPass("first", process.execPath, files, env)];
  const again = files.filter((f) => secondPassSuites.some((dir) => path.relative(dir, f).split(path.sep)[0] !== ".."));
  if (again.length && process.env.SKIP_NODE_RED_5 !== "1") {
    const node22 = installNodeRed5();
    console.log(`\nThe integration and browser tests again, on Node-RED 5 under Node 22 (${path.relative(root, node22)})\n`);
    passes.push(await runPass("node-red-5", node22, again, { ...env, NODE_RED_PACKAGE: path.join(nodeRed5, "node_modules", "node-red") }));
  }
  console.log("");
  if (passes.length > 1) for (const p of passes) console.log(`  ${p.label}: ${p.pass} passed, ${p.fail} failed, ${p.skipped} skipped`);
  const total = (key: "pass" | "fail" | "skipped") => passes.reduce((n, p) => n + p[key], 0);
  console.log(`${total("pass")} passed, ${total("fail")} failed, ${total("skipped")} skipped`);
  return passes.some((p) => p.code !== 0) ? 1 : 0;
}

interface PassResult {
  label: string;
  code: number;
  pass: number;
  fail: number;
  skipped: number;
}

/** One run of Node's test runner over `files` with the given node binary: spec to the console, TAP to a file. */
async function runPass(name: string, node: string, files: string[], env: NodeJS.ProcessEnv): Promise<PassResult> {
  const tap = path.join(root, ".run", name === "first" ? "test-results.tap" : `test-results-${name}.tap`);
  rmSync(tap, { force: true });
  const child = spawn(
    node,
    ["--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files],
    { cwd: root, stdio: "inherit", env },
  );
  const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  const summary = readFileSafe(tap);
  const count = (key: string) => Number(new RegExp(`^# ${key} (\\d+)`, "m").exec(summary)?.[1] ?? 0);
  const version = (cmd: string) => execFileSync(node, ["-p", cmd], { encoding: "utf8", env: { ...env, NODE_OPTIONS: "" } }).trim();
  const nodeRedPackage = env.NODE_RED_PACKAGE ?? path.join(root, "node_modules", "node-red");
  const label = `Node-RED ${version(`require(${JSON.stringify(path.join(nodeRedPackage, "package.json"))}).version`)} on Node ${version("process.versions.node")}`;
  return { label, code, pass: count("pass"), fail: count("fail") + count("cancelled"), skipped: count("skipped") };
}

/** test/node-red-5: Node 22 and Node-RED 5 from its own lock file, installed once; returns its node binary. */
function installNodeRed5(): string {
  const node22 = path.join(nodeRed5, "node_modules", "node", "bin", process.platform === "win32" ? "node.exe" : "node");
  if (!existsSync(node22) || !existsSync(path.join(nodeRed5, "node_modules", "node-red", "package.json"))) {
    console.log("Installing Node 22 and Node-RED 5 for the second pass (npm ci in test/node-red-5)…");
    const { NODE_OPTIONS: _loader, ...plain } = process.env;
    execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["ci", "--no-audit", "--no-fund"], { cwd: nodeRed5, stdio: "inherit", env: plain });
  }
  return node22;
}

/**
 * The environment without the proxy variables a CI machine may set for npm: the tests talk to
 * 127.0.0.1 directly, and a proxy test sets its own. NODE_USE_ENV_PROXY would proxy Node's global agent.
 */
function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of [...PROXY_ENVIRONMENT, "NODE_USE_ENV_PROXY"]) delete out[name];
  return out;
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
