// The client secret, access tokens and connection strings never appear in a msg, a log line, a node
// status, a debug message, an error, the process output or an exported flow.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { nodeRedRequire } from "../node-red";
import { collect, control, credentialsFor, connectionNode, helper, nodes, run, startTestEmulator } from "./harness";

const debugNode = nodeRedRequire("@node-red/nodes/core/common/21-debug.js");

let emu: RunningEmulator;
let api: ReturnType<typeof control>;
const output: string[] = [];
const restore: Array<() => void> = [];

before(async () => {
  emu = await startTestEmulator();
  api = control(emu);
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
});
after(async () => {
  delete process.env.LEAK_TEST_CONNECTION_STRING;
  restore.forEach((r) => r());
  await helper.unload();
  await emu.close();
});

it("no secret or token leaks anywhere, through success, 401 retry, sign-in failure and bad input", async () => {
  const flow = [
    { id: "tab", type: "tab", label: "leak" },
    connectionNode(emu),
    { ...connectionNode(emu), id: "badconn", name: "wrong secret" },
    { id: "who", type: "dataverse-whoami", z: "tab", connection: "conn", wires: [["out", "dbg"]] },
    { id: "make", type: "dataverse-create", z: "tab", connection: "conn", table: "accounts", tableType: "str", returnRow: true, wires: [["out", "dbg"]] },
    { id: "bad", type: "dataverse-whoami", z: "tab", connection: "badconn", wires: [["out", "dbg"]] },
    // configured by a connection string alone (from an environment variable), and by one that cannot be used
    { id: "csconn", type: "dataverse-connection", name: "from a connection string", url: "", tenant: "", cloud: "public", authType: "secret" },
    { id: "oauthconn", type: "dataverse-connection", name: "a person's", url: "", tenant: "", cloud: "public", authType: "secret" },
    { id: "cswho", type: "dataverse-whoami", z: "tab", connection: "csconn", wires: [["out", "dbg"]] },
    { id: "oauthwho", type: "dataverse-whoami", z: "tab", connection: "oauthconn", wires: [["out", "dbg"]] },
    { id: "dbg", type: "debug", z: "tab", active: true, tosidebar: true, console: true, tostatus: true, complete: "true", targetType: "full" },
    { id: "out", type: "helper", z: "tab", wires: [] },
    { id: "catch-all", type: "catch", z: "tab", scope: null, wires: [["caught", "dbg"]] },
    { id: "caught", type: "helper", z: "tab", wires: [] },
  ];
  const connectionString = `AuthType=ClientSecret;Url=${emu.dataverseUrl};ClientId=${emu.clientId};ClientSecret='${emu.clientSecret}';Authority=https://${emu.authorityHost}/${emu.tenantId}`;
  process.env.LEAK_TEST_CONNECTION_STRING = connectionString;
  const personPassword = "Person-Pa55word!";
  const credentials = {
    ...credentialsFor(emu),
    badconn: { clientId: emu.clientId, clientSecret: `${emu.clientSecret}-wrong` },
    csconn: { connectionString: "${LEAK_TEST_CONNECTION_STRING}" },
    oauthconn: { connectionString: `AuthType=OAuth;Username=jsmith@contoso.onmicrosoft.com;Password=${personPassword};Url=https://contoso.crm.dynamics.com` },
  };
  await helper.load([...nodes, debugNode], flow as Parameters<typeof helper.load>[1], credentials);

  const messages: unknown[] = [];
  const record = (o: { msg: unknown }) => messages.push(o.msg);
  record(await run("who", {}));
  record(await run("make", { payload: { name: "Leak check" } }));
  await api.invalidateTokens();
  record(await run("who", {}));
  const failed = await run("bad", {});
  assert.equal(failed.kind, "caught");
  record(failed);
  record(await run("make", { payload: "not an object" }));
  const fromString = await run("cswho", {});
  assert.equal(fromString.kind, "out", "the connection string signs in");
  record(fromString);
  const person = await run("oauthwho", {});
  assert.match(person.msg.error.message, /AuthType=OAuth signs in as a person/);
  record(person);
  const burst = collect(5);
  for (let i = 0; i < 5; i++) helper.getNode("who").receive({});
  (await burst).forEach(record);

  // What the runtime would hand the editor for export (the admin API's GET /flows); the package test
  // checks the real admin API and flow file of a Node-RED started from the CLI.
  const exported = (helper as unknown as { _redNodes: { getFlows(): unknown } })._redNodes.getFlows();

  const statuses = flow.flatMap((n) => {
    const node = helper.getNode(n.id as string) as any;
    return node?.status?.args ?? [];
  });
  const logged = helper.log().args;
  const tokens = (await api.requests())
    .map((r) => String(r.headers?.authorization ?? ""))
    .filter((h) => h.startsWith("Bearer "))
    .map((h) => h.slice(7));
  assert.ok(new Set(tokens).size >= 2, "two tokens were issued (before and after revocation)");

  const haystacks: Record<string, string> = {
    messages: JSON.stringify(messages),
    statuses: JSON.stringify(statuses),
    log: JSON.stringify(logged),
    output: output.join(""),
    exportedFlow: JSON.stringify(exported),
  };
  assert.ok(haystacks.log.includes("client secret is wrong"), "the sign-in error was logged (so the log was captured)");
  for (const [where, text] of Object.entries(haystacks)) {
    assert.ok(!text.includes(emu.clientSecret), `the client secret appears in ${where}`);
    assert.ok(!text.includes(personPassword), `the password of a connection string appears in ${where}`);
    assert.ok(!text.includes(`ClientId=${emu.clientId}`), `a connection string appears in ${where}`);
    for (const token of new Set(tokens)) {
      assert.ok(!text.includes(token), `an access token appears in ${where}`);
      assert.ok(!text.includes(token.split(".")[1] ?? token), `part of an access token appears in ${where}`);
    }
  }
});
