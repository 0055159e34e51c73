// Actions and functions (issue 10, section 5): WhoAmI and RetrieveCurrentOrganization as functions,
// the custom APIs cr0a1_Echo (action), cr0a1_Describe (function) and cr0a1_Touch (bound action),
// $metadata listing them, and the errors for an unknown operation, a missing required parameter and
// the wrong HTTP method.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { ORGANIZATION_ID } from "../../emulator/identities";
import { Client, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

function assertError(res: HttpResult, status: number, code: string, message: string | RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json().error.code, code);
  if (typeof message === "string") assert.equal(res.json().error.message, message);
  else assert.match(res.json().error.message, message);
}

describe("functions", () => {
  it("WhoAmI answers with and without parentheses", async () => {
    for (const path of ["WhoAmI", "WhoAmI()"]) {
      const res = await client.api("GET", path);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().OrganizationId, ORGANIZATION_ID);
    }
  });

  it("RetrieveCurrentOrganization takes its enum parameter as an alias and answers the organization's detail", async () => {
    const res = await client.api("GET", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'");
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse`);
    assert.equal(body.Detail.OrganizationId, ORGANIZATION_ID);
    assert.equal(body.Detail.UrlName, "contoso");
    assert.equal(body.Detail.State, "Enabled");
    assert.equal(body.Detail.Endpoints.Keys[0], "WebApplication");
    assert.equal(body.Detail.Endpoints.Values[0], `${emu.dataverseUrl}/`);
  });

  it("RetrieveCurrentOrganization without its parameter, or with an enum member it lacks, is a 400", async () => {
    assertError(await client.api("GET", "RetrieveCurrentOrganization()"), 400, "0x80040203", "Request message has unresolved parameters.");
    assertError(
      await client.api("GET", "RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Nowhere'"),
      400,
      "0x80060888",
      /Cannot convert the literal .* to the expected type 'mscrm.EndpointAccessType'/,
    );
  });

  it("cr0a1_Describe reads every kind of alias: text with quotes, number, boolean, GUID, date, enum, record, array", async () => {
    const aliases = [
      `@p1='${encodeURIComponent("O''Brien & Sons/1")}'`,
      "@p2=12.5",
      "@p3=true",
      `@p4=${SEED_IDS.contosoAccount}`,
      `@p5=${encodeURIComponent("2024-05-01T10:00:00+02:00")}`,
      "@p6=Microsoft.Dynamics.CRM.EndpointAccessType'Internet'",
      `@p7=${encodeURIComponent(JSON.stringify({ "@odata.id": `accounts(${SEED_IDS.fabrikamAccount})` }))}`,
      `@p8=${encodeURIComponent(JSON.stringify(["a", "b"]))}`,
    ].join("&");
    const res = await client.api("GET", `cr0a1_Describe(Text=@p1,Number=@p2,Flag=@p3,Id=@p4,When=@p5,Access=@p6,Target=@p7,Names=@p8)?${aliases}`);
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body.Text, "O'Brien & Sons/1");
    assert.equal(body.Number, 12.5);
    assert.equal(body.Flag, true);
    assert.equal(body.Id, SEED_IDS.contosoAccount);
    assert.equal(body.When, "2024-05-01T10:00:00+02:00");
    assert.equal(body.Access, "Internet");
    assert.equal(body.TargetTable, "account");
    assert.equal(body.TargetId, SEED_IDS.fabrikamAccount);
    assert.deepEqual(body.Names, ["a", "b"]);
  });

  it("reads Microsoft's single-quoted record form and inline literals", async () => {
    const res = await client.api("GET", `cr0a1_Describe(Text='x',Target=@t)?@t={'@odata.id':'accounts(${SEED_IDS.contosoAccount})'}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().Text, "x");
    assert.equal(res.json().TargetId, SEED_IDS.contosoAccount);
  });

  it("a literal of the wrong type, an unknown parameter or a missing alias is a 400", async () => {
    assertError(
      await client.api("GET", "cr0a1_Describe(Number=@p1)?@p1='ten'"),
      400,
      "0x80060888",
      "Cannot convert the literal 'ten' to the expected type 'Edm.Decimal'.",
    );
    assertError(
      await client.api("GET", "cr0a1_Describe(Nope=@p1)?@p1=1"),
      400,
      "0x80060888",
      /The parameter 'Nope' .* not a valid parameter for the operation 'cr0a1_Describe'/,
    );
    assertError(await client.api("GET", "cr0a1_Describe(Text=@p1)"), 400, "0x80060888", /The parameter alias '@p1' has no value/);
  });

  it("a function called with POST is a 405", async () => {
    const res = await client.api("POST", "RetrieveCurrentOrganization", { body: { AccessType: "Default" } });
    assertError(res, 405, "0x80060888", "The requested resource does not support http method 'POST'.");
  });
});

describe("actions", () => {
  it("cr0a1_Echo answers its parameters", async () => {
    const res = await client.api("POST", "cr0a1_Echo", { body: { Text: "hello", Number: 3, Flag: false } });
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.cr0a1_EchoResponse`);
    assert.deepEqual({ Text: body.Text, Number: body.Number, Flag: body.Flag, Target: body.Target }, { Text: "hello", Number: 3, Flag: false, Target: null });
  });

  it("cr0a1_Echo without its required Text, or with an unknown parameter, is a 400", async () => {
    assertError(await client.api("POST", "cr0a1_Echo", { body: { Number: 1 } }), 400, "0x80040203", "Request message has unresolved parameters.");
    assertError(
      await client.api("POST", "cr0a1_Echo", { body: { Text: "x", Extra: 1 } }),
      400,
      "0x80060888",
      "The parameter 'Extra' in the request payload is not a valid parameter for the operation 'cr0a1_Echo'.",
    );
  });

  it("an action called with GET is a 405", async () => {
    assertError(await client.api("GET", "cr0a1_Echo"), 405, "0x80060888", "The requested resource does not support http method 'GET'.");
  });

  it("cr0a1_Touch, bound to an account, writes the row and answers 204", async () => {
    const res = await client.api("POST", `accounts(${SEED_IDS.contosoAccount})/Microsoft.Dynamics.CRM.cr0a1_Touch`, { body: { Note: "seen" } });
    assert.equal(res.status, 204, res.text);
    assert.equal(emu.control.rows("accounts").find((r) => r.accountid === SEED_IDS.contosoAccount)?.description, "seen");
  });

  it("a bound action on a missing row is a 404; on another table, or unqualified, it is not found", async () => {
    const missing = "a1b2c3d4-0009-4a00-8a00-000000000009";
    assertError(await client.api("POST", `accounts(${missing})/Microsoft.Dynamics.CRM.cr0a1_Touch`, { body: {} }), 404, "0x80040217", /Does Not Exist/);
    assertError(
      await client.api("POST", `contacts(${SEED_IDS.yvonneContact})/Microsoft.Dynamics.CRM.cr0a1_Touch`, { body: {} }),
      404,
      "0x8006088a",
      "Resource not found for the segment 'Microsoft.Dynamics.CRM.cr0a1_Touch'.",
    );
  });
});

describe("unknown operations and $metadata", () => {
  it("an unknown operation is 'Resource not found for the segment'", async () => {
    assertError(await client.api("POST", "cr0a1_Nope", { body: {} }), 404, "0x8006088a", "Resource not found for the segment 'cr0a1_Nope'.");
    assertError(await client.api("GET", "NoSuchFunction()"), 404, "0x8006088a", "Resource not found for the segment 'NoSuchFunction'.");
  });

  it("$metadata lists the actions and functions with their binding and parameters", async () => {
    const res = await client.api("GET", "$metadata", { headers: { Accept: "application/xml" } });
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers["content-type"]), /^application\/xml/);
    assert.match(res.text, /<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm"/);
    assert.match(res.text, /<Function Name="WhoAmI">/);
    assert.match(res.text, /<Function Name="RetrieveCurrentOrganization"><Parameter Name="AccessType" Type="mscrm.EndpointAccessType" Nullable="false"\/>/);
    assert.match(res.text, /<Action Name="cr0a1_Echo"><Parameter Name="Text" Type="Edm.String" Nullable="false"\/>/);
    assert.match(res.text, /<Action Name="cr0a1_Touch" IsBound="true"><Parameter Name="entity" Type="mscrm.account" Nullable="false"\/>/);
    assert.match(res.text, /<ActionImport Name="cr0a1_Echo" Action="mscrm.cr0a1_Echo"\/>/);
    assert.match(res.text, /<EntitySet Name="accounts" EntityType="mscrm.account"\/>/);
  });
});
