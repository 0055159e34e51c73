// The admin endpoints behind the editor: Test connection (with the dialog's values, before and after
// deploy, with the stored secret, with ${ENV} values, and each usual mistake), and the table and
// column lists (from the deployed connection, or from dialog values; cached). No answer holds the
// secret or a token.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectionNode, control, credentialsFor, helper, nodes, startTestEmulator, type FlowNode } from "./harness";
import { useOnlyLoopbackManagedIdentity } from "./managed-identity-env";

let emu: RunningEmulator;
let api: ReturnType<typeof control>;
const answers: string[] = [];

before(async () => {
  emu = await startTestEmulator();
  api = control(emu);
  await new Promise<void>((resolve, reject) => helper.startServer((err?: Error) => (err ? reject(err) : resolve())));
});
after(async () => {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  await emu.close();
  // Every answer of every test: none holds the secret, an access token or a bearer header.
  const all = answers.join("\n");
  assert.ok(!all.includes(emu.clientSecret), "no answer holds the client secret");
  assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(all) && !/bearer/i.test(all), "no answer holds a token");
});

/** What the connection dialog sends for the emulator's connection. */
function dialog(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "new-conn",
    url: emu.dataverseUrl,
    tenant: emu.tenantId,
    cloud: "custom",
    authority: emu.authorityHost,
    authType: "secret",
    tls: "",
    timeout: "60",
    clientId: emu.clientId,
    clientSecret: emu.clientSecret,
    ...overrides,
  };
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await helper
    .request()
    .post(path)
    .send(body as object)
    .set("Content-Type", "application/json");
  answers.push(res.text);
  return { status: res.status, body: res.body };
}

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await helper.request().get(path);
  answers.push(res.text);
  return { status: res.status, body: res.body };
}

/** Loads the package with only a tab (nothing deployed), or with the given connection nodes. */
async function deploy(connections: FlowNode[] = [], credentials: Record<string, Record<string, string>> = {}): Promise<void> {
  await helper.unload();
  await helper.load(nodes, [{ id: "tab", type: "tab", label: "admin" }, ...connections] as Parameters<typeof helper.load>[1], credentials);
}

function entityDefinitionRequests(requests: Array<Record<string, any>>): number {
  return requests.filter((r) => r.server === "dataverse" && String(r.path).includes("EntityDefinitions")).length;
}

describe("Test connection", () => {
  before(() => deploy());

  it("signs in with the dialog's values before anything is deployed, and answers who the app is", async () => {
    const res = await post("/dataverse/test-connection", dialog());
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ["businessUnitId", "ok", "organizationId", "userId"]);
    assert.equal(res.body.ok, true);
    assert.match(res.body.userId, /^[0-9a-f-]{36}$/);
    assert.match(res.body.organizationId, /^[0-9a-f-]{36}$/);
  });

  it("reads ${NAME} values from the environment", async () => {
    process.env.DV_ADMIN_TEST_URL = emu.dataverseUrl;
    process.env.DV_ADMIN_TEST_SECRET = emu.clientSecret;
    process.env.DV_ADMIN_TEST_CLOUD = "custom";
    try {
      const res = await post(
        "/dataverse/test-connection",
        dialog({ url: "${DV_ADMIN_TEST_URL}", cloud: "${DV_ADMIN_TEST_CLOUD}", clientSecret: "${DV_ADMIN_TEST_SECRET}" }),
      );
      assert.equal(res.body.ok, true, JSON.stringify(res.body));
    } finally {
      delete process.env.DV_ADMIN_TEST_URL;
      delete process.env.DV_ADMIN_TEST_SECRET;
      delete process.env.DV_ADMIN_TEST_CLOUD;
    }
  });

  const mistakes: Array<[string, Record<string, unknown>, (error: any) => void]> = [
    ["a wrong secret", { clientSecret: "not-the-secret" }, (e) => assert.equal(e.code, "AADSTS7000215")],
    ["an unknown tenant", { tenant: "00000000-0000-4000-8000-000000000000" }, (e) => assert.equal(e.code, "AADSTS90002")],
    [
      "an app without application user",
      { clientId: "4c3b2a19-0f8e-4d7c-b6a5-9483726150a3", clientSecret: "NoU8Q~n0.Appl1cati0n-User_Here-x1" },
      (e) => {
        assert.equal(e.status, 403);
        assert.match(e.message, /application user/);
      },
    ],
    // Sign-in asks for a token for <url>/.default first: Entra ID answers that no such environment exists.
    [
      "a wrong URL",
      { url: "https://wrongorg.crm.dynamics.com" },
      (e) => {
        assert.equal(e.code, "AADSTS500011");
        assert.match(e.message, /environment URL/);
      },
    ],
    ["a missing URL", { url: "" }, (e) => assert.equal(e.code, "InvalidConnection")],
    [
      "a missing secret (nothing stored)",
      { clientSecret: "" },
      (e) => {
        assert.equal(e.code, "InvalidConnection");
        assert.match(e.message, /no client secret/);
      },
    ],
  ];
  for (const [what, overrides, check] of mistakes) {
    it(`explains ${what}`, async () => {
      const res = await post("/dataverse/test-connection", dialog(overrides));
      assert.equal(res.status, 200);
      assert.equal(res.body.ok, false);
      assert.deepEqual(Object.keys(res.body).sort(), ["error", "ok"]);
      assert.ok(res.body.error.message.length > 20, res.body.error.message);
      check(res.body.error);
    });
  }

  it("uses the stored secret of a deployed connection when the field is unchanged (__PWRD__) or empty", async () => {
    await deploy([connectionNode(emu)], credentialsFor(emu));
    for (const clientSecret of ["__PWRD__", "", undefined]) {
      const res = await post("/dataverse/test-connection", dialog({ id: "conn", clientSecret }));
      assert.equal(res.body.ok, true, `${clientSecret}: ${JSON.stringify(res.body)}`);
    }
    // The dialog's other values win: a changed URL is tested with the stored secret.
    const moved = await post("/dataverse/test-connection", dialog({ id: "conn", clientSecret: "__PWRD__", url: "https://wrongorg.crm.dynamics.com" }));
    assert.equal(moved.body.error.code, "AADSTS500011");
    // A typed secret wins over the stored one.
    const typed = await post("/dataverse/test-connection", dialog({ id: "conn", clientSecret: "typed-wrong" }));
    assert.equal(typed.body.error.code, "AADSTS7000215");
  });

  it("never takes the stored credentials of another node type", async () => {
    await deploy([{ id: "other", type: "helper", z: "tab", wires: [] }], { other: { clientSecret: emu.clientSecret } });
    const res = await post("/dataverse/test-connection", dialog({ id: "other", clientSecret: "__PWRD__" }));
    assert.equal(res.body.ok, false);
    assert.match(res.body.error.message, /no client secret/);
  });
});

describe("Tables and columns", () => {
  beforeEach(() => api.reset());

  it("lists a deployed connection's tables by display name and entity set name, cached", async () => {
    await deploy([connectionNode(emu)], credentialsFor(emu));
    const first = await get("/dataverse/connections/conn/tables");
    assert.equal(first.status, 200);
    assert.equal(first.body.ok, true);
    assert.deepEqual(
      first.body.tables.find((t: any) => t.entitySetName === "accounts"),
      { entitySetName: "accounts", displayName: "Account", logicalName: "account" },
    );
    assert.ok(first.body.tables.some((t: any) => t.entitySetName === "dv_iotdevices"));
    const calls = entityDefinitionRequests(await api.requests());
    const again = await get("/dataverse/connections/conn/tables");
    assert.deepEqual(again.body, first.body);
    assert.equal(entityDefinitionRequests(await api.requests()), calls, "the second answer comes from the cache");
  });

  it("lists a deployed connection's columns of a table, and explains an unknown table", async () => {
    await deploy([connectionNode(emu)], credentialsFor(emu));
    const res = await get("/dataverse/connections/conn/tables/accounts/columns");
    assert.equal(res.body.ok, true);
    const names = res.body.columns.map((c: any) => c.logicalName);
    for (const column of ["accountid", "name", "telephone1"]) assert.ok(names.includes(column), column);
    assert.deepEqual(
      res.body.columns.find((c: any) => c.logicalName === "telephone1"),
      { logicalName: "telephone1", type: "String", displayName: "Main Phone" },
    );
    const byLogicalName = await get("/dataverse/connections/conn/tables/account/columns");
    assert.deepEqual(byLogicalName.body, res.body, "the logical name works too");
    const unknown = await get("/dataverse/connections/conn/tables/acount/columns");
    assert.equal(unknown.body.ok, false);
    assert.equal(unknown.body.error.code, "0x8006088a");
  });

  it("answers 404 for a connection that is not deployed, and the reason for an incomplete one", async () => {
    await deploy([connectionNode(emu, { url: "" })], credentialsFor(emu));
    const missing = await get("/dataverse/connections/nope/tables");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.ok, false);
    const incomplete = await get("/dataverse/connections/conn/tables");
    assert.equal(incomplete.body.ok, false);
    assert.equal(incomplete.body.error.code, "InvalidConnection");
  });

  it("lists tables and columns with the values of a connection not deployed yet", async () => {
    await deploy();
    const tables = await post("/dataverse/tables", { connection: dialog() });
    assert.equal(tables.body.ok, true, JSON.stringify(tables.body));
    assert.ok(tables.body.tables.some((t: any) => t.entitySetName === "contacts"));
    const columns = await post("/dataverse/columns", { connection: dialog(), table: "contacts" });
    assert.equal(columns.body.ok, true, JSON.stringify(columns.body));
    assert.ok(columns.body.columns.some((c: any) => c.logicalName === "fullname"));
    const calls = entityDefinitionRequests(await api.requests());
    await post("/dataverse/tables", { connection: dialog() });
    assert.equal(entityDefinitionRequests(await api.requests()), calls, "cached per connection settings");
    const wrong = await post("/dataverse/tables", { connection: dialog({ clientSecret: "wrong" }) });
    assert.equal(wrong.body.ok, false);
    assert.equal(wrong.body.error.code, "AADSTS7000215");
  });
});

describe("Test connection for each sign-in type", () => {
  let dir: string;
  before(async () => {
    await deploy();
    dir = mkdtempSync(path.join(tmpdir(), "dataverse-admin-signin-"));
    await useOnlyLoopbackManagedIdentity({ IDENTITY_ENDPOINT: emu.managedIdentity.endpoint, IDENTITY_HEADER: emu.managedIdentity.header });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const appDialog = (overrides: Record<string, unknown>) => dialog({ clientSecret: "", ...overrides });
  const cases: Array<[string, () => Record<string, unknown>]> = [
    [
      "certificate (PEM)",
      () => {
        const cert = emu.credentials.registered;
        return appDialog({
          authType: "certificate",
          clientId: emu.assertionApps.certificate,
          certificate: cert.certificatePem,
          privateKey: cert.privateKeyPem,
        });
      },
    ],
    ["managed identity (system-assigned)", () => appDialog({ authType: "managedIdentity", clientId: "", tenant: "", cloud: "public", authority: "" })],
    [
      "workload identity (token file)",
      () => {
        const tokenFile = path.join(dir, "token");
        writeFileSync(tokenFile, emu.credentials.federatedToken());
        return appDialog({ authType: "workloadIdentity", clientId: emu.assertionApps.workloadIdentity, tokenFile });
      },
    ],
    [
      "AD FS (client secret)",
      () =>
        dialog({
          cloud: "adfs",
          tenant: "",
          authority: emu.adfs.authority,
          clientId: emu.adfs.clientId,
          clientSecret: emu.adfs.clientSecret,
          apiVersion: "9.0",
        }),
    ],
    [
      "a connection string alone",
      () => ({
        id: "new-conn",
        cloud: "custom",
        authority: emu.authorityHost,
        connectionString: `AuthType=ClientSecret;Url=${emu.dataverseUrl};ClientId=${emu.clientId};ClientSecret='${emu.clientSecret}';TenantId=${emu.tenantId}`,
      }),
    ],
  ];
  for (const [type, body] of cases) {
    it(`${type}: signs in and answers who the app is`, async () => {
      const res = await post("/dataverse/test-connection", body());
      assert.equal(res.body.ok, true, JSON.stringify(res.body));
      assert.match(res.body.userId, /^[0-9a-f-]{36}$/);
    });
  }

  it("a certificate's private key never comes back, even in an error", async () => {
    const cert = emu.credentials.unregistered;
    const res = await post(
      "/dataverse/test-connection",
      appDialog({ authType: "certificate", clientId: emu.assertionApps.certificate, certificate: cert.certificatePem, privateKey: cert.privateKeyPem }),
    );
    assert.equal(res.body.ok, false);
    assert.equal(res.body.error.code, "AADSTS700027");
    assert.ok(!JSON.stringify(res.body).includes("PRIVATE KEY"));
  });
});
