// Bad input and bad connections: every message ends at a Catch node with a clear message, and where
// the input itself was invalid, no request reaches Dataverse.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { connectionNode, credentialsFor, helper, loadFlow, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

async function dataverseRequests(): Promise<number> {
  return (await t.api.requests()).filter((r) => r.server === "dataverse").length;
}

describe("invalid input never reaches Dataverse", () => {
  const cases: Array<{ name: string; node: Record<string, unknown>; msg: Record<string, unknown>; field: RegExp; advice: RegExp }> = [
    {
      name: "a row id that is not a GUID",
      node: { type: "dataverse-retrieve", table: "accounts" },
      msg: { rowId: "12345" },
      field: /rowId '12345' is not a row id/,
      advice: /GUID like .*alternate key object.*read from msg\.rowId/,
    },
    {
      name: "a key object with a nested value",
      node: { type: "dataverse-update", table: "accounts" },
      msg: { rowId: { accountnumber: { a: 1 } }, payload: {} },
      field: /key column 'accountnumber'/,
      advice: /text, numbers or true\/false/,
    },
    {
      name: "an empty table",
      node: { type: "dataverse-create", table: "" },
      msg: { payload: { name: "x" } },
      field: /table is empty/,
      advice: /entity set name, for example accounts/,
    },
    {
      name: "a table with ?",
      node: { type: "dataverse-create", table: "accounts?$top=1" },
      msg: { payload: {} },
      field: /table 'accounts\?\$top=1'/,
      advice: /letters, digits and underscores/,
    },
    {
      name: "a table with /",
      node: { type: "dataverse-retrieve", table: "accounts/x" },
      msg: { rowId: "00000000-0000-0000-0000-000000000001" },
      field: /table 'accounts\/x'/,
      advice: /letters, digits/,
    },
    {
      name: "a table with (",
      node: { type: "dataverse-retrieve", table: "accounts(1)" },
      msg: { rowId: "00000000-0000-0000-0000-000000000001" },
      field: /table 'accounts\(1\)'/,
      advice: /letters, digits/,
    },
    {
      name: "a row that is not an object",
      node: { type: "dataverse-create", table: "accounts" },
      msg: { payload: "name=Contoso" },
      field: /row must be an object/,
      advice: /read from msg\.payload/,
    },
    {
      name: "a row that is an array",
      node: { type: "dataverse-update", table: "accounts" },
      msg: { rowId: "00000000-0000-0000-0000-000000000001", payload: [1] },
      field: /row must be an object/,
      advice: /an array/,
    },
    {
      name: "a select that is not a column list",
      node: { type: "dataverse-retrieve", table: "accounts", select: "name;x", selectType: "str" },
      msg: { rowId: "00000000-0000-0000-0000-000000000001" },
      field: /select contains 'name;x'/,
      advice: /logical names/,
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, async () => {
      await loadFlow(t.emu, [{ id: "n1", connection: "conn", tableType: "str", wires: [["out"]], ...c.node }]);
      const before = await dataverseRequests();
      const { kind, msg } = await run("n1", c.msg);
      assert.equal(kind, "caught");
      assert.match(msg.error.message, c.field);
      assert.match(msg.error.message, c.advice);
      assert.deepEqual(msg.dataverse, { status: 0, code: "InvalidInput", message: msg.error.message.replace(/^DataverseError: /, ""), retryable: false });
      assert.equal(msg.error.source.id, "n1");
      assert.equal(await dataverseRequests(), before, "no request was sent");
    });
  }
});

describe("missing or unusable connections", () => {
  it("no connection selected: grey status, clear error", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "", wires: [["out"]] }], { connection: null, credentials: {} });
    const node = helper.getNode("n1") as any;
    assert.deepEqual(node.status.firstCall.args[0].fill, "grey");
    const { kind, msg } = await run("n1", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /No Dataverse connection is selected/);
  });

  const incomplete: Array<{ name: string; overrides?: Record<string, unknown>; creds?: Record<string, string>; message: RegExp }> = [
    { name: "without a client secret", creds: { clientSecret: "" }, message: /incomplete.*no client secret.*Certificates & secrets/ },
    { name: "without a client id", creds: { clientId: "" }, message: /no client ID/ },
    { name: "without a tenant", overrides: { tenant: "" }, message: /no tenant/ },
    {
      name: "with plain http to a non-loopback host",
      overrides: { url: "http://contoso.crm.dynamics.com" },
      message: /must start with https:\/\/ \(plain http is only allowed for localhost\)/,
    },
    { name: "with cloud custom and no authority", overrides: { authority: "" }, message: /Custom but no authority host/ },
  ];
  for (const c of incomplete) {
    it(`a connection ${c.name} shows a grey ring and fails each message clearly`, async () => {
      await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
        connection: connectionNode(t.emu, c.overrides),
        credentials: credentialsFor(t.emu, c.creds),
      });
      const node = helper.getNode("n1") as any;
      assert.equal(node.status.firstCall.args[0].fill, "grey");
      assert.equal(node.status.firstCall.args[0].shape, "ring");
      const { kind, msg } = await run("n1", {});
      assert.equal(kind, "caught");
      assert.match(msg.error.message, c.message);
      assert.equal(msg.dataverse.code, "InvalidConnection");
      assert.equal((await t.api.requests()).length, 0, "nothing was sent anywhere");
    });
  }
});

describe("sign-in and network failures", () => {
  const signIn: Array<{ name: string; overrides?: Record<string, unknown>; creds?: () => Record<string, string>; message: RegExp; code: string }> = [
    {
      name: "a wrong secret",
      creds: () => ({ clientSecret: "not-the-secret" }),
      message: /client secret is wrong.*Value \(not its Secret ID\)/,
      code: "AADSTS7000215",
    },
    {
      name: "an expired secret",
      creds: () => ({ clientId: t.emu.apps.expiredSecret.clientId, clientSecret: t.emu.apps.expiredSecret.clientSecret }),
      message: /has expired/,
      code: "AADSTS7000222",
    },
    {
      name: "an unknown app",
      creds: () => ({ clientId: "99999999-9999-4999-8999-999999999999" }),
      message: /no app with client ID 99999999/,
      code: "AADSTS700016",
    },
    {
      name: "an unknown tenant",
      overrides: { tenant: "nosuchtenant.onmicrosoft.com" },
      message: /tenant 'nosuchtenant.onmicrosoft.com' was not found/,
      code: "AADSTS90002",
    },
  ];
  for (const c of signIn) {
    it(`${c.name} ends at Catch with the AADSTS code and advice`, async () => {
      await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
        connection: connectionNode(t.emu, c.overrides),
        credentials: credentialsFor(t.emu, c.creds?.()),
      });
      const { kind, msg } = await run("n1", {});
      assert.equal(kind, "caught");
      assert.match(msg.error.message, c.message);
      assert.equal(msg.dataverse.code, c.code);
      assert.equal(await dataverseRequests(), 0);
    });
  }

  it("an environment not in the tenant (AADSTS500011)", async () => {
    // The emulator's sign-in endpoint only knows its own environment; point the URL elsewhere on loopback.
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      connection: connectionNode(t.emu, { url: "https://127.0.0.1:9" }),
    });
    const { msg } = await run("n1", {});
    assert.equal(msg.dataverse.code, "AADSTS500011");
    assert.match(msg.error.message, /environment https:\/\/127.0.0.1:9 was not found in tenant/);
  });

  it("an app without an application user gets a 403 with setup advice", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      credentials: credentialsFor(t.emu, t.emu.apps.noApplicationUser),
    });
    const { msg } = await run("n1", {});
    assert.equal(msg.dataverse.status, 403);
    assert.match(msg.error.message, /not an application user in this environment.*Application users/);
  });

  it("an unreachable sign-in host fails fast with the host named", async () => {
    const port = await closedPort();
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
      connection: connectionNode(t.emu, { authority: `127.0.0.1:${port}` }),
    });
    const started = Date.now();
    const { kind, msg } = await run("n1", {});
    assert.equal(kind, "caught");
    assert.ok(Date.now() - started < 2000, "a refused connection is not retried");
    assert.match(msg.error.message, new RegExp(`Cannot reach 127.0.0.1:${port}: the connection was refused`));
    assert.equal(msg.dataverse.code, "ECONNREFUSED");
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
