// The packed tarball installs into a fresh Node-RED user dir, and Node-RED loads its five types with
// icons, help and examples.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "../..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const types = ["dataverse-connection", "dataverse-whoami", "dataverse-retrieve", "dataverse-create", "dataverse-update"];
// Child processes run as a user's would: without the test runner's TypeScript loader.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;
let work: string;
let nodeRed: ChildProcess | undefined;
let base = "";
let installedUserDir = "";

before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "dataverse-pack-"));
});
after(async () => {
  if (nodeRed && nodeRed.exitCode === null) {
    nodeRed.kill("SIGINT");
    await new Promise((r) => nodeRed!.once("exit", r));
  }
  rmSync(work, { recursive: true, force: true });
});

it("npm pack ships the compiled nodes, editor files, icons and examples, and nothing else", () => {
  const [packed] = JSON.parse(execFileSync(npm, ["pack", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: plainEnv }));
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  for (const type of types) {
    assert.ok(files.includes(`nodes/${type}.js`), `${type}.js is packed`);
    assert.ok(files.includes(`nodes/${type}.html`), `${type}.html is packed`);
    assert.ok(files.includes(`nodes/locales/en-US/${type}.json`), `${type} catalogue is packed`);
  }
  assert.ok(files.some((f) => f.startsWith("nodes/icons/") && f.endsWith(".svg")));
  assert.ok(files.some((f) => f.startsWith("nodes/client/")));
  assert.ok(files.some((f) => f.startsWith("examples/") && f.endsWith(".json")));
  assert.ok(!files.some((f) => /^(src|test|emulator|scripts|bench)\//.test(f)), "no sources or tests are packed");
});

it("installs into a fresh user dir and Node-RED loads its five types with icons", async () => {
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  assert.ok(tarball, "the tarball exists");
  const userDir = path.join(work, "userdir");
  mkdirSync(userDir);
  writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true }));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(work, tarball)], { cwd: userDir, stdio: "ignore", env: plainEnv });

  const port = await freePort();
  writeFileSync(
    path.join(userDir, "settings.js"),
    `module.exports = { uiHost: "127.0.0.1", uiPort: ${port}, flowFile: "flows.json", credentialSecret: "pack-test-key", telemetry: { enabled: false }, editorTheme: { tours: false }, logging: { console: { level: "warn" } } };`,
  );
  nodeRed = spawn(process.execPath, [require.resolve("node-red/red.js"), "-u", userDir], { stdio: "ignore", env: plainEnv });
  base = `http://127.0.0.1:${port}`;
  installedUserDir = userDir;
  const nodeSets = await poll(async () => {
    const res = await fetch(`${base}/nodes`, { headers: { Accept: "application/json" } });
    return res.ok ? ((await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>) : undefined;
  });
  const ours = nodeSets.filter((s) => s.module === "node-red-contrib-dataverse");
  assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...types].sort());
  for (const set of ours) assert.ok(set.enabled && !set.err, `${set.types} loaded: ${set.err ?? ""}`);
  const icons = (await (await fetch(`${base}/icons`)).json()) as Record<string, string[]>;
  assert.ok((icons["node-red-contrib-dataverse"] ?? []).some((i) => i.endsWith(".svg")), "module icons are registered");
  const html = await (await fetch(`${base}/nodes`, { headers: { Accept: "text/html" } })).text();
  for (const type of types) assert.ok(html.includes(`data-template-name="${type}"`), `${type} editor template is served`);
});

it("a deployed connection keeps its secret out of the exported flow, the admin API and the flow file", async () => {
  assert.ok(base, "Node-RED is running");
  const secret = "Pack~Secret.Value-0123456789";
  const flows = [
    { id: "t1", type: "tab", label: "leak" },
    { id: "c1", type: "dataverse-connection", name: "real", url: "https://contoso.crm.dynamics.com", tenant: "contoso.onmicrosoft.com", cloud: "public", authType: "secret", credentials: { clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", clientSecret: secret } },
    { id: "w1", type: "dataverse-whoami", z: "t1", connection: "c1", name: "", x: 100, y: 100, wires: [] },
  ];
  const headers = { "Content-Type": "application/json", "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full" };
  const deployed = await fetch(`${base}/flows`, { method: "POST", headers, body: JSON.stringify({ flows }) });
  assert.equal(deployed.status, 200, await deployed.text());
  const exported = await (await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } })).text();
  assert.ok(exported.includes("dataverse-connection") && !exported.includes(secret), "GET /flows holds no secret");
  const creds = (await (await fetch(`${base}/credentials/dataverse-connection/c1`)).json()) as Record<string, unknown>;
  assert.deepEqual(creds, { clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", has_clientSecret: true });
  for (const file of readdirSync(installedUserDir).filter((f) => f.endsWith(".json"))) {
    assert.ok(!readFileSync(path.join(installedUserDir, file), "utf8").includes(secret), `${file} holds no plain secret`);
  }
});

async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error("Node-RED did not start in time");
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
