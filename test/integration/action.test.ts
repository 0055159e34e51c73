// dataverse-action in a real Node-RED against the emulator: functions with parameter aliases, unbound
// and bound actions, a custom API, bad input (nothing sent), unknown operations and the wrong kind,
// retries (a function is asked again, an action whose answer was lost is not), the output's shape, and
// the editor's list of operations.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { ORGANIZATION_ID } from "../../emulator/identities";
import { GUID, helper, loadFlow, run, useTestEmulator, type FlowNode, type Msg } from "./harness";

const t = useTestEmulator();

function actionNode(settings: FlowNode): FlowNode {
  return { id: "a", type: "dataverse-action", connection: "conn", kind: "action", operationType: "str", wires: [["out"]], ...settings };
}

async function call(settings: FlowNode, msg: Msg): Promise<{ kind: string; msg: Msg }> {
  await loadFlow(t.emu, [actionNode(settings)]);
  return run("a", msg);
}

/** The Dataverse requests for an operation (metadata lookups left out). */
async function requestsFor(operation: string): Promise<Msg[]> {
  return (await t.api.requests()).filter((r) => r.server === "dataverse" && decodeURIComponent(r.path).includes(operation));
}

describe("functions", () => {
  it("RetrieveCurrentOrganization with an enum parameter: the answer without OData context", async () => {
    const { kind, msg } = await call(
      { kind: "function", operation: "RetrieveCurrentOrganization" },
      { payload: { AccessType: "Microsoft.Dynamics.CRM.EndpointAccessType'Default'" } },
    );
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal(msg.payload.Detail.OrganizationId, ORGANIZATION_ID);
    assert.equal(msg.payload.Detail.Endpoints.Keys[0], "WebApplication");
    assert.equal(msg.payload["@odata.context"], undefined);
    assert.equal(msg.dataverse.status, 200);
    assert.equal(msg.dataverse.operation, "RetrieveCurrentOrganization");
    assert.equal(msg.dataverse.kind, "function");
    assert.match(msg.dataverse.requestId, GUID);
    const [sent] = await requestsFor("RetrieveCurrentOrganization");
    assert.equal(sent.method, "GET");
    assert.equal(decodeURIComponent(sent.query), "@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'");
  });

  it("passes text with a quote, a number, a GUID, an enum, a record, a date and an array as aliases", async () => {
    const payload = {
      Text: "O'Brien & Sons/1?",
      Number: 12.5,
      Flag: false,
      Id: SEED_IDS.contosoAccount.toUpperCase(),
      When: "2024-05-01T10:00:00+02:00",
      Access: "Microsoft.Dynamics.CRM.EndpointAccessType'Internet'",
      Target: { "@odata.id": `accounts(${SEED_IDS.fabrikamAccount})` },
      Names: ["a", "b'c"],
    };
    const { kind, msg } = await call({ kind: "function", operation: "cr0a1_Describe" }, { payload });
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.deepEqual(msg.payload, {
      Received: "Access,Flag,Id,Names,Number,Target,Text,When",
      Text: "O'Brien & Sons/1?",
      Number: 12.5,
      Flag: false,
      Id: SEED_IDS.contosoAccount,
      When: "2024-05-01T10:00:00+02:00",
      Access: "Internet",
      TargetTable: "account",
      TargetId: SEED_IDS.fabrikamAccount,
      Names: ["a", "b'c"],
    });
    const [sent] = await requestsFor("cr0a1_Describe");
    assert.match(decodeURIComponent(sent.path), /cr0a1_Describe\(Text=@p1,Number=@p2,Flag=@p3,Id=@p4,When=@p5,Access=@p6,Target=@p7,Names=@p8\)$/);
    // Each value is percent-encoded, so the & and / in the text cannot break the query.
    assert.match(sent.query, /^@p1=%27O%27%27Brien%20%26%20Sons%2F1%3F%27&@p2=12.5&@p3=false&@p4=a1b2c3d4-0001-/);
    assert.match(
      decodeURIComponent(sent.query),
      /&@p6=Microsoft.Dynamics.CRM.EndpointAccessType'Internet'&@p7=\{"@odata.id":"accounts\(a1b2c3d4-0002-4a00-8a00-000000000002\)"\}&@p8=\["a","b'c"\]$/,
    );
  });

  it("WhoAmI with no parameters (fixed JSON {})", async () => {
    const { kind, msg } = await call({ kind: "function", operation: "WhoAmI", parameters: "{}", parametersType: "json" }, { payload: 1700000000000 });
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal(msg.payload.OrganizationId, ORGANIZATION_ID);
  });

  it("is asked again when its answer was lost (the connection dropped after Dataverse answered)", async () => {
    await t.api.addFault({ server: "dataverse", path: "RetrieveCurrentOrganization", action: "reset-after", times: 1 });
    const { kind, msg } = await call(
      {
        kind: "function",
        operation: "RetrieveCurrentOrganization",
        parameters: `{"AccessType":"Microsoft.Dynamics.CRM.EndpointAccessType'Default'"}`,
        parametersType: "json",
      },
      {},
    );
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal(msg.payload.Detail.OrganizationId, ORGANIZATION_ID);
    assert.equal((await requestsFor("RetrieveCurrentOrganization")).length, 2);
  });

  it("is asked again after a transient failure", async () => {
    await t.api.addFault({ server: "dataverse", path: "cr0a1_Describe", status: 502, times: 1 });
    const { kind, msg } = await call({ kind: "function", operation: "cr0a1_Describe" }, { payload: { Text: "again" } });
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal(msg.payload.Text, "again");
    assert.equal((await requestsFor("cr0a1_Describe")).length, 2);
  });
});

describe("actions", () => {
  it("cr0a1_Echo (a custom API): POST with the parameters as JSON, the answer in msg.payload", async () => {
    const { kind, msg } = await call({ operation: "cr0a1_Echo" }, { payload: { Text: "hello", Number: 3, Flag: true } });
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.deepEqual(msg.payload, { Text: "hello", Number: 3, Flag: true, Target: null });
    assert.equal(msg.dataverse.kind, "action");
    const [sent] = await requestsFor("cr0a1_Echo");
    assert.equal(sent.method, "POST");
    assert.deepEqual(JSON.parse(sent.body), { Text: "hello", Number: 3, Flag: true });
  });

  it("cr0a1_Touch, bound to a row: 204 leaves no payload, the row is written", async () => {
    const { kind, msg } = await call(
      { operation: "cr0a1_Touch", table: "account", tableType: "str", rowId: "rowId", rowIdType: "msg", parameters: '{"Note":"seen"}', parametersType: "json" },
      { rowId: SEED_IDS.contosoAccount, payload: "anything" },
    );
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal(msg.dataverse.status, 204);
    assert.equal(msg.payload, undefined);
    const [sent] = await requestsFor("cr0a1_Touch");
    assert.equal(decodeURIComponent(sent.path), `/api/data/v9.2/accounts(${SEED_IDS.contosoAccount})/Microsoft.Dynamics.CRM.cr0a1_Touch`);
    const rows = await t.api.rows("accounts");
    assert.equal(rows.find((r) => r.accountid === SEED_IDS.contosoAccount)?.description, "seen");
  });

  it("is not sent again when its answer was lost: OutcomeUnknown", async () => {
    await t.api.addFault({ server: "dataverse", path: "cr0a1_Echo", action: "reset-after", times: 1 });
    const { kind, msg } = await call({ operation: "cr0a1_Echo" }, { payload: { Text: "once" } });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "OutcomeUnknown");
    assert.match(msg.error.message, /may or may not have applied it/);
    assert.equal((await requestsFor("cr0a1_Echo")).length, 1);
  });

  it("is sent again after a 503 (Dataverse did not take it)", async () => {
    await t.api.addFault({ server: "dataverse", path: "cr0a1_Echo", status: 503, times: 1 });
    const { kind, msg } = await call({ operation: "cr0a1_Echo" }, { payload: { Text: "retry" } });
    assert.equal(kind, "out", JSON.stringify(msg.dataverse));
    assert.equal((await requestsFor("cr0a1_Echo")).length, 2);
  });
});

describe("bad input sends nothing", () => {
  const cases: Array<[string, FlowNode, Msg, string, RegExp]> = [
    ["no operation", { operation: "" }, { payload: {} }, "operation", /operation is empty/],
    ["an operation that is no name", { operation: "Win Opportunity" }, { payload: {} }, "operation", /not an operation name/],
    ["a kind that is neither", { kind: "procedure", operation: "cr0a1_Echo" }, { payload: {} }, "kind", /kind must be action or function/],
    ["parameters that are no object", { operation: "cr0a1_Echo" }, { payload: ["Text"] }, "parameters", /parameters must be an object.*msg\.payload/],
    ["a bad rowId", { operation: "cr0a1_Touch", table: "accounts", tableType: "str", rowId: "12", rowIdType: "str" }, { payload: {} }, "rowId", /not a row id/],
    ["a rowId without table", { operation: "cr0a1_Touch", rowId: SEED_IDS.contosoAccount, rowIdType: "str" }, { payload: {} }, "table", /table is empty/],
    ["a number that is not finite", { kind: "function", operation: "cr0a1_Describe" }, { payload: { Number: Infinity } }, "parameters", /finite number/],
  ];
  for (const [what, settings, input, field, message] of cases) {
    it(what, async () => {
      const { kind, msg } = await call(settings, input);
      assert.equal(kind, "caught");
      assert.equal(msg.dataverse.code, "InvalidInput");
      assert.match(msg.error.message, message);
      const sent = (await t.api.requests()).filter((r) => r.server === "dataverse" && /cr0a1|Microsoft\.Dynamics/.test(decodeURIComponent(r.path)));
      assert.deepEqual(sent, [], `nothing was sent (${field})`);
    });
  }
});

describe("Dataverse's errors, with what to change", () => {
  it("an unknown operation", async () => {
    const { kind, msg } = await call({ operation: "cr0a1_Nope" }, { payload: {} });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 404);
    assert.equal(msg.dataverse.code, "0x8006088a");
    assert.match(
      msg.error.message,
      /^DataverseError: Dataverse has no action named 'cr0a1_Nope' \(unbound\)\. Check the operation name .* \(HTTP 404, 0x8006088a, Resource not found for the segment 'cr0a1_Nope'\.\)$/,
    );
  });

  it("a bound operation on the wrong table", async () => {
    const { msg } = await call(
      { operation: "cr0a1_Touch", table: "contacts", tableType: "str", rowId: SEED_IDS.yvonneContact, rowIdType: "str" },
      { payload: {} },
    );
    assert.match(
      msg.error.message,
      new RegExp(`^DataverseError: Dataverse has no action named 'cr0a1_Touch' bound to contacts\\(${SEED_IDS.yvonneContact}\\)`),
    );
  });

  it("a function called as an action, and an action as a function", async () => {
    const asAction = await call({ kind: "action", operation: "RetrieveCurrentOrganization" }, { payload: {} });
    assert.equal(asAction.msg.dataverse.status, 405);
    assert.match(asAction.msg.error.message, /^DataverseError: 'RetrieveCurrentOrganization' is not an action: set the node's kind to function/);
    await helper.unload();
    const asFunction = await call({ kind: "function", operation: "cr0a1_Echo" }, { payload: { Text: "x" } });
    assert.match(asFunction.msg.error.message, /^DataverseError: 'cr0a1_Echo' is not a function: set the node's kind to action/);
  });

  it("a missing required parameter", async () => {
    const { msg } = await call({ operation: "cr0a1_Echo" }, { payload: { Number: 1 } });
    assert.equal(msg.dataverse.status, 400);
    assert.match(
      msg.error.message,
      /^DataverseError: Dataverse did not accept the parameters of action 'cr0a1_Echo'.*Request message has unresolved parameters\.\)$/,
    );
  });
});

describe("the editor's list of operations", () => {
  before(() => new Promise<void>((resolve, reject) => helper.startServer((err?: Error) => (err ? reject(err) : resolve()))));
  after(() => new Promise<void>((resolve) => helper.stopServer(() => resolve())));

  it("lists the deployed connection's actions and functions with kind, binding and parameters", async () => {
    await loadFlow(t.emu, [actionNode({ operation: "WhoAmI" })]);
    const res = await helper.request().get("/dataverse/connections/conn/operations");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.ok, true);
    const byName = (name: string) => res.body.operations.find((o: Msg) => o.name === name);
    assert.deepEqual(byName("WhoAmI"), { name: "WhoAmI", kind: "function", parameters: [], returns: "mscrm.WhoAmIResponse" });
    assert.deepEqual(byName("RetrieveCurrentOrganization").parameters, [{ name: "AccessType", type: "mscrm.EndpointAccessType", required: true }]);
    assert.deepEqual(byName("cr0a1_Touch").boundTo, { table: "account", collection: false });
    assert.deepEqual(byName("CreateMultiple").boundTo, { table: "crmbaseentity", collection: true });
    assert.equal(byName("cr0a1_Echo").kind, "action");
  });

  it("lists them for a connection that is only in the dialog, and never answers the secret", async () => {
    const res = await helper
      .request()
      .post("/dataverse/operations")
      .set("Content-Type", "application/json")
      .send({
        connection: {
          id: "new-conn",
          url: t.emu.dataverseUrl,
          tenant: t.emu.tenantId,
          cloud: "custom",
          authority: t.emu.authorityHost,
          authType: "secret",
          tls: "",
          clientId: t.emu.clientId,
          clientSecret: t.emu.clientSecret,
        },
      });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.ok, true);
    assert.ok(res.body.operations.some((o: Msg) => o.name === "cr0a1_Describe" && o.kind === "function"));
    assert.ok(!res.text.includes(t.emu.clientSecret));
  });
});
