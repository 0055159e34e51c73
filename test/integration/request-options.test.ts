// Request options in a real Node-RED against the emulator: each reaches Dataverse as its header (or
// the tag parameter), an impersonated create is the user's, bad values stop the message before
// anything is sent, missing privileges read clearly, and automatic bulk combines only writes whose
// options are the same.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { APPLICATION_USER_ID, LIMITED_CLIENT_ID, LIMITED_CLIENT_SECRET } from "../../emulator/identities";
import { USER_ID, USER_OBJECT_ID } from "../../emulator/users";
import { collect, connectionNode, credentialsFor, helper, loadFlow, run, type Msg, useTestEmulator } from "./harness";

const t = useTestEmulator();

const limited = { clientId: LIMITED_CLIENT_ID, clientSecret: LIMITED_CLIENT_SECRET };
const UNKNOWN_OBJECT_ID = "0f0f0f0f-1111-4222-8333-444455556666";

/** Every request option read from the message (msg.options.<name>). */
const fromMsg = Object.fromEntries(
  ["callerObjectId", "bypassPlugins", "bypassBusinessLogic", "suppressDuplicateDetection", "tag"].flatMap((name) => [
    [name, `options.${name}`],
    [`${name}Type`, "msg"],
  ]),
);

const node = (type: string, extra: Record<string, unknown> = {}) => ({ id: "n", type, connection: "conn", wires: [["out"]], ...fromMsg, ...extra });
const table = { table: "accounts", tableType: "str" };

const dataverseRequests = async () => (await t.api.requests()).filter((r) => r.server === "dataverse" && !/EntityDefinitions|sdkmessagefilters/.test(r.path));

async function newAccount(name: string): Promise<string> {
  await loadFlow(t.emu, [node("dataverse-create", { ...table, id: "seed" })]);
  const { kind, msg } = await run("seed", { payload: { name }, options: {} });
  assert.equal(kind, "out", JSON.stringify(msg.error));
  await helper.unload();
  return msg.rowId;
}

describe("request options reach Dataverse", () => {
  it("create: every option as its header, and the tag on the URL; the row is the user's", async () => {
    await loadFlow(t.emu, [node("dataverse-create", table)]);
    const options = {
      callerObjectId: USER_OBJECT_ID,
      bypassPlugins: true,
      bypassBusinessLogic: "CustomSync",
      suppressDuplicateDetection: true,
      tag: "from node-red",
    };
    await t.api.clearRequests();
    const { kind, msg } = await run("n", { payload: { name: "Impersonated" }, options });
    assert.equal(kind, "out", JSON.stringify(msg.error));
    const [create] = (await dataverseRequests()).filter((r) => r.method === "POST");
    assert.equal(create.headers.callerobjectid, USER_OBJECT_ID);
    assert.equal(create.headers["mscrm.bypasscustompluginexecution"], "true");
    assert.equal(create.headers["mscrm.bypassbusinesslogicexecution"], "CustomSync");
    assert.equal(create.headers["mscrm.suppressduplicatedetection"], "true");
    assert.equal(create.query, "tag=from%20node-red");
    const row = (await t.api.rows("accounts")).find((r) => r.accountid === msg.rowId)!;
    assert.equal(row._createdby_value, USER_ID);
    assert.equal(row._owninguser_value, USER_ID);
    assert.equal(row._createdonbehalfby_value, APPLICATION_USER_ID);
  });

  it("update, upsert, delete, retrieve and query send them too", async () => {
    const id = await newAccount("Target");
    const options = { callerObjectId: USER_OBJECT_ID, tag: "t" };
    const cases: Array<[Record<string, unknown>, Msg]> = [
      [node("dataverse-update", { ...table, mode: "update" }), { rowId: id, payload: { name: "Updated" } }],
      [node("dataverse-update", { ...table, mode: "upsert" }), { rowId: id, payload: { name: "Upserted" } }],
      [node("dataverse-retrieve", table), { rowId: id }],
      [node("dataverse-query", { ...table, maxRows: "5", maxRowsType: "num", pageSize: "5", pageSizeType: "num" }), {}],
      [node("dataverse-query", { queryType: "fetchxml", fetchXml: '<fetch top="2"><entity name="account" /></fetch>', fetchXmlType: "str" }), {}],
      [node("dataverse-delete", table), { rowId: id }],
    ];
    for (const [flowNode, msg] of cases) {
      await loadFlow(t.emu, [flowNode]);
      await t.api.clearRequests();
      const outcome = await run("n", { ...msg, options });
      assert.equal(outcome.kind, "out", `${String(flowNode.type)}: ${JSON.stringify(outcome.msg.error)}`);
      const sent = await dataverseRequests();
      assert.ok(sent.length >= 1, `${String(flowNode.type)} sent a request`);
      for (const r of sent) {
        assert.equal(r.headers.callerobjectid, USER_OBJECT_ID, `${r.method} ${r.path}`);
        assert.match(r.query, /(^|&)tag=t($|&)/, `${r.method} ${r.path}?${r.query}`);
      }
      await helper.unload();
    }
    const modified = await newAccount("Modified");
    await loadFlow(t.emu, [node("dataverse-update", { ...table, mode: "update" })]);
    await run("n", { rowId: modified, payload: { name: "Modified for Avery" }, options });
    const row = (await t.api.rows("accounts")).find((r) => r.accountid === modified)!;
    assert.equal(row._modifiedby_value, USER_ID);
    assert.equal(row._modifiedonbehalfby_value, APPLICATION_USER_ID);
  });

  it("batch: on every operation of the $batch, and on the $batch itself", async () => {
    await loadFlow(t.emu, [node("dataverse-batch")]);
    await t.api.clearRequests();
    const payload = [
      { op: "create", table: "accounts", row: { name: "Batch 1" } },
      { op: "create", table: "accounts", row: { name: "Batch 2" } },
    ];
    const { kind, msg } = await run("n", { payload, options: { callerObjectId: USER_OBJECT_ID, bypassPlugins: true, tag: "batch" } });
    assert.equal(kind, "out", JSON.stringify(msg.error));
    const batch = (await dataverseRequests()).find((r) => r.path.endsWith("$batch"))!;
    assert.equal(batch.headers.callerobjectid, USER_OBJECT_ID);
    assert.equal((batch.body.match(new RegExp(`CallerObjectId: ${USER_OBJECT_ID}`, "g")) ?? []).length, 2);
    assert.equal((batch.body.match(/MSCRM\.BypassCustomPluginExecution: true/g) ?? []).length, 2);
    assert.equal((batch.body.match(/accounts\?tag=batch HTTP\/1\.1/g) ?? []).length, 2);
    const rows = (await t.api.rows("accounts")).filter((r) => String(r.name).startsWith("Batch "));
    assert.deepEqual(
      rows.map((r) => r._createdby_value),
      [USER_ID, USER_ID],
    );
  });

  it("a flow saved before the options existed sends none of them", async () => {
    await loadFlow(t.emu, [{ id: "n", type: "dataverse-create", connection: "conn", ...table, wires: [["out"]] }]);
    await t.api.clearRequests();
    const { kind } = await run("n", { payload: { name: "Old flow" }, callerObjectId: USER_OBJECT_ID, tag: "ignored" });
    assert.equal(kind, "out");
    const [create] = (await dataverseRequests()).filter((r) => r.method === "POST");
    assert.equal(create.headers.callerobjectid, undefined);
    assert.equal(create.query, "");
    assert.deepEqual(
      Object.keys(create.headers).filter((h) => h.startsWith("mscrm.")),
      [],
    );
  });
});

describe("bad values and missing privileges", () => {
  it("a callerObjectId that is no GUID is an input error naming it and where it was read; nothing is sent", async () => {
    await loadFlow(t.emu, [node("dataverse-create", table)]);
    await t.api.clearRequests();
    const { kind, msg } = await run("n", { payload: { name: "x" }, options: { callerObjectId: "avery@contoso.com" } });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidInput");
    assert.match(msg.error.message, /callerObjectId must be the Entra ID object id.*'avery@contoso\.com'.*msg\.options\.callerObjectId/);
    assert.deepEqual(await t.api.requests(), []);
  });

  it("bypassBusinessLogic, the flags and the tag are checked the same way", async () => {
    await loadFlow(t.emu, [node("dataverse-retrieve", table)]);
    await t.api.clearRequests();
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ bypassBusinessLogic: "Everything" }, "bypassBusinessLogic"],
      [{ bypassPlugins: "yes" }, "bypassPlugins"],
      [{ suppressDuplicateDetection: 1 }, "suppressDuplicateDetection"],
      [{ tag: { a: 1 } }, "tag"],
    ];
    for (const [options, field] of bad) {
      const { kind, msg } = await run("n", { rowId: "00000000-0000-0000-0000-000000000001", options });
      assert.equal(kind, "caught", field);
      assert.match(msg.error.message, new RegExp(`^(DataverseError: )?${field} must be .*\\(${field} is read from msg\\.options\\.${field}\\)$`));
    }
    assert.deepEqual(await t.api.requests(), []);
  });

  it("an object id that is no user of the environment says so", async () => {
    await loadFlow(t.emu, [node("dataverse-create", table)]);
    const { kind, msg } = await run("n", { payload: { name: "x" }, options: { callerObjectId: UNKNOWN_OBJECT_ID } });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 404);
    assert.match(msg.error.message, /callerObjectId names no user of this environment/);
    assert.equal((await t.api.rows("accounts")).filter((r) => r.name === "x").length, 0);
  });

  it("delete with missing-is-OK does not take an unknown user for a missing row", async () => {
    const id = await newAccount("Kept");
    await loadFlow(t.emu, [node("dataverse-delete", { ...table, missingOk: true })]);
    const { kind, msg } = await run("n", { rowId: id, options: { callerObjectId: UNKNOWN_OBJECT_ID } });
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /callerObjectId names no user/);
  });

  it("an app without the privileges gets errors that name the option and the privilege", async () => {
    const credentials = credentialsFor(t.emu, limited);
    await loadFlow(t.emu, [node("dataverse-create", table)], { credentials });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ callerObjectId: USER_OBJECT_ID }, /callerObjectId \(acting for a user\) needs .*prvActOnBehalfOfAnotherUser.*Delegate/],
      [{ bypassPlugins: true }, /bypassPlugins needs .*prvBypassCustomPlugins/],
      [{ bypassBusinessLogic: "CustomAsync" }, /bypassBusinessLogic needs .*prvBypassCustomBusinessLogic/],
    ];
    for (const [options, message] of cases) {
      const { kind, msg } = await run("n", { payload: { name: "denied" }, options });
      assert.equal(kind, "caught");
      assert.equal(msg.dataverse.status, 403);
      assert.match(msg.error.message, message);
    }
    assert.equal((await t.api.rows("accounts")).filter((r) => r.name === "denied").length, 0);
  });
});

describe("automatic bulk", () => {
  it("combines only writes with the same options, and each bulk request carries them", async () => {
    await t.api.setConfig({ latencyMs: 20 });
    await loadFlow(t.emu, [node("dataverse-create", table)], { connection: connectionNode(t.emu, { concurrency: 1 }) });
    const count = 120;
    const done = collect(count, 60_000);
    // Three kinds of message, interleaved: plain, acting for the user, and tagged.
    const kinds = [{}, { callerObjectId: USER_OBJECT_ID }, { tag: "bulk" }];
    for (let i = 0; i < count; i++) helper.getNode("n").receive({ seq: i, payload: { name: `mixed ${i}` }, options: kinds[i % 3] });
    const outcomes = await done;
    assert.deepEqual(
      outcomes.filter((o) => o.kind === "caught").map((o) => o.msg.error),
      [],
    );
    const bulk = (await dataverseRequests()).filter((r) => r.path.endsWith("CreateMultiple"));
    assert.ok(bulk.length >= 3, `${bulk.length} CreateMultiple requests`);
    const rows = await t.api.rows("accounts");
    for (const r of bulk) {
      const names: string[] = JSON.parse(r.body).Targets.map((target: { name: string }) => target.name);
      const kindsIn = new Set(names.map((name) => Number(name.split(" ")[1]) % 3));
      assert.equal(kindsIn.size, 1, `one kind of options per bulk request: ${names.join(", ")}`);
      const kind = [...kindsIn][0];
      assert.equal(r.headers.callerobjectid, kind === 1 ? USER_OBJECT_ID : undefined);
      assert.equal(r.query, kind === 2 ? "tag=bulk" : "");
    }
    for (const { msg } of outcomes) {
      const row = rows.find((r) => r.accountid === msg.rowId)!;
      assert.equal(row._createdby_value, msg.seq % 3 === 1 ? USER_ID : APPLICATION_USER_ID, `row of message ${msg.seq}`);
    }
  });
});
