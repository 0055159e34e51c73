// Every behaviour of the node contract, in a real Node-RED against the emulator.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { collect, GUID, helper, loadFlow, run, useTestEmulator } from "./harness";

const t = useTestEmulator();

describe("dataverse-whoami", () => {
  it("answers who the connection signs in as", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }]);
    const { kind, msg } = await run("n1", { payload: "go" });
    assert.equal(kind, "out");
    assert.deepEqual(Object.keys(msg.payload).sort(), ["BusinessUnitId", "OrganizationId", "UserId"]);
    assert.match(msg.payload.UserId, GUID);
    assert.equal(msg.dataverse.status, 200);
    assert.match(msg.dataverse.requestId, GUID);
  });
});

describe("create → update → retrieve with no settings but the table", () => {
  it("chains through msg.rowId and msg.payload", async () => {
    await loadFlow(t.emu, [
      { id: "c", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", row: "payload", rowType: "msg", wires: [["set"]] },
      { id: "set", type: "change", rules: [{ t: "set", p: "payload", pt: "msg", to: '{"telephone1":"555-0199"}', tot: "json" }], wires: [["u"]] },
      { id: "u", type: "dataverse-update", connection: "conn", table: "accounts", tableType: "str", wires: [["r"]] },
      {
        id: "r",
        type: "dataverse-retrieve",
        connection: "conn",
        table: "accounts",
        tableType: "str",
        select: "name,telephone1",
        selectType: "str",
        wires: [["out"]],
      },
    ]);
    const { kind, msg } = await run("c", { payload: { name: "Chain Ltd", telephone1: "555-0100" } });
    assert.equal(kind, "out", JSON.stringify(msg.error));
    assert.match(msg.rowId, GUID);
    assert.equal(msg.payload.name, "Chain Ltd");
    assert.equal(msg.payload.telephone1, "555-0199");
    assert.equal(msg.payload.accountid, msg.rowId);
    assert.match(msg.dataverse.etag, /^W\/"\d+"$/);
    assert.equal(msg.dataverse.rowId, msg.rowId);
  });
});

describe("dataverse-create", () => {
  it("reads the new id from OData-EntityId (204)", async () => {
    await loadFlow(t.emu, [
      { id: "n1", type: "dataverse-create", connection: "conn", table: "contacts", tableType: "str", row: "payload", rowType: "msg", wires: [["out"]] },
    ]);
    const { msg } = await run("n1", { payload: { firstname: "Ada", lastname: "Lovelace" } });
    assert.equal(msg.dataverse.status, 204);
    assert.match(msg.rowId, GUID);
    assert.deepEqual(msg.payload, { firstname: "Ada", lastname: "Lovelace" }, "payload is left alone without returnRow");
    const rows = await t.api.rows("contacts");
    assert.ok(rows.some((r) => r.contactid === msg.rowId && r.lastname === "Lovelace"));
  });

  it("returns the created row with returnRow (201)", async () => {
    await loadFlow(t.emu, [
      {
        id: "n1",
        type: "dataverse-create",
        connection: "conn",
        table: "accounts",
        tableType: "str",
        row: '{"name":"Fixed","revenue":5}',
        rowType: "json",
        returnRow: true,
        wires: [["out"]],
      },
    ]);
    const { msg } = await run("n1", {});
    assert.equal(msg.dataverse.status, 201);
    assert.equal(msg.payload.name, "Fixed");
    assert.equal(msg.payload.accountid, msg.rowId);
    assert.match(msg.dataverse.etag, /^W\//);
    assert.equal(msg.payload["@odata.context"], undefined);
  });

  it("reads the table from msg and the row from a JSONata expression", async () => {
    await loadFlow(t.emu, [
      {
        id: "n1",
        type: "dataverse-create",
        connection: "conn",
        table: "table",
        tableType: "msg",
        row: '{"name": "J-" & payload}',
        rowType: "jsonata",
        wires: [["out"]],
      },
    ]);
    const { kind, msg } = await run("n1", { table: "accounts", payload: "42" });
    assert.equal(kind, "out", msg.error?.message);
    const rows = await t.api.rows("accounts");
    assert.ok(rows.some((r) => r.accountid === msg.rowId && r.name === "J-42"));
  });

  it("takes rows and keys built in a function node (objects from the function sandbox)", async () => {
    await loadFlow(t.emu, [
      { id: "fn", type: "function", func: 'msg.payload = { name: "From a function", numberofemployees: 7 }; return msg;', outputs: 1, wires: [["c"]] },
      { id: "c", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["key"]] },
      {
        id: "key",
        type: "function",
        func: 'msg.rowId = { accountnumber: "FN-1" }; msg.payload = { accountnumber: "FN-1" }; return msg;',
        outputs: 1,
        wires: [["u"]],
      },
      { id: "u", type: "dataverse-update", connection: "conn", table: "accounts", tableType: "str", mode: "upsert", wires: [["out"]] },
    ]);
    const { kind, msg } = await run("fn", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.ok((await t.api.rows("accounts")).some((r) => r.name === "From a function" && r.numberofemployees === 7));
  });

  it("reports Dataverse's own validation errors at Catch", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] }]);
    const { kind, msg } = await run("n1", { payload: { nosuchcolumn: 1 } });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 400);
    assert.equal(msg.dataverse.code, "0x80060888");
    assert.match(msg.error.message, /nosuchcolumn/);
  });
});

describe("dataverse-retrieve", () => {
  it("retrieves by id with $select and $expand", async () => {
    const [contactId] = (await t.api.seed("contacts", [{ firstname: "Pat", lastname: "Lee" }])).ids;
    const [accountId] = (
      await t.api.seed("accounts", [{ name: "Expand Co", "primarycontactid@odata.bind": `/contacts(${contactId})`, _primarycontactid_value: contactId }])
    ).ids;
    await loadFlow(t.emu, [
      {
        id: "n1",
        type: "dataverse-retrieve",
        connection: "conn",
        table: "accounts",
        tableType: "str",
        rowId: "rowId",
        rowIdType: "msg",
        select: '["name"]',
        selectType: "json",
        expand: "primarycontactid($select=fullname)",
        expandType: "str",
        wires: [["out"]],
      },
    ]);
    const { kind, msg } = await run("n1", { rowId: accountId });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.name, "Expand Co");
    assert.equal(msg.payload.accountid, accountId);
    assert.equal(msg.payload.primarycontactid.fullname, "Pat Lee");
    assert.equal(msg.dataverse.rowId, accountId);
  });

  it("retrieves by alternate key, single and compound, with quotes in values", async () => {
    await t.api.seed("accounts", [{ name: "Keyed", accountnumber: "O'Neil/7 & co" }]);
    await t.api.seed("contacts", [{ firstname: "Joe", lastname: "Key", emailaddress1: "joe+x@example.com" }]);
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-retrieve", connection: "conn", table: "table", tableType: "msg", wires: [["out"]] }]);
    const single = await run("n1", { table: "accounts", rowId: { accountnumber: "O'Neil/7 & co" } });
    assert.equal(single.kind, "out", single.msg.error?.message);
    assert.equal(single.msg.payload.name, "Keyed");
    assert.match(single.msg.dataverse.rowId, GUID);
    const compound = await run("n1", { table: "contacts", rowId: { firstname: "Joe", emailaddress1: "joe+x@example.com" } });
    assert.equal(compound.kind, "out", compound.msg.error?.message);
    assert.equal(compound.msg.payload.lastname, "Key");
  });

  it("sends a missing row to Catch with 404 and the Dataverse code", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-retrieve", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] }]);
    const byId = await run("n1", { rowId: "00000000-0000-0000-0000-00000000dead" });
    assert.equal(byId.kind, "caught");
    assert.deepEqual(
      { status: byId.msg.dataverse.status, code: byId.msg.dataverse.code, retryable: byId.msg.dataverse.retryable },
      { status: 404, code: "0x80040217", retryable: false },
    );
    assert.match(byId.msg.error.message, /No row in 'accounts' has the id/);
    const byKey = await run("n1", { rowId: { accountnumber: "nope" } });
    assert.equal(byKey.msg.dataverse.code, "0x80048d02");
    const wrongTable = await run("n1", { rowId: "00000000-0000-0000-0000-00000000dead", table: "x" });
    assert.equal(wrongTable.msg.dataverse.status, 404);
  });

  it("explains an unknown table name, before sending the request", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-retrieve", connection: "conn", table: "acounts", tableType: "str", wires: [["out"]] }]);
    await t.api.clearRequests();
    const { msg } = await run("n1", { rowId: "00000000-0000-0000-0000-000000000001" });
    assert.equal(msg.dataverse.code, "0x8006088a");
    assert.match(msg.error.message, /Table 'acounts' does not exist.*entity set name \(plural.*or the logical name/);
    const sent = (await t.api.requests()).filter((r) => r.server === "dataverse").map((r) => decodeURIComponent(r.path));
    assert.deepEqual(sent, ["/api/data/v9.2/EntityDefinitions"], "only the metadata lookup");
  });

  it("accepts the logical name as the table, resolved to its entity set through metadata", async () => {
    await loadFlow(t.emu, [
      { id: "n1", type: "dataverse-retrieve", connection: "conn", table: "account", tableType: "str", select: "name", selectType: "str", wires: [["out"]] },
    ]);
    const { kind, msg } = await run("n1", { rowId: SEED_IDS.contosoAccount });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.accountid, SEED_IDS.contosoAccount);
    const again = await run("n1", { rowId: SEED_IDS.fabrikamAccount });
    assert.equal(again.kind, "out");
    const lookups = (await t.api.requests()).filter((r) => r.path.endsWith("EntityDefinitions"));
    assert.equal(lookups.length, 1, "the table is looked up once per connection");
  });
});

describe("dataverse-update", () => {
  it("update mode: a missing row is an error, an existing row is updated", async () => {
    const [id] = (await t.api.seed("accounts", [{ name: "Before" }])).ids;
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-update", connection: "conn", table: "accounts", tableType: "str", mode: "update", wires: [["out"]] }]);
    const missing = await run("n1", { rowId: "00000000-0000-0000-0000-00000000beef", payload: { name: "x" } });
    assert.equal(missing.kind, "caught");
    assert.equal(missing.msg.dataverse.status, 404);
    assert.equal(
      (await t.api.rows("accounts")).some((r) => r.accountid === "00000000-0000-0000-0000-00000000beef"),
      false,
    );
    const ok = await run("n1", { rowId: id, payload: { name: "After" } });
    assert.equal(ok.kind, "out");
    assert.equal(ok.msg.dataverse.status, 204);
    assert.equal(ok.msg.rowId, id);
    const log = await t.api.requests();
    const patch = log.filter((r) => r.method === "PATCH").at(-1)!;
    assert.equal(patch.headers["if-match"], "*");
  });

  it("upsert mode creates a missing row, by id and by alternate key, then updates it", async () => {
    await loadFlow(t.emu, [
      { id: "n1", type: "dataverse-update", connection: "conn", table: "dv_iotdevices", tableType: "str", mode: "upsert", returnRow: true, wires: [["out"]] },
    ]);
    const first = await run("n1", { rowId: { dv_serialnumber: "SN-9000" }, payload: { dv_name: "Probe", dv_temperature: 20.5 } });
    assert.equal(first.kind, "out", first.msg.error?.message);
    assert.match(first.msg.rowId, GUID);
    assert.equal(first.msg.payload.dv_serialnumber, "SN-9000");
    const second = await run("n1", { rowId: { dv_serialnumber: "SN-9000" }, payload: { dv_temperature: 22 } });
    assert.equal(second.msg.rowId, first.msg.rowId);
    assert.equal(second.msg.payload.dv_temperature, 22);
    const devices = (await t.api.rows("dv_iotdevices")).filter((r) => r.dv_serialnumber === "SN-9000");
    assert.equal(devices.length, 1);
    const byId = await run("n1", { rowId: "00000000-0000-0000-0000-0000000000ab", payload: { dv_name: "By id", dv_serialnumber: "SN-AB" } });
    assert.equal(byId.kind, "out", byId.msg.error?.message);
    assert.equal(byId.msg.rowId, "00000000-0000-0000-0000-0000000000ab");
    const patches = (await t.api.requests()).filter((r) => r.method === "PATCH");
    assert.ok(
      patches.every((r) => r.headers["if-match"] === undefined),
      "upsert sends no If-Match",
    );
  });

  it("msg.etag makes the write conditional: current etag succeeds, stale etag is a 412 at Catch", async () => {
    const [id] = (await t.api.seed("accounts", [{ name: "Etag" }])).ids;
    await loadFlow(t.emu, [
      { id: "get", type: "dataverse-retrieve", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] },
      { id: "n1", type: "dataverse-update", connection: "conn", table: "accounts", tableType: "str", returnRow: true, wires: [["out"]] },
    ]);
    const read = await run("get", { rowId: id });
    const etag = read.msg.dataverse.etag;
    const ok = await run("n1", { rowId: id, etag, payload: { name: "Etag 2" } });
    assert.equal(ok.kind, "out", ok.msg.error?.message);
    assert.notEqual(ok.msg.dataverse.etag, etag);
    const stale = await run("n1", { rowId: id, etag, payload: { name: "Etag 3" } });
    assert.equal(stale.kind, "caught");
    assert.equal(stale.msg.dataverse.status, 412);
    assert.match(stale.msg.error.message, /changed by someone else/);
    assert.equal((await t.api.rows("accounts")).find((r) => r.accountid === id)!.name, "Etag 2");
  });
});

describe("the connection", () => {
  it("sends the OData headers on every request, and a JSON content type with a body", async () => {
    await loadFlow(t.emu, [
      { id: "c", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["r"]] },
      { id: "r", type: "dataverse-retrieve", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] },
    ]);
    assert.equal((await run("c", { payload: { name: "Headers" } })).kind, "out");
    const all = (await t.api.requests()).filter((r) => r.server === "dataverse");
    assert.ok(all.every((r) => r.headers["odata-maxversion"] === "4.0" && r.headers.accept === "application/json"));
    // Metadata lookups: the table's id column, and whether it takes bulk messages (once per table).
    const calls = all.filter((r) => !r.path.includes("EntityDefinitions") && !r.path.includes("sdkmessagefilters"));
    assert.deepEqual(
      calls.map((r) => r.method),
      ["POST", "GET"],
    );
    for (const call of calls) {
      assert.equal(call.headers["odata-maxversion"], "4.0");
      assert.equal(call.headers["odata-version"], "4.0");
      assert.equal(call.headers.accept, "application/json");
      assert.match(call.headers.authorization, /^Bearer /);
    }
    assert.equal(calls[0].headers["content-type"], "application/json; charset=utf-8");
    assert.equal(calls[1].headers["content-type"], undefined);
    assert.ok(calls[0].path.startsWith("/api/data/v9.2/"));
  });

  it("takes every connection field from environment variables written as ${NAME}", async () => {
    const env: Record<string, string> = {
      DV_TEST_URL: t.emu.dataverseUrl,
      DV_TEST_TENANT: t.emu.tenantId,
      DV_TEST_CLOUD: "custom",
      DV_TEST_AUTHORITY: t.emu.authorityHost,
      DV_TEST_CLIENT_ID: t.emu.clientId,
      DV_TEST_CLIENT_SECRET: t.emu.clientSecret,
    };
    Object.assign(process.env, env);
    try {
      await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }], {
        connection: {
          id: "conn",
          type: "dataverse-connection",
          url: "${DV_TEST_URL}",
          tenant: "${DV_TEST_TENANT}",
          cloud: "${DV_TEST_CLOUD}",
          authority: "${DV_TEST_AUTHORITY}",
          authType: "secret",
        },
        credentials: { conn: { clientId: "${DV_TEST_CLIENT_ID}", clientSecret: "${DV_TEST_CLIENT_SECRET}" } },
      });
      const { kind, msg } = await run("n1", {});
      assert.equal(kind, "out", msg.error?.message);
      assert.match(msg.payload.UserId, GUID);
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
  });

  it("makes one token request for many messages, on keep-alive connections", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-create", connection: "conn", table: "accounts", tableType: "str", wires: [["out"]] }]);
    const done = collect(100);
    for (let i = 0; i < 100; i++) helper.getNode("n1").receive({ payload: { name: `Burst ${i}` } });
    const outcomes = await done;
    assert.equal(outcomes.filter((o) => o.kind === "out").length, 100);
    const stats = await t.api.stats();
    assert.equal(stats.tokenRequests, 1);
    if (stats.connections !== undefined) assert.ok(stats.connections <= 20, `opened ${stats.connections} TLS connections for 100 requests`);
  });

  it("after tokens are revoked, a 401 leads to one new token and one retry", async () => {
    await loadFlow(t.emu, [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }]);
    assert.equal((await run("n1", {})).kind, "out");
    await t.api.invalidateTokens();
    await t.api.clearRequests();
    const done = collect(10);
    for (let i = 0; i < 10; i++) helper.getNode("n1").receive({});
    const outcomes = await done;
    assert.ok(
      outcomes.every((o) => o.kind === "out"),
      JSON.stringify(outcomes.find((o) => o.kind === "caught")?.msg.error),
    );
    const log = await t.api.requests();
    const tokenPosts = log.filter((r) => r.server === "login" && r.method === "POST");
    assert.equal(tokenPosts.length, 1, "exactly one new token request");
    assert.ok(log.some((r) => r.server === "dataverse" && r.status === 401));
    assert.equal(log.filter((r) => r.server === "dataverse" && r.status === 200).length, 10);
  });
});
