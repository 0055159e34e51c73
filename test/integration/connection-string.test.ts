// A connection configured by one environment variable holding a .NET connection string (the
// connectionString credential set to ${DATAVERSE_CONNECTION_STRING}): it signs in and asks WhoAmI; a
// string of a type the connection cannot use, or a broken one, is a connection error naming the field.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { GUID, helper, loadFlow, run, useTestEmulator, type FlowNode } from "./harness";

const ENV = "DATAVERSE_CONNECTION_STRING";
const ctx = useTestEmulator();

/** The connection as the dialog saves it when only the connection string is set. */
function emptyConnection(overrides: FlowNode = {}): FlowNode {
  return { id: "conn", type: "dataverse-connection", name: "from env", url: "", tenant: "", cloud: "public", authority: "", authType: "secret", ...overrides };
}

function connectionString(emu: RunningEmulator): string {
  // Quoted, spaced and in another order, as people write them.
  return `Url = ${emu.dataverseUrl} ; authtype=ClientSecret; AppId='${emu.clientId}'; Secret="${emu.clientSecret.replace(/"/g, '""')}"; Authority=https://${emu.authorityHost}/${emu.tenantId}; LoginPrompt=Never`;
}

async function loadWith(connection: FlowNode, credentials: Record<string, string>): Promise<void> {
  await loadFlow(ctx.emu, [{ id: "who", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], { connection, credentials: { conn: credentials } });
}

describe("connectionString credential", () => {
  afterEach(() => {
    delete process.env[ENV];
  });

  it("from ${DATAVERSE_CONNECTION_STRING} alone: signs in and asks WhoAmI", async () => {
    process.env[ENV] = connectionString(ctx.emu);
    await loadWith(emptyConnection(), { connectionString: `\${${ENV}}` });
    const outcome = await run("who", {});
    assert.equal(outcome.kind, "out", JSON.stringify(outcome.msg.error));
    assert.match(outcome.msg.payload.UserId, GUID);
    const signIns = (await ctx.api.requests()).filter((r) => /token/.test(String(r.path ?? r.url)));
    assert.ok(signIns.length >= 1, "signed in at the emulator's authority");
  });

  it("fills only what the connection leaves empty: a client ID set in the connection wins", async () => {
    process.env[ENV] = connectionString(ctx.emu).replace(ctx.emu.clientId, "00000000-0000-0000-0000-000000000001");
    await loadWith(emptyConnection(), { connectionString: `\${${ENV}}`, clientId: ctx.emu.clientId });
    assert.equal((await run("who", {})).kind, "out");
  });

  for (const [name, text, reason] of [
    [
      "AuthType=OAuth with a password",
      "AuthType=OAuth;Username=jsmith@contoso.onmicrosoft.com;Password=Pa55-word!;Url=https://contoso.crm.dynamics.com",
      /OAuth signs in as a person/,
    ],
    [
      "AuthType=IFD with a user name",
      "AuthType=IFD;Url=https://contoso.example.com;Domain=CONTOSO;Username=jsmith;Password=Pa55-word!",
      /IFD signs in as a person/,
    ],
    ["a broken grammar", "AuthType=ClientSecret;Pa55-word!", /part 2 has no '='/],
    [
      "a thumbprint",
      "AuthType=Certificate;Url=https://contoso.crm.dynamics.com;ClientId=51f81489-12ee-4a9e-aaae-a2591f45987d;Thumbprint=DE8E44A9",
      /thumbprint.*Windows certificate store/,
    ],
    ["an unset environment variable", `\${${ENV}}`, /environment variable \$\{DATAVERSE_CONNECTION_STRING\}, which is not set/],
  ] as const) {
    it(`${name}: the connection is incomplete and says why, naming connectionString, without the password`, async () => {
      await loadWith(emptyConnection(name === "a thumbprint" ? { authType: "certificate" } : {}), { connectionString: text });
      const problem = (helper.getNode("conn") as unknown as { problem?: { field?: string; message: string } }).problem;
      assert.equal(problem?.field, "connectionString");
      assert.match(problem.message, reason);
      const status = (helper.getNode("who") as any).status.args.map((a: unknown[]) => a[0]);
      assert.match(status.at(-1).text, /status\.incomplete$/); // the catalogue key: the helper loads no catalogues
      const outcome = await run("who", {});
      assert.equal(outcome.kind, "caught");
      assert.match(outcome.msg.error.message, /The Dataverse connection 'from env' is incomplete\. The connection string /);
      assert.match(outcome.msg.error.message, reason);
      assert.ok(!JSON.stringify(outcome.msg).includes("Pa55-word!"), "the password is not repeated");
    });
  }
});
