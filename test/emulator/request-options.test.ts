// Request options as Dataverse honours them: CallerObjectId acts for a user of the environment (and
// needs prvActOnBehalfOfAnotherUser), the bypass headers need their privileges, duplicate detection
// and the tag parameter are accepted, and the request log shows what each request ran as.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { APPLICATION_USER_ID, CLIENT_OBJECT_ID, LIMITED_CLIENT_ID, LIMITED_CLIENT_SECRET } from "../../emulator/identities";
import { USER_ID, USER_OBJECT_ID } from "../../emulator/users";
import { batchBody, Client, idFromEntityId, readBatchResponse, useEmulator, type BatchPart, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const limited = { clientId: LIMITED_CLIENT_ID, clientSecret: LIMITED_CLIENT_SECRET };
const UNKNOWN_OBJECT_ID = "0f0f0f0f-1111-4222-8333-444455556666";
const account = (name: string) => ({ name });

function assertError(res: HttpResult, status: number, code: string, message: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json().error.code, code);
  assert.match(res.json().error.message, message);
}

const created = (res: HttpResult) => emu.control.rows("accounts").find((r) => r.accountid === idFromEntityId(res.headers["odata-entityid"]))!;
const lastLogged = () => emu.control.requests({ server: "dataverse" }).at(-1)!;

describe("CallerObjectId", () => {
  it("acts for a user of the environment: createdby and owninguser are that user, createdonbehalfby the app", async () => {
    const res = await client.api("POST", "accounts", { headers: { CallerObjectId: USER_OBJECT_ID }, body: account("For Avery") });
    assert.equal(res.status, 204, res.text);
    const row = created(res);
    assert.equal(row._createdby_value, USER_ID);
    assert.equal(row._owninguser_value, USER_ID);
    assert.equal(row._createdonbehalfby_value, APPLICATION_USER_ID);
    assert.deepEqual(lastLogged().ranAs, { userId: USER_ID, onBehalfOf: APPLICATION_USER_ID, bypassPlugins: false, bypassBusinessLogic: "" });
    assert.equal(lastLogged().headers.callerobjectid, USER_OBJECT_ID);
  });

  it("without it, the app's own application user creates; naming the app itself is no impersonation", async () => {
    const plain = created(await client.api("POST", "accounts", { body: account("Plain") }));
    assert.equal(plain._createdby_value, APPLICATION_USER_ID);
    assert.equal(plain._createdonbehalfby_value, null);
    const self = created(await client.api("POST", "accounts", { headers: { CallerObjectId: CLIENT_OBJECT_ID }, body: account("Self") }));
    assert.equal(self._createdby_value, APPLICATION_USER_ID);
    assert.equal(self._createdonbehalfby_value, null);
  });

  it("WhoAmI answers the user acted for", async () => {
    const res = await client.api("GET", "WhoAmI", { headers: { CallerObjectId: USER_OBJECT_ID } });
    assert.equal(res.json().UserId, USER_ID);
  });

  it("an object id that is no user of the environment is a 404, and nothing is written", async () => {
    const before = emu.control.rows("accounts").length;
    const res = await client.api("POST", "accounts", { headers: { CallerObjectId: UNKNOWN_OBJECT_ID }, body: account("Nobody") });
    assertError(res, 404, "0x80040217", new RegExp(`^systemuser With Id = ${UNKNOWN_OBJECT_ID} Does Not Exist$`));
    assert.equal(emu.control.rows("accounts").length, before);
  });

  it("a value that is no GUID is a 400", async () => {
    assertError(await client.api("GET", "WhoAmI", { headers: { CallerObjectId: "avery@contoso.com" } }), 400, "0x80040203", /CallerObjectId/);
  });

  it("an app without prvActOnBehalfOfAnotherUser gets 403 0x80040220 naming the privilege", async () => {
    const token = await client.accessToken(limited);
    const res = await client.api("POST", "accounts", { token, headers: { CallerObjectId: USER_OBJECT_ID }, body: account("Denied") });
    assertError(res, 403, "0x80040220", /is missing prvActOnBehalfOfAnotherUser privilege/);
  });
});

describe("bypass headers", () => {
  it("the main app may bypass plug-ins and business logic; the log shows it", async () => {
    const headers = { "MSCRM.BypassCustomPluginExecution": "true", "MSCRM.BypassBusinessLogicExecution": "CustomAsync,CustomSync" };
    const res = await client.api("POST", "accounts", { headers, body: account("Fast") });
    assert.equal(res.status, 204, res.text);
    assert.equal(lastLogged().ranAs?.bypassPlugins, true);
    assert.equal(lastLogged().ranAs?.bypassBusinessLogic, "CustomSync,CustomAsync");
    assert.equal(lastLogged().headers["mscrm.bypasscustompluginexecution"], "true");
  });

  it("an app without the privileges gets 403 0x80040220 for each header", async () => {
    const token = await client.accessToken(limited);
    const plugins = await client.api("POST", "accounts", { token, headers: { "MSCRM.BypassCustomPluginExecution": "true" }, body: account("x") });
    assertError(plugins, 403, "0x80040220", /missing prvBypassCustomPlugins privilege/);
    const logic = await client.api("POST", "accounts", { token, headers: { "MSCRM.BypassBusinessLogicExecution": "CustomSync" }, body: account("x") });
    assertError(logic, 403, "0x80040220", /missing prvBypassCustomBusinessLogic privilege/);
    // false asks for nothing, so needs nothing
    const off = await client.api("POST", "accounts", { token, headers: { "MSCRM.BypassCustomPluginExecution": "false" }, body: account("ok") });
    assert.equal(off.status, 204, off.text);
  });

  it("values Dataverse does not know are a 400", async () => {
    assertError(await client.api("GET", "WhoAmI", { headers: { "MSCRM.BypassBusinessLogicExecution": "Everything" } }), 400, "0x80040203", /CustomSync/);
    assertError(await client.api("GET", "WhoAmI", { headers: { "MSCRM.BypassCustomPluginExecution": "yes" } }), 400, "0x80040203", /true or false/);
  });
});

describe("duplicate detection and tag", () => {
  it("MSCRM.SuppressDuplicateDetection and the tag query parameter are accepted and logged", async () => {
    const res = await client.api("POST", "accounts?tag=from%20Node-RED", { headers: { "MSCRM.SuppressDuplicateDetection": "true" }, body: account("Tagged") });
    assert.equal(res.status, 204, res.text);
    assert.equal(lastLogged().ranAs?.tag, "from Node-RED");
    assert.equal(lastLogged().ranAs?.suppressDuplicateDetection, true);
    const read = await client.api("GET", "accounts?$select=name&tag=read");
    assert.equal(read.status, 200, read.text);
  });
});

describe("in a $batch", () => {
  it("a part's own CallerObjectId acts for that user; the batch's header applies to parts without one", async () => {
    const res = await client.batch(
      [
        { method: "POST", url: "/api/data/v9.2/accounts", body: account("Part for Avery"), headers: { CallerObjectId: USER_OBJECT_ID } },
        { method: "POST", url: "/api/data/v9.2/accounts", body: account("Part plain") },
      ],
      { Prefer: "odata.continue-on-error" },
    );
    const parts = readBatchResponse(res) as BatchPart[];
    const rows = parts.map((p) => emu.control.rows("accounts").find((r) => r.accountid === idFromEntityId(p.headers["odata-entityid"]))!);
    assert.equal(rows[0]._createdby_value, USER_ID);
    assert.equal(rows[1]._createdby_value, APPLICATION_USER_ID);
    const outer = await client.batch([{ method: "POST", url: "/api/data/v9.2/accounts", body: account("Outer") }], { CallerObjectId: USER_OBJECT_ID });
    const [part] = readBatchResponse(outer) as BatchPart[];
    assert.equal(emu.control.rows("accounts").find((r) => r.accountid === idFromEntityId(part.headers["odata-entityid"]))!._createdby_value, USER_ID);
  });

  it("a part whose privilege is missing fails alone with 403", async () => {
    const token = await client.accessToken(limited);
    const { contentType, body } = batchBody([
      { method: "POST", url: "/api/data/v9.2/accounts", body: account("ok") },
      { method: "POST", url: "/api/data/v9.2/accounts", body: account("denied"), headers: { "MSCRM.BypassCustomPluginExecution": "true" } },
    ]);
    const res = await client.api("POST", "$batch", { token, headers: { "Content-Type": contentType, Prefer: "odata.continue-on-error" }, body });
    const parts = readBatchResponse(res) as BatchPart[];
    assert.deepEqual(
      parts.map((p) => p.status),
      [204, 403],
    );
  });
});
