// authType managedIdentity on a host without managed identity: msal-node finds no endpoint variable and
// falls back to the instance metadata service, here pointed at a closed port on 127.0.0.1 (never at
// the real metadata address). Its own file, because msal-node picks the source once per process.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectionNode, loadFlow, run, useTestEmulator } from "./harness";
import { useOnlyLoopbackManagedIdentity } from "./managed-identity-env";

const t = useTestEmulator();

describe("managed identity not available", () => {
  before(() => useOnlyLoopbackManagedIdentity({}));

  it("says managed identity is not available on this host, and where it works", async () => {
    const connection = connectionNode(t.emu, { authType: "managedIdentity", tenant: "", cloud: "public", authority: "" });
    await loadFlow(t.emu, [{ id: "w", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], { connection, credentials: { conn: {} } });
    const { kind, msg } = await run("w", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "ManagedIdentityUnavailable");
    assert.match(msg.error.message, /Managed identity is not available on this host \(ECONNREFUSED\)/);
    assert.match(msg.error.message, /App Service/);
    assert.equal((await t.api.requests()).length, 0, "nothing reached the emulator");
  });
});
