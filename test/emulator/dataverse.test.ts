// Dataverse Web API emulation: authentication, WhoAmI, create, retrieve (id, keys, $select,
// $expand), queries with paging, metadata, and the error bodies of each failure.
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { APPLICATION_USER_ID, BUSINESS_UNIT_ID, ORGANIZATION_ID } from "../../emulator/identities";
import { Client, GUID_RE, idFromEntityId, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

function assertError(res: HttpResult, status: number, code: string, message?: string | RegExp): void {
  assert.equal(res.status, status, res.text);
  const body = res.json();
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.code, code);
  if (typeof message === "string") assert.equal(body.error.message, message);
  else if (message) assert.match(body.error.message, message);
}

describe("authentication", () => {
  const challenge = () => `Bearer authorization_uri=https://${emu.authorityHost}/${emu.tenantId}/oauth2/authorize, resource_id=${emu.dataverseUrl}/`;

  for (const [name, token] of [
    ["no token", null],
    ["a token the emulator never issued", "eyJ0eXAiOiJKV1QifQ.e30.c2ln"],
  ] as const) {
    it(`401 with the exact WWW-Authenticate challenge for ${name}`, async () => {
      const res = await client.api("GET", "WhoAmI", { token });
      assert.equal(res.status, 401);
      assert.equal(res.headers["www-authenticate"], challenge());
      assert.equal(res.text, "");
    });
  }

  it("401 once tokens are invalidated or expired", async () => {
    const token = await client.accessToken();
    assert.equal((await client.api("GET", "WhoAmI", { token })).status, 200);
    emu.control.invalidateTokens();
    assert.equal((await client.api("GET", "WhoAmI", { token })).status, 401);

    emu.control.setConfig({ tokenLifetimeSeconds: 0.2 });
    const shortLived = await client.accessToken();
    assert.equal((await client.api("GET", "WhoAmI", { token: shortLived })).status, 200);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await client.api("GET", "WhoAmI", { token: shortLived })).status, 401);
  });

  it("403 0x80072560 for an app without an application user", async () => {
    const token = await client.accessToken(emu.apps.noApplicationUser);
    const res = await client.api("GET", "WhoAmI", { token });
    assertError(res, 403, "0x80072560", "The user is not a member of the organization.");
  });
});

describe("service headers and WhoAmI", () => {
  it("answers WhoAmI and WhoAmI() with the application user", async () => {
    for (const path of ["WhoAmI", "WhoAmI()"]) {
      const res = await client.api("GET", path);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), {
        "@odata.context": `${emu.dataverseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: BUSINESS_UNIT_ID,
        UserId: APPLICATION_USER_ID,
        OrganizationId: ORGANIZATION_ID,
      });
    }
  });

  it("sends the OData and request-id headers, and x-ms-dop-hint when configured", async () => {
    let res = await client.api("GET", "WhoAmI", { headers: {} });
    assert.equal(res.headers["odata-version"], "4.0");
    assert.equal(res.headers["content-type"], JSON_TYPE);
    // Like the real service: two x-ms-service-request-id lines with different ids, REQ_ID the second.
    const requestIds = res.rawHeaders.filter((_v, i) => i % 2 === 1 && res.rawHeaders[i - 1].toLowerCase() === "x-ms-service-request-id");
    assert.equal(requestIds.length, 2);
    for (const id of requestIds) assert.match(id, GUID_RE);
    assert.notEqual(requestIds[0], requestIds[1]);
    assert.equal(res.headers["x-ms-service-request-id"], requestIds.join(", "), "HTTP clients join the two lines");
    assert.equal(res.headers.req_id, requestIds[1]);
    assert.match(String(res.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]), /^\d+$/);
    assert.equal(res.headers["x-ms-dop-hint"], undefined);
    emu.control.setConfig({ dopHint: 8 });
    res = await client.request("GET", `${emu.dataverseUrl}/api/data/v9.0/WhoAmI`, {
      headers: { Authorization: `Bearer ${await client.accessToken()}` },
    });
    assert.equal(res.status, 200, "works without Accept / OData-* headers and on v9.0");
    assert.equal(res.headers["x-ms-dop-hint"], "8");
  });

  it("404 0x8006088a for an unknown entity set; 405 for a method a resource does not support", async () => {
    assertError(await client.api("GET", "acounts"), 404, "0x8006088a", "Resource not found for the segment 'acounts'.");
    const res = await client.api("DELETE", "accounts");
    assert.equal(res.status, 405);
    assert.match(res.json().error.message, /does not support http method 'DELETE'/);
  });
});

describe("create", () => {
  it("204 with OData-EntityId, row readable afterwards", async () => {
    const res = await client.api("POST", "accounts", { body: { name: "Created", revenue: 12.345, creditonhold: true } });
    assert.equal(res.status, 204);
    assert.equal(res.text, "");
    const id = idFromEntityId(res.headers["odata-entityid"]);
    assert.equal(res.headers["odata-entityid"], `${emu.dataverseUrl}/api/data/v9.2/accounts(${id})`);
    const row = (await client.api("GET", `accounts(${id})`)).json();
    assert.equal(row.name, "Created");
    assert.equal(row.revenue, 12.35, "money is rounded to the column precision");
    assert.match(row.createdon, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(row["@odata.etag"], `W/"${row.versionnumber}"`);
  });

  it("201 with the row for Prefer: return=representation, honouring $select", async () => {
    const res = await client.api("POST", "contacts?$select=fullname,firstname", {
      headers: { Prefer: "return=representation" },
      body: { firstname: "Ada", lastname: "Lovelace", "parentcustomerid_account@odata.bind": `/accounts(${SEED_IDS.fabrikamAccount})` },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers["preference-applied"], "return=representation");
    assert.equal(res.headers["odata-entityid"], undefined);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#contacts(fullname,firstname)/$entity`);
    assert.equal(body.fullname, "Ada Lovelace");
    assert.match(body.contactid, GUID_RE);
    assert.match(body["@odata.etag"], /^W\/"\d+"$/);
    assert.equal(body.lastname, undefined);
  });

  it("binds lookups from every @odata.bind form, and 404s for a missing target", async () => {
    const forms = [
      `/contacts(${SEED_IDS.yvonneContact})`,
      `contacts(${SEED_IDS.yvonneContact})`,
      `${emu.dataverseUrl}/api/data/v9.2/contacts(${SEED_IDS.yvonneContact})`,
      "/contacts(firstname='Yvonne',emailaddress1='yvonne@contoso.example')",
    ];
    for (const bind of forms) {
      const res = await client.api("POST", "accounts?$select=_primarycontactid_value", {
        headers: { Prefer: "return=representation" },
        body: { name: bind, "primarycontactid@odata.bind": bind },
      });
      assert.equal(res.status, 201, `${bind}: ${res.text}`);
      assert.equal(res.json()._primarycontactid_value, SEED_IDS.yvonneContact);
    }
    const missing = "00000000-0000-4000-8000-00000000dead";
    assertError(
      await client.api("POST", "accounts", { body: { name: "x", "primarycontactid@odata.bind": `/contacts(${missing})` } }),
      404,
      "0x80040217",
      `contact With Id = ${missing} Does Not Exist`,
    );
  });

  it("honours a client-supplied id; 412 when it or an alternate key already exists", async () => {
    const id = "0f0f0f0f-1111-4222-8333-444444444444";
    assert.equal((await client.api("POST", "accounts", { body: { accountid: id, name: "Mine" } })).status, 204);
    assert.equal((await client.api("GET", `accounts(${id})`)).status, 200);
    assertError(
      await client.api("POST", "accounts", { body: { accountid: id, name: "Again" } }),
      412,
      "0x80040237",
      "A record with matching key values already exists.",
    );
    assertError(await client.api("POST", "accounts", { body: { name: "Dup", accountnumber: "acc-001" } }), 412, "0x80040237", /Account Number/);
  });

  it("400 for unknown columns, wrong types, malformed JSON and non-object bodies", async () => {
    assertError(
      await client.api("POST", "accounts", { body: { name: "x", bogus: 1 } }),
      400,
      "0x80060888",
      "The property 'bogus' does not exist on type 'Microsoft.Dynamics.CRM.account'. Make sure to only use property names that are defined by the type.",
    );
    const wrongType = await client.api("POST", "accounts", { body: { numberofemployees: "many" } });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json().error.message, /Cannot convert the literal 'many' to the expected type 'Edm.Int32'/);
    assertError(await client.api("POST", "accounts", { body: '{"name":' }), 400, "0x80060888", /not valid JSON/);
    assertError(await client.api("POST", "accounts", { body: "[1]" }), 400, "0x80060888", /JSON object/);
    const tooLong = await client.api("POST", "accounts", { body: { accountnumber: "x".repeat(21) } });
    assertError(tooLong, 400, "0x80044331", /maximum allowed length of '20'/);
  });
});

describe("retrieve", () => {
  it("by id with $select: primary key always, money brings its currency, ETag header", async () => {
    const res = await client.api("GET", `accounts(${SEED_IDS.contosoAccount})?$select=name,revenue`);
    assert.equal(res.status, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body), ["@odata.context", "@odata.etag", "name", "revenue", "accountid", "_transactioncurrencyid_value"]);
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts(name,revenue)/$entity`);
    assert.equal(res.headers.etag, body["@odata.etag"]);
    assert.equal(body.name, "Contoso Ltd");
  });

  it("by alternate key, compound key, doubled quotes, and a percent-encoded segment", async () => {
    let res = await client.api("GET", "accounts(accountnumber='ACC-001')?$select=name");
    assert.equal(res.json().accountid, SEED_IDS.contosoAccount);
    res = await client.api("GET", `contacts(firstname='Yvonne',emailaddress1='yvonne@contoso.example')`);
    assert.equal(res.json().contactid, SEED_IDS.yvonneContact);
    res = await client.api("GET", `dv_iotdevices(dv_serialnumber='SN-0001')`);
    assert.equal(res.json().dv_iotdeviceid, SEED_IDS.boilerDevice);

    await client.api("POST", "accounts", { body: { name: "O'Brien & Sons", accountnumber: "O'B/1" } });
    res = await client.api("GET", "accounts(accountnumber='O''B/1')".replace("/", "%2F"));
    assert.equal(res.json().name, "O'Brien & Sons");
    res = await client.api("GET", encodeURIComponent("accounts(accountnumber='O''B/1')"));
    assert.equal(res.json().name, "O'Brien & Sons");
  });

  it("$expand of a single-valued navigation property, nested $select, null when unset", async () => {
    const res = await client.api("GET", `accounts?$select=name&$expand=primarycontactid($select=fullname,emailaddress1)&$orderby=name`);
    const [contoso, fabrikam] = res.json().value;
    assert.equal(res.json()["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts(name,primarycontactid(fullname,emailaddress1))`);
    assert.deepEqual(Object.keys(contoso.primarycontactid), ["@odata.etag", "fullname", "emailaddress1", "contactid"]);
    assert.equal(contoso.primarycontactid.fullname, "Yvonne McKay");
    assert.equal(fabrikam.primarycontactid, null);
    const device = (await client.api("GET", `dv_iotdevices(${SEED_IDS.boilerDevice})?$expand=dv_accountid($select=name)`)).json();
    assert.equal(device.dv_accountid.name, "Contoso Ltd");
  });

  it("404 codes: by id 0x80040217, by key 0x80048d02; 400 for undeclared keys and unknown columns", async () => {
    const id = "00000000-0000-4000-8000-000000000404";
    assertError(await client.api("GET", `accounts(${id})`), 404, "0x80040217", `account With Id = ${id} Does Not Exist`);
    assertError(
      await client.api("GET", "accounts(accountnumber='NOPE')"),
      404,
      "0x80048d02",
      "A record with the specified key values does not exist in account entity",
    );
    assertError(await client.api("GET", "accounts(name='Contoso Ltd')"), 400, "0x80060888", /not an alternate key of entity 'account'/);
    assertError(
      await client.api("GET", `accounts(${SEED_IDS.contosoAccount})?$select=name,bogus`),
      400,
      "0x80060888",
      "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.account'.",
    );
  });

  it("304 for If-None-Match with the current etag (not with $expand); If-None-Match: null is ignored", async () => {
    const first = await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`);
    const etag = String(first.headers.etag);
    const cached = await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`, { headers: { "If-None-Match": etag } });
    assert.equal(cached.status, 304);
    assert.equal(cached.text, "");
    assert.equal((await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`, { headers: { "If-None-Match": "null" } })).status, 200);
    const expanded = await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})?$expand=primarycontactid`, { headers: { "If-None-Match": etag } });
    assert.equal(expanded.status, 200);
    await client.api("PATCH", `accounts(${SEED_IDS.fabrikamAccount})`, { body: { telephone1: "1" } });
    assert.equal((await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`, { headers: { "If-None-Match": etag } })).status, 200);
  });

  it("formatted values and lookup annotations on request", async () => {
    const res = await client.api("GET", `dv_iotdevices(${SEED_IDS.boilerDevice})?$select=dv_status,_dv_accountid_value`, {
      headers: { Prefer: 'odata.include-annotations="*"' },
    });
    const body = res.json();
    assert.equal(res.headers["preference-applied"], 'odata.include-annotations="*"');
    assert.equal(body["dv_status@OData.Community.Display.V1.FormattedValue"], "Online");
    assert.equal(body["_dv_accountid_value@OData.Community.Display.V1.FormattedValue"], "Contoso Ltd");
    assert.equal(body["_dv_accountid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
    const plain = (await client.api("GET", `dv_iotdevices(${SEED_IDS.boilerDevice})`)).json();
    assert.ok(!Object.keys(plain).some((k) => k.includes("@OData.Community")), "no annotations unless asked for");
  });
});

describe("retrieve multiple", () => {
  beforeEach(async () => {
    emu.control.seed("dv_iotdevices", [
      { dv_name: "Sensor B", dv_serialnumber: "SN-0002", dv_batterylevel: 20, dv_status: 100_000_001 },
      { dv_name: "Sensor C", dv_serialnumber: "SN-0003", dv_batterylevel: 55 },
      { dv_name: "Sensor D", dv_serialnumber: "SN-0004", dv_batterylevel: 90 },
      { dv_name: "Sensor E", dv_serialnumber: "SN-0005", dv_batterylevel: 5 },
    ]);
  });

  it("$filter (eq, and, null, numbers, case-insensitive text), $orderby, $top, $count", async () => {
    let res = await client.api(
      "GET",
      "dv_iotdevices?$select=dv_name&$filter=dv_batterylevel ge 20 and dv_status eq null&$orderby=dv_batterylevel desc&$count=true",
    );
    let body = res.json();
    assert.equal(body["@odata.count"], 2);
    assert.deepEqual(
      body.value.map((r: any) => r.dv_name),
      ["Sensor D", "Sensor C"],
    );
    res = await client.api("GET", `dv_iotdevices?$filter=dv_name eq 'sensor b'&$select=dv_serialnumber`);
    assert.deepEqual(
      res.json().value.map((r: any) => r.dv_serialnumber),
      ["SN-0002"],
    );
    res = await client.api("GET", `contacts?$filter=_parentcustomerid_value eq ${SEED_IDS.contosoAccount}&$select=fullname`);
    assert.deepEqual(
      res.json().value.map((r: any) => r.fullname),
      ["Yvonne McKay"],
    );
    res = await client.api("GET", "accounts?$filter=creditonhold eq true&$select=name");
    assert.deepEqual(
      res.json().value.map((r: any) => r.name),
      ["Northwind Traders"],
    );
    res = await client.api("GET", "dv_iotdevices?$top=2&$select=dv_name");
    body = res.json();
    assert.equal(body.value.length, 2);
    assert.equal(body["@odata.nextLink"], undefined);
    res = await client.api("GET", "dv_iotdevices?$filter=dv_name eq");
    assertError(res, 400, "0x80060888", /Syntax error/);
    res = await client.api("GET", "dv_iotdevices?$filter=dv_batterylevel eq 'high'");
    assertError(res, 400, "0x80060888", /incompatible types/);
    res = await client.api("GET", "dv_iotdevices?$filter=bogus eq 1");
    assertError(res, 400, "0x80060888", /Could not find a property named 'bogus'/);
  });

  it("pages with odata.maxpagesize=2 over 5 rows: 3 pages, nextLink absent on the last, $top ignored", async () => {
    const names: string[] = [];
    let url: string | undefined = `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices?$select=dv_name&$top=1`;
    let pages = 0;
    const token = await client.accessToken();
    while (url) {
      const res = await client.request("GET", url, { headers: { Authorization: `Bearer ${token}`, Prefer: "odata.maxpagesize=2" } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers["preference-applied"], "odata.maxpagesize=2");
      const body = res.json();
      names.push(...body.value.map((r: any) => r.dv_name));
      url = body["@odata.nextLink"];
      if (url) {
        assert.ok(url.startsWith(`${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices?`));
        assert.match(url, /\$skiptoken=%3Ccookie/);
        assert.deepEqual(Object.keys(body).slice(-1), ["@odata.nextLink"], "nextLink comes after value");
      }
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(names, ["Boiler room sensor", "Sensor B", "Sensor C", "Sensor D", "Sensor E"]);
  });

  it("total-count annotations: the count with $count=true, -1 without", async () => {
    const prefer = { Prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"' };
    let body = (await client.api("GET", "dv_iotdevices?$select=dv_name&$count=true", { headers: prefer })).json();
    assert.deepEqual(Object.keys(body).slice(0, 4), [
      "@odata.context",
      "@odata.count",
      "@Microsoft.Dynamics.CRM.totalrecordcount",
      "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded",
    ]);
    assert.equal(body["@odata.count"], 5);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcount"], 5);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], false);
    body = (await client.api("GET", "dv_iotdevices?$select=dv_name", { headers: { Prefer: 'odata.include-annotations="*"' } })).json();
    assert.equal(body["@odata.count"], undefined);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcount"], -1);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], false);
    body = (await client.api("GET", "dv_iotdevices?$select=dv_name&$count=true")).json();
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcount"], undefined, "only when asked for");
  });

  it("a page stays right when rows change between requests (no stale cached result)", async () => {
    const first = (await client.api("GET", "dv_iotdevices?$select=dv_name&$filter=dv_batterylevel gt 10&$orderby=dv_name")).json().value;
    assert.deepEqual(
      first.map((r: any) => r.dv_name),
      ["Boiler room sensor", "Sensor B", "Sensor C", "Sensor D"],
    );
    await client.api("PATCH", "dv_iotdevices(dv_serialnumber='SN-0003')", { body: { dv_batterylevel: 1 } });
    await client.api("POST", "dv_iotdevices", { body: { dv_name: "Sensor A", dv_batterylevel: 50 } });
    const second = (await client.api("GET", "dv_iotdevices?$select=dv_name&$filter=dv_batterylevel gt 10&$orderby=dv_name")).json().value;
    assert.deepEqual(
      second.map((r: any) => r.dv_name),
      ["Boiler room sensor", "Sensor A", "Sensor B", "Sensor D"],
    );
  });

  it("$skip is refused like the real service; /$count answers plain text", async () => {
    assertError(await client.api("GET", "accounts?$skip=1"), 400, "0x80060888", /\$skip is not supported/);
    const res = await client.api("GET", "dv_iotdevices/$count");
    assert.equal(res.text, "5");
  });
});

describe("EntityDefinitions", () => {
  it("filters by LogicalName with $select (MetadataId always included)", async () => {
    const res = await client.api(
      "GET",
      "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute&$filter=LogicalName eq 'dv_iotdevice'",
    );
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(
      body["@odata.context"],
      `${emu.dataverseUrl}/api/data/v9.2/$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute)`,
    );
    assert.equal(body.value.length, 1);
    const { MetadataId, ...rest } = body.value[0];
    assert.match(MetadataId, GUID_RE);
    assert.deepEqual(rest, {
      LogicalName: "dv_iotdevice",
      EntitySetName: "dv_iotdevices",
      PrimaryIdAttribute: "dv_iotdeviceid",
      PrimaryNameAttribute: "dv_name",
    });
  });

  it("resolves a name that is either a logical name or an entity set name in one request", async () => {
    for (const name of ["account", "accounts", "dv_iotdevice", "dv_iotdevices"]) {
      const res = await client.api(
        "GET",
        `EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute&$filter=EntitySetName eq '${name}' or LogicalName eq '${name}'`,
      );
      assert.equal(res.status, 200, res.text);
      const value = res.json().value;
      assert.equal(value.length, 1, name);
      assert.equal(value[0].LogicalName, name.replace(/s$/, ""));
      assert.equal(value[0].EntitySetName, name.replace(/s?$/, "s"));
    }
    const none = await client.api("GET", "EntityDefinitions?$select=LogicalName&$filter=EntitySetName eq 'nope' or LogicalName eq 'nope'");
    assert.deepEqual(none.json().value, []);
  });

  it("addresses one entity by LogicalName, with display names and attributes", async () => {
    const res = await client.api("GET", "EntityDefinitions(LogicalName='account')?$select=EntitySetName,DisplayName,DisplayCollectionName");
    const body = res.json();
    assert.match(body["@odata.context"], /#EntityDefinitions\(EntitySetName,DisplayName,DisplayCollectionName\)\/\$entity$/);
    assert.equal(body.EntitySetName, "accounts");
    assert.deepEqual(body.DisplayName.UserLocalizedLabel, { Label: "Account", LanguageCode: 1033 });
    assert.deepEqual(body.DisplayCollectionName.UserLocalizedLabel, { Label: "Accounts", LanguageCode: 1033 });

    const attrs = (await client.api("GET", "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,AttributeType")).json().value;
    const types = Object.fromEntries(attrs.map((a: any) => [a.LogicalName, a.AttributeType]));
    assert.equal(types.accountid, "Uniqueidentifier");
    assert.equal(types.name, "String");
    assert.equal(types.revenue, "Money");
    assert.equal(types.numberofemployees, "Integer");
    assert.equal(types.creditonhold, "Boolean");
    assert.equal(types.primarycontactid, "Lookup");
    assert.equal(types.createdon, "DateTime");
    const device = (await client.api("GET", "EntityDefinitions(LogicalName='dv_iotdevice')/Attributes?$select=LogicalName,AttributeType")).json().value;
    const deviceTypes = Object.fromEntries(device.map((a: any) => [a.LogicalName, a.AttributeType]));
    assert.equal(deviceTypes.dv_temperature, "Decimal");
    assert.equal(deviceTypes.dv_status, "Picklist");

    assert.equal((await client.api("GET", "EntityDefinitions(LogicalName='nosuchtable')")).status, 404);
  });
});
