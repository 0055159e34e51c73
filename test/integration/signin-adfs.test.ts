// cloud adfs in real Node-RED: an on-premises organization whose server application signs in at AD FS
// (the emulator's /adfs/ on its login server) with a client secret, and the Web API on an older
// version path (apiVersion).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectionNode, GUID, loadFlow, run, useTestEmulator, type FlowNode, type Msg } from "./harness";

const t = useTestEmulator();

function adfsConnection(overrides: FlowNode = {}): FlowNode {
  return connectionNode(t.emu, { cloud: "adfs", authority: t.emu.adfs.authority, tenant: "", authType: "secret", ...overrides });
}

async function load(nodes: FlowNode[], connection = adfsConnection(), credentials: Record<string, string> = {}): Promise<void> {
  await loadFlow(t.emu, nodes, {
    connection,
    credentials: { conn: { clientId: t.emu.adfs.clientId, clientSecret: t.emu.adfs.clientSecret, ...credentials } },
  });
}

const whoAmI = { id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] };
const create = { id: "c", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] };

async function requests(server: string): Promise<Msg[]> {
  return (await t.api.requests()).filter((r) => r.server === server);
}

describe("AD FS", () => {
  it("signs in with a client secret, and WhoAmI and a create use /api/data/v9.0/", async () => {
    await load([whoAmI, create], adfsConnection({ apiVersion: "9.0" }));
    const who = await run("w", {});
    assert.equal(who.kind, "out", JSON.stringify(who.msg.error));
    assert.match(who.msg.payload.UserId, GUID);
    const created = await run("c", { payload: { name: "On-premises account" } });
    assert.equal(created.kind, "out", JSON.stringify(created.msg.error));
    assert.match(created.msg.payload.accountid ?? created.msg.rowId ?? "", GUID);

    const login = await requests("login");
    assert.deepEqual(
      login.map((r) => `${r.method} ${r.path}`),
      ["GET /adfs/.well-known/openid-configuration", "POST /adfs/oauth2/token/"],
      "OIDC discovery at the AD FS URL, then one token request",
    );
    const form = new URLSearchParams(login[1].body);
    assert.equal(form.get("grant_type"), "client_credentials");
    assert.equal(form.get("client_id"), t.emu.adfs.clientId);
    assert.equal(form.get("scope"), `${t.emu.dataverseUrl}/.default`, "the organization URL is the resource, embedded in the scope");
    const paths = (await requests("dataverse")).map((r) => r.path);
    assert.ok(paths.length >= 2);
    for (const path of paths) assert.match(path, /^\/api\/data\/v9\.0\//);
  });

  it("one token request for the token's lifetime, and one new token after a 401", async () => {
    await load([whoAmI]);
    for (let i = 0; i < 3; i++) assert.equal((await run("w", {})).kind, "out");
    assert.equal((await t.api.stats()).tokenRequests, 1);
    await t.api.invalidateTokens();
    for (let i = 0; i < 3; i++) assert.equal((await run("w", {})).kind, "out");
    assert.equal((await t.api.stats()).tokenRequests, 2);
    for (const path of (await requests("dataverse")).map((r) => r.path)) assert.match(path, /^\/api\/data\/v9\.2\//, "9.2 by default");
  });

  it("a wrong client secret: AD FS's MSIS9622 in plain words, without the secret", async () => {
    await load([whoAmI], adfsConnection(), { clientSecret: "not-the-secret" });
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "MSIS9622");
    assert.match(msg.error.message, /AD FS did not accept the client secret/);
    assert.ok(!JSON.stringify(msg).includes("not-the-secret"));
  });

  it("a server application without permission on the organization: MSIS9605 says how to grant it", async () => {
    await load([whoAmI], adfsConnection(), t.emu.adfs.noPermission);
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "MSIS9605");
    assert.match(msg.error.message, /Grant-AdfsApplicationPermission/);
  });

  it("an AD FS URL where no AD FS answers: says the authority URL is not a sign-in service", async () => {
    await load([whoAmI], adfsConnection({ authority: `${t.emu.dataverseUrl}/adfs` }));
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /answered HTTP 404 when asked for its OpenID configuration/);
    assert.match(msg.error.message, /https:\/\/<your AD FS host>\/adfs/);
  });

  it("an AD FS URL without /adfs is a connection error before any request", async () => {
    await load([whoAmI], adfsConnection({ authority: `https://${t.emu.authorityHost}/` }));
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /AD FS URL must be the AD FS host followed by \/adfs/);
    assert.equal((await t.api.requests()).length, 0);
  });

  it("an unknown apiVersion is a connection error naming the versions", async () => {
    await load([whoAmI], adfsConnection({ apiVersion: "9.3" }));
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /Web API version '9\.3' is not supported: use one of 8\.0, 8\.1, 8\.2, 9\.0, 9\.1, 9\.2/);
    assert.equal((await t.api.requests()).length, 0);
  });
});
