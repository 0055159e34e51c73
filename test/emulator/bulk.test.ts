// Bulk operation messages (reference E.3): CreateMultiple, UpdateMultiple, UpsertMultiple, all or
// nothing on standard tables; which tables support them (sdkmessagefilters) and the answer where not.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, GUID_RE, readBatchResponse, useEmulator, type BatchPart, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const DEVICE = "Microsoft.Dynamics.CRM.dv_iotdevice";
const device = (fields: Record<string, unknown>) => ({ "@odata.type": DEVICE, ...fields });
const bulk = (set: string, message: string, targets: unknown[]) =>
  client.api("POST", `${set}/Microsoft.Dynamics.CRM.${message}`, { body: { Targets: targets } });
const devices = () => emu.control.rows("dv_iotdevices");
const bySerial = (serial: string) => devices().find((r) => r.dv_serialnumber === serial);

function assertError(res: HttpResult, status: number, code: string, message?: string | RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json().error.code, code);
  if (typeof message === "string") assert.equal(res.json().error.message, message);
  else if (message) assert.match(res.json().error.message, message);
}

describe("CreateMultiple", () => {
  it("creates the targets in order and answers their ids; a client-chosen id is honoured", async () => {
    const chosen = "0d0d0d0d-0000-4000-8000-000000000001";
    const res = await bulk("dv_iotdevices", "CreateMultiple", [
      device({ dv_name: "Bulk 1", dv_serialnumber: "B-1" }),
      device({ dv_iotdeviceid: chosen, dv_name: "Bulk 2", dv_serialnumber: "B-2", "dv_accountid@odata.bind": `accounts(${SEED_IDS.contosoAccount})` }),
      device({ dv_name: "Bulk 3", dv_serialnumber: "B-3" }),
    ]);
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`);
    assert.equal(body.Ids.length, 3);
    assert.ok(body.Ids.every((id: string) => GUID_RE.test(id)));
    assert.equal(body.Ids[1], chosen);
    assert.deepEqual(
      body.Ids.map((id: string) => devices().find((r) => r.dv_iotdeviceid === id)?.dv_name),
      ["Bulk 1", "Bulk 2", "Bulk 3"],
    );
    assert.equal(bySerial("B-2")!._dv_accountid_value, SEED_IDS.contosoAccount);
  });

  it("is one request, logged with its number of targets; rows created are counted", async () => {
    await client.accessToken();
    emu.control.resetStats();
    emu.control.clearRequests();
    const targets = Array.from({ length: 250 }, (_, i) => device({ dv_name: `N${i}` }));
    assert.equal((await bulk("dv_iotdevices", "CreateMultiple", targets)).status, 200);
    const [entry] = emu.control.requests({ server: "dataverse" });
    assert.equal(entry.operations, 250);
    const stats = emu.control.stats();
    assert.equal(stats.dataverseRequests, 1);
    assert.equal(stats.rowsCreated, 250);
  });

  it("is all or nothing: one bad target fails the request with its error and nothing is written", async () => {
    const before = devices().length;
    const bad = await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_name: "Ok 1" }), device({ dv_name: "Ok 2" }), device({ dv_batterylevel: 101 })]);
    assertError(bad, 400, "0x80044331", /The value 101 of 'dv_batterylevel' on record of type 'dv_iotdevice' is outside the valid range/);
    const unknown = await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_name: "Ok" }), device({ nosuch: 1 })]);
    assertError(unknown, 400, "0x80060888", /The property 'nosuch' does not exist on type 'Microsoft.Dynamics.CRM.dv_iotdevice'/);
    const existing = await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_name: "Ok" }), device({ dv_iotdeviceid: SEED_IDS.boilerDevice })]);
    assertError(existing, 412, "0x80040237", "Cannot insert duplicate key.");
    const twice = "0d0d0d0d-0000-4000-8000-000000000002";
    assertError(await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_iotdeviceid: twice }), device({ dv_iotdeviceid: twice })]), 412, "0x80040237");
    const key = await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_serialnumber: "K-1" }), device({ dv_serialnumber: "SN-0001" })]);
    assertError(key, 412, "0x80040237", /The entity key Serial Number Key requires that this set of attributes contains unique values/);
    assert.equal(devices().length, before);
    assert.equal(emu.control.stats().rowsCreated, 0);
  });

  it("needs @odata.type on every target, naming the bound table", async () => {
    assertError(
      await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_name: "Typed" }), { dv_name: "Untyped" }]),
      400,
      "0x80060888",
      "The property 'dv_name' does not exist on type 'Microsoft.Dynamics.CRM.crmbaseentity'. Make sure to only use property names that are defined by the type.",
    );
    assertError(
      await bulk("dv_iotdevices", "CreateMultiple", [{ "@odata.type": "Microsoft.Dynamics.CRM.account", name: "Wrong table" }]),
      400,
      "0x80040203",
      /does not match the entity set 'dv_iotdevices'/,
    );
    assertError(
      await bulk("dv_iotdevices", "CreateMultiple", [{ "@odata.type": "Microsoft.Dynamics.CRM.nosuchtable" }]),
      400,
      "0x80060888",
      "A type named 'Microsoft.Dynamics.CRM.nosuchtable' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.",
    );
    assert.equal((await bulk("dv_iotdevices", "CreateMultiple", [{ "@odata.type": `#${DEVICE}`, dv_name: "Hash prefix" }])).status, 200);
    assertError(await client.api("POST", "dv_iotdevices/Microsoft.Dynamics.CRM.CreateMultiple", { body: { targets: [] } }), 400, "0x80060888", /'Targets'/);
  });
});

describe("UpdateMultiple", () => {
  it("updates every target by primary id (204); a repeated id uses the first", async () => {
    const { Ids } = (await bulk("dv_iotdevices", "CreateMultiple", [device({ dv_name: "U1" }), device({ dv_name: "U2" })])).json();
    const res = await bulk("dv_iotdevices", "UpdateMultiple", [
      device({ dv_iotdeviceid: Ids[0], dv_batterylevel: 10 }),
      device({ dv_iotdeviceid: Ids[1], dv_batterylevel: 20 }),
      device({ dv_iotdeviceid: Ids[0], dv_batterylevel: 99 }),
    ]);
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, "");
    const level = (id: string) => devices().find((r) => r.dv_iotdeviceid === id)!.dv_batterylevel;
    assert.deepEqual([level(Ids[0]), level(Ids[1])], [10, 20]);
    assert.equal(devices().find((r) => r.dv_iotdeviceid === Ids[0])!.dv_name, "U1", "columns not sent are kept");
  });

  it("needs the primary id (no alternate keys) and an existing row; a failure rolls every update back", async () => {
    assertError(
      await bulk("dv_iotdevices", "UpdateMultiple", [device({ "@odata.id": "dv_iotdevices(dv_serialnumber='SN-0001')", dv_batterylevel: 1 })]),
      400,
      "0x80040203",
      "Entity Id must be specified for Update",
    );
    const missing = "9e9e9e9e-0000-4000-8000-000000000009";
    const res = await bulk("dv_iotdevices", "UpdateMultiple", [
      device({ dv_iotdeviceid: SEED_IDS.boilerDevice, dv_batterylevel: 1 }),
      device({ dv_iotdeviceid: missing, dv_batterylevel: 2 }),
    ]);
    assertError(res, 404, "0x80040217", `dv_iotdevice With Ids = ${missing} Do Not Exist`);
    assert.equal(bySerial("SN-0001")!.dv_batterylevel, 87);
    assert.equal(emu.control.stats().rowsUpdated, 0);
  });
});

describe("UpsertMultiple", () => {
  it("creates or updates by alternate key (@odata.id) or primary id; 204", async () => {
    const newId = "0d0d0d0d-0000-4000-8000-000000000003";
    const res = await bulk("dv_iotdevices", "UpsertMultiple", [
      device({ "@odata.id": "dv_iotdevices(dv_serialnumber='SN-0001')", dv_name: "Updated by key" }),
      device({ "@odata.id": "dv_iotdevices(dv_serialnumber='UP-1')", dv_name: "Created by key" }),
      device({ dv_iotdeviceid: newId, dv_name: "Created by id" }),
      device({ "@odata.id": `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices(${newId.replace(/3$/, "4")})`, dv_name: "Created by URL" }),
    ]);
    assert.equal(res.status, 204, res.text);
    assert.equal(bySerial("SN-0001")!.dv_name, "Updated by key");
    assert.equal(bySerial("UP-1")!.dv_name, "Created by key");
    assert.equal(devices().find((r) => r.dv_iotdeviceid === newId)!.dv_name, "Created by id");
    assert.ok(devices().some((r) => r.dv_name === "Created by URL"));
    const stats = emu.control.stats();
    assert.deepEqual([stats.rowsCreated, stats.rowsUpdated], [3, 1]);
  });

  it("fails on two targets naming the same row, writing nothing", async () => {
    const before = devices().length;
    const res = await bulk("dv_iotdevices", "UpsertMultiple", [
      device({ "@odata.id": "dv_iotdevices(dv_serialnumber='DUP-1')", dv_name: "First" }),
      device({ "@odata.id": "dv_iotdevices(dv_serialnumber='dup-1')", dv_name: "Second (keys compare case-insensitively)" }),
    ]);
    assertError(res, 400, "0x80040203", /more than one record with the same primary key or alternate key values/);
    const byIdAndKey = await bulk("dv_iotdevices", "UpsertMultiple", [
      device({ dv_iotdeviceid: SEED_IDS.boilerDevice, dv_batterylevel: 5 }),
      device({ "@odata.id": "dv_iotdevices(dv_serialnumber='SN-0001')", dv_batterylevel: 6 }),
    ]);
    assertError(byIdAndKey, 400, "0x80040203");
    assert.equal(devices().length, before);
    assert.equal(bySerial("SN-0001")!.dv_batterylevel, 87);
  });
});

describe("bulk message support per table", () => {
  it("sdkmessagefilters finds CreateMultiple/UpdateMultiple where supported, nothing for contacts or UpsertMultiple", async () => {
    const filters = (message: string, table: string) =>
      client.api("GET", `sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq '${message}' and primaryobjecttypecode eq '${table}'`);
    const res = await filters("CreateMultiple", "account");
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#sdkmessagefilters(sdkmessagefilterid)`);
    assert.equal(body.value.length, 1);
    assert.deepEqual(Object.keys(body.value[0]), ["@odata.etag", "sdkmessagefilterid"]);
    assert.match(body.value[0].sdkmessagefilterid, GUID_RE);
    assert.equal((await filters("UpdateMultiple", "dv_iotdevice")).json().value.length, 1);
    assert.deepEqual((await filters("CreateMultiple", "contact")).json().value, []);
    assert.deepEqual((await filters("UpdateMultiple", "contact")).json().value, []);
    assert.deepEqual((await filters("UpsertMultiple", "account")).json().value, [], "Microsoft: the query finds no UpsertMultiple rows");
    assert.equal((await filters("Create", "contact")).json().value.length, 1);
  });

  it("sdkmessagefilters takes parameter aliases as in Microsoft's sample; unknown columns are a 400", async () => {
    const res = await client.api(
      "GET",
      "sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and primaryobjecttypecode eq @table&@message='CreateMultiple'&@table='dv_iotdevice'",
    );
    assert.equal(res.json().value.length, 1);
    const again = await client.api("GET", `sdkmessagefilters(${res.json().value[0].sdkmessagefilterid})?$select=primaryobjecttypecode`);
    assert.equal(again.json().primaryobjecttypecode, "dv_iotdevice");
    assertError(await client.api("GET", "sdkmessagefilters?$filter=nosuch eq 1"), 400, "0x80060888", /Could not find a property named 'nosuch'/);
  });

  it("a bulk message on a table without it answers 400 0x80040800; DeleteMultiple is for elastic tables only", async () => {
    for (const message of ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"]) {
      const res = await bulk("contacts", message, [{ "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "No" }]);
      assertError(
        res,
        400,
        "0x80040800",
        `The '${message}' method does not support entities of type 'contact'. MessageProcessorCache returned MessageProcessor.Empty.`,
      );
    }
    assertError(await bulk("accounts", "DeleteMultiple", []), 400, "0x80040800", /The 'DeleteMultiple' method does not support entities of type 'account'/);
    assertError(await bulk("accounts", "NoSuchAction", []), 404, "0x8006088a");
    const get = await client.api("GET", "accounts/Microsoft.Dynamics.CRM.CreateMultiple");
    assert.equal(get.status, 405);
  });

  it("a bulk message inside a $batch change set rolls back with it", async () => {
    const before = devices().length;
    const res = await client.batch([
      {
        changeSet: [
          {
            method: "POST",
            url: "/api/data/v9.2/dv_iotdevices/Microsoft.Dynamics.CRM.CreateMultiple",
            contentId: "1",
            body: { Targets: [device({ dv_name: "In batch" })] },
          },
          { method: "POST", url: "/api/data/v9.2/accounts", contentId: "2", body: { name: "x".repeat(161) } },
        ],
      },
    ]);
    assert.equal(res.status, 400);
    const [[failed]] = readBatchResponse(res) as BatchPart[][];
    assert.equal(failed.partHeaders["content-id"], "2");
    assert.equal(devices().length, before);
  });
});
