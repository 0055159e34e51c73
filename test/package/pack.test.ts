// The packed tarball installs into a fresh Node-RED user dir, and Node-RED loads all its types with
// icons, help and examples.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { installInUserDir, pack, startNodeRed, type Packed, type RunningNodeRed } from "../installed-node-red";
import { nodeRedRequire } from "../node-red";

const types = [
  "dataverse-connection",
  "dataverse-whoami",
  "dataverse-retrieve",
  "dataverse-create",
  "dataverse-update",
  "dataverse-query",
  "dataverse-delete",
  "dataverse-batch",
  "dataverse-relate",
  "dataverse-action",
  "dataverse-file",
  "dataverse-changes",
];
let work: string;
let packed: Packed | undefined;
let nodeRed: RunningNodeRed | undefined;
let base = "";
let installedUserDir = "";

before(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "dataverse-pack-"));
});
after(async () => {
  await nodeRed?.stop();
  rmSync(work, { recursive: true, force: true });
});

it("npm pack ships the compiled nodes, editor files, icons and examples, and nothing else", () => {
  packed = pack(work);
  const files = packed.files;
  for (const type of types) {
    assert.ok(files.includes(`nodes/${type}.js`), `${type}.js is packed`);
    assert.ok(files.includes(`nodes/${type}.html`), `${type}.html is packed`);
    assert.ok(files.includes(`nodes/locales/en-US/${type}.json`), `${type} catalogue is packed`);
  }
  assert.ok(files.some((f) => f.startsWith("nodes/icons/") && f.endsWith(".svg")));
  assert.ok(files.some((f) => f.startsWith("nodes/client/")));
  assert.ok(files.some((f) => f.startsWith("examples/") && f.endsWith(".json")));
  assert.ok(files.includes("resources/dataverse-editor.js"), "the shared editor code is packed");
  assert.ok(files.includes("resources/dataverse-connection-string.js"), "the connection-string parser, built for the editor, is packed");
  assert.ok(!files.some((f) => /^(src|test|emulator|scripts|bench)\//.test(f)), "no sources or tests are packed");
  // Example names are menu labels, and file names on every system: nothing Windows refuses.
  for (const file of files) assert.doesNotMatch(file, /[:*?"<>|\\]/, `${file} can be unpacked on Windows`);
});

it("installs into a fresh user dir and Node-RED loads all its types with icons", async () => {
  assert.ok(packed, "the tarball exists");
  const userDir = path.join(work, "userdir");
  installInUserDir(packed.tarball, userDir);
  nodeRed = await startNodeRed(userDir, {
    credentialSecret: "pack-test-key",
    telemetry: { enabled: false },
    editorTheme: { tours: false },
    logging: { console: { level: "warn" } },
  });
  base = nodeRed.base;
  installedUserDir = userDir;
  const nodeSets = (await (await fetch(`${base}/nodes`, { headers: { Accept: "application/json" } })).json()) as Array<{
    module: string;
    types: string[];
    enabled: boolean;
    err?: string;
  }>;
  const ours = nodeSets.filter((s) => s.module === "node-red-contrib-dataverse");
  assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...types].sort());
  for (const set of ours) assert.ok(set.enabled && !set.err, `${set.types} loaded: ${set.err ?? ""}`);
  const icons = (await (await fetch(`${base}/icons`)).json()) as Record<string, string[]>;
  assert.ok(
    (icons["node-red-contrib-dataverse"] ?? []).some((i) => i.endsWith(".svg")),
    "module icons are registered",
  );
  const html = await (await fetch(`${base}/nodes`, { headers: { Accept: "text/html" } })).text();
  for (const type of types) assert.ok(html.includes(`data-template-name="${type}"`), `${type} editor template is served`);
  const editorJs = await fetch(`${base}/resources/node-red-contrib-dataverse/dataverse-editor.js`);
  assert.equal(editorJs.status, 200, "resources/ is served to the editor");
  assert.match(await editorJs.text(), /window\.DataverseEditor = /);
  const parser = await fetch(`${base}/resources/node-red-contrib-dataverse/dataverse-connection-string.js`);
  assert.equal(parser.status, 200, "the connection-string parser is served to the editor");
  assert.match(await parser.text(), /window\.DataverseConnectionString = exports/);
});

it("a deployed connection keeps its secret out of the exported flow, the admin API and the flow file", async () => {
  assert.ok(base, "Node-RED is running");
  const secret = "Pack~Secret.Value-0123456789";
  const flows = [
    { id: "t1", type: "tab", label: "leak" },
    {
      id: "c1",
      type: "dataverse-connection",
      name: "real",
      url: "https://contoso.crm.dynamics.com",
      tenant: "contoso.onmicrosoft.com",
      cloud: "public",
      authType: "secret",
      credentials: { clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", clientSecret: secret },
    },
    { id: "w1", type: "dataverse-whoami", z: "t1", connection: "c1", name: "", x: 100, y: 100, wires: [] },
  ];
  const headers = { "Content-Type": "application/json", "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full" };
  const deployed = await fetch(`${base}/flows`, { method: "POST", headers, body: JSON.stringify({ flows }) });
  assert.equal(deployed.status, 200, await deployed.text());
  const exported = await (await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } })).text();
  assert.ok(exported.includes("dataverse-connection") && !exported.includes(secret), "GET /flows holds no secret");
  const creds = (await (await fetch(`${base}/credentials/dataverse-connection/c1`)).json()) as Record<string, unknown>;
  // Text credentials are shown, password ones only say whether they are set.
  assert.deepEqual(creds, {
    clientId: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    has_clientSecret: true,
    certificate: "",
    proxyUsername: "",
    has_privateKey: false,
    has_pfx: false,
    has_passphrase: false,
    has_proxyPassword: false,
    has_connectionString: false,
  });
  for (const file of readdirSync(installedUserDir).filter((f) => f.endsWith(".json"))) {
    assert.ok(!readFileSync(path.join(installedUserDir, file), "utf8").includes(secret), `${file} holds no plain secret`);
  }
});

it("the editor's admin endpoints need a signed-in user: read for the table lists, write for Test connection", async () => {
  assert.ok(installedUserDir, "the package is installed");
  await nodeRed?.stop();
  const bcrypt = nodeRedRequire("bcryptjs") as { hashSync(password: string, rounds: number): string };
  const password = bcrypt.hashSync("pack-test-password", 4);
  nodeRed = await startNodeRed(installedUserDir, {
    credentialSecret: "pack-test-key",
    telemetry: { enabled: false },
    editorTheme: { tours: false },
    logging: { console: { level: "warn" } },
    adminAuth: {
      type: "credentials",
      users: [
        { username: "viewer", password, permissions: "read" },
        { username: "admin", password, permissions: "*" },
      ],
    },
  });
  const token = async (username: string, scope: string) => {
    const res = await fetch(`${nodeRed!.base}/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ client_id: "node-red-admin", grant_type: "password", scope, username, password: "pack-test-password" }),
    });
    return `Bearer ${((await res.json()) as { access_token: string }).access_token}`;
  };
  const call = (method: string, route: string, authorization?: string) =>
    fetch(`${nodeRed!.base}/dataverse/${route}`, {
      method,
      headers: { "Content-Type": "application/json", ...(authorization ? { Authorization: authorization } : {}) },
      body: method === "POST" ? JSON.stringify({ id: "c1", clientSecret: "__PWRD__", url: "https://contoso.crm.dynamics.com" }) : undefined,
    });
  assert.equal((await call("GET", "connections/c1/tables")).status, 401, "nobody signed in");
  assert.equal((await call("POST", "test-connection")).status, 401, "nobody signed in");
  const viewer = await token("viewer", "read");
  assert.notEqual((await call("GET", "connections/c1/tables", viewer)).status, 401, "read permission lists tables");
  assert.equal((await call("POST", "test-connection", viewer)).status, 401, "read permission cannot test with the stored secret");
  assert.equal((await call("POST", "tables", viewer)).status, 401, "read permission cannot send dialog values");
  const admin = await token("admin", "*");
  const tested = await call("POST", "test-connection", admin);
  assert.equal(tested.status, 200);
  assert.equal(((await tested.json()) as { ok: boolean }).ok, false, "answers (the connection points at a tenant that is not there)");
});
