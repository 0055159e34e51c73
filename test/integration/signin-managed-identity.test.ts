// authType managedIdentity in real Node-RED: system- and user-assigned identities through msal-node's
// ManagedIdentityApplication, which finds the emulator's endpoint the App Service way (IDENTITY_ENDPOINT
// and IDENTITY_HEADER, on 127.0.0.1). Nothing here may reach the instance metadata address: every
// variable msal-node reads is set or removed before the first token request.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connectionNode, GUID, helper, loadFlow, run, useTestEmulator, type Msg } from "./harness";
import { useOnlyLoopbackManagedIdentity } from "./managed-identity-env";

const t = useTestEmulator();

/** A WhoAmI node on a managed identity connection; clientId empty = system-assigned. */
async function loadWhoAmI(clientId = "", overrides: Record<string, unknown> = {}): Promise<void> {
  const connection = connectionNode(t.emu, { authType: "managedIdentity", tenant: "", cloud: "public", authority: "", ...overrides });
  await loadFlow(t.emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
    connection,
    credentials: { conn: clientId ? { clientId } : {} },
  });
}

async function identityRequests(): Promise<Msg[]> {
  return (await t.api.requests()).filter((r) => r.server === "identity");
}

describe("managed identity", () => {
  before(() => useOnlyLoopbackManagedIdentity({ IDENTITY_ENDPOINT: t.emu.managedIdentity.endpoint, IDENTITY_HEADER: t.emu.managedIdentity.header }));

  it("system-assigned: WhoAmI works, with one token request asked the App Service way", async () => {
    await loadWhoAmI();
    for (let i = 0; i < 3; i++) {
      const { kind, msg } = await run("w", {});
      assert.equal(kind, "out", JSON.stringify(msg.error));
      assert.match(msg.payload.UserId, GUID);
    }
    const asked = await identityRequests();
    assert.equal(asked.length, 1, "one token request for the token's lifetime");
    const query = new URLSearchParams(asked[0].query);
    assert.equal(asked[0].method, "GET");
    assert.equal(query.get("api-version"), "2019-08-01");
    assert.equal(query.get("resource"), t.emu.dataverseUrl);
    assert.equal(query.get("client_id"), null, "no client_id for the system-assigned identity");
    assert.equal(asked[0].headers["x-identity-header"], t.emu.managedIdentity.header);
  });

  it("user-assigned by client ID: the token request names it, and WhoAmI works", async () => {
    await loadWhoAmI(t.emu.managedIdentity.userAssignedClientId);
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "out", JSON.stringify(msg.error));
    const [asked] = await identityRequests();
    assert.equal(new URLSearchParams(asked.query).get("client_id"), t.emu.managedIdentity.userAssignedClientId);
  });

  it("a client ID of an identity not assigned to this host: a plain sign-in error naming it", async () => {
    const unknown = randomUUID();
    await loadWhoAmI(unknown);
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "ManagedIdentityNotAssigned");
    assert.match(msg.error.message, new RegExp(`client ID ${unknown} is not assigned to this host`));
    assert.match(msg.error.message, /Unable to load the proper Managed Identity/);
    assert.ok(!JSON.stringify(msg).includes(t.emu.managedIdentity.header), "the IDENTITY_HEADER secret stays out of the message");
  });

  it("an identity without an application user signs in, and Dataverse's 403 says to add it", async () => {
    await loadWhoAmI(t.emu.managedIdentity.noApplicationUserClientId);
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 403);
    assert.match(msg.error.message, /not an application user/);
  });

  it("an environment URL the identity's tenant does not know: AADSTS500011 in plain words", async () => {
    await loadWhoAmI("", { url: "https://127.0.0.2:9" });
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "AADSTS500011");
    assert.match(msg.error.message, /environment https:\/\/127\.0\.0\.2:9 was not found in the managed identity's tenant/);
  });

  it("a client ID that is not a GUID is a connection error naming the field", async () => {
    await loadWhoAmI("my-identity");
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /Client ID \(a GUID/);
    assert.equal(await identityRequests().then((r) => r.length), 0);
  });

  it("a token Dataverse no longer accepts (401) leads to exactly one new token request", async () => {
    await loadWhoAmI();
    assert.equal((await run("w", {})).kind, "out");
    await t.api.invalidateTokens();
    for (let i = 0; i < 3; i++) assert.equal((await run("w", {})).kind, "out");
    assert.equal((await identityRequests()).length, 2);
  });

  it("after a redeploy the new connection's transport carries the token request (msal keeps its first source)", async () => {
    await loadWhoAmI();
    assert.equal((await run("w", {})).kind, "out");
    await helper.unload();
    await loadWhoAmI(t.emu.managedIdentity.userAssignedClientId, { name: "redeployed" });
    await t.api.addFault({ server: "identity", method: "GET", status: 400, message: "Unable to load the proper Managed Identity.", times: 1 });
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    // msal-node kept the source it made for the first connection; the new one's request still goes out and is explained.
    assert.equal(msg.dataverse.code, "ManagedIdentityNotAssigned");
    assert.match(msg.error.message, /Unable to load the proper Managed Identity/);
  });
});
