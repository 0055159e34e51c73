/**
 * The package as a user gets it: `npm pack`, installed into a fresh Node-RED user dir, and Node-RED
 * started with its own command in a child process (the Node-RED of test/node-red.ts, on the Node
 * running the tests). Used by the packaging and browser tests.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { nodeRedCli } from "./node-red";

const root = path.resolve(__dirname, "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** The environment without the test runner's TypeScript loader: child processes run as a user's would. */
export const plainEnv: NodeJS.ProcessEnv = (({ NODE_OPTIONS: _loader, ...rest }) => rest)(process.env);

export interface Packed {
  tarball: string;
  files: string[];
}

/** npm pack into `dir`. With `build: false` the prepack build is skipped (npm test has just built). */
export function pack(dir: string, options: { build?: boolean } = {}): Packed {
  const args = ["pack", "--json", "--pack-destination", dir, ...(options.build === false ? ["--ignore-scripts"] : [])];
  const [packed] = JSON.parse(execFileSync(npm, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: plainEnv }));
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack made no tarball");
  return { tarball: path.join(dir, tarball), files: packed.files.map((f: { path: string }) => f.path) };
}

/** A Node-RED user dir at `userDir` with the tarball installed, the way the palette manager would. */
export function installInUserDir(tarball: string, userDir: string): void {
  mkdirSync(userDir, { recursive: true });
  writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true }));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: userDir, stdio: "ignore", env: plainEnv });
}

export interface RunningNodeRed {
  base: string;
  process: ChildProcess;
  /** Everything Node-RED printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Writes settings.js (uiHost 127.0.0.1 on a free port plus `settings`) and starts the node-red command. */
export async function startNodeRed(userDir: string, settings: Record<string, unknown>, env: NodeJS.ProcessEnv = plainEnv): Promise<RunningNodeRed> {
  const port = await freePort();
  const all = { uiHost: "127.0.0.1", uiPort: port, flowFile: "flows.json", ...settings };
  writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(all, null, 2)};\n`);
  const child = spawn(process.execPath, [nodeRedCli, "-u", userDir], { stdio: ["ignore", "pipe", "pipe"], env });
  let printed = "";
  child.stdout?.on("data", (d) => (printed += d));
  child.stderr?.on("data", (d) => (printed += d));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  };
  try {
    // red.js listens once the runtime has started: any answer (401 with adminAuth) means it is up.
    await poll(
      async () => ((await fetch(`${base}/settings`)).status < 500 ? true : undefined),
      60_000,
      () => printed,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, process: child, output: () => printed, stop };
}

/** Retries `fn` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000, detail: () => string = () => ""): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch {
      // not there yet
    }
    if (Date.now() > until) throw new Error(`Node-RED did not start in time\n${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
