// Relationships in the emulator: lookups through navigation properties (one polymorphic), their
// metadata, an N:N relationship, and $ref associate / disassociate with the real answers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { Client, useEmulator, type HttpResult } from "./helpers";

let client: Client;
useEmulator((_e, c) => (client = c));

const YVONNE = `contacts(${SEED_IDS.yvonneContact})`;
const SUSANNA = `contacts(${SEED_IDS.susannaContact})`;
const BOILER = `dv_iotdevices(${SEED_IDS.boilerDevice})`;
const MISSING_ID = "9e9e9e9e-0000-4000-8000-000000000001";

function assertError(res: HttpResult, status: number, code: string, message: RegExp): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json().error.code, code);
  assert.match(res.json().error.message, message);
}

const annotated = { Prefer: 'odata.include-annotations="*"' };

describe("lookups through navigation properties", () => {
  it("a polymorphic customer lookup takes an account or a contact; reads name the table", async () => {
    const toContact = await client.api("PATCH", YVONNE, { body: { "parentcustomerid_contact@odata.bind": `/${SUSANNA}` } });
    assert.equal(toContact.status, 204, toContact.text);
    let row = (await client.api("GET", `${YVONNE}?$select=_parentcustomerid_value`, { headers: annotated })).json();
    assert.equal(row._parentcustomerid_value, SEED_IDS.susannaContact);
    assert.equal(row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
    assert.equal(row["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"], "parentcustomerid_contact");
    assert.equal(row["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"], "Susanna Stubberod");

    await client.api("PATCH", YVONNE, { body: { "parentcustomerid_account@odata.bind": `/accounts(${SEED_IDS.fabrikamAccount})` } });
    row = (await client.api("GET", `${YVONNE}?$select=_parentcustomerid_value`, { headers: annotated })).json();
    assert.equal(row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
  });

  it("null through a navigation property clears the lookup", async () => {
    const res = await client.api("PATCH", YVONNE, { body: { "parentcustomerid_account@odata.bind": null } });
    assert.equal(res.status, 204, res.text);
    assert.equal((await client.api("GET", YVONNE)).json()._parentcustomerid_value, null);
  });

  it("navigation property names are case-sensitive; the column name is not one", async () => {
    for (const name of ["ParentCustomerId_Account", "parentcustomerid"]) {
      const res = await client.api("POST", "contacts", { body: { lastname: "X", [`${name}@odata.bind`]: `/accounts(${SEED_IDS.fabrikamAccount})` } });
      assertError(res, 400, "0x80060888", new RegExp(`An undeclared property '${name}' which only has property annotations`));
    }
  });

  it("a bind to a row of the wrong table or a missing row fails", async () => {
    const wrong = await client.api("POST", "contacts", { body: { "parentcustomerid_account@odata.bind": `/${SUSANNA}` } });
    assertError(wrong, 400, "0x80060888", /expects a record of type 'Microsoft.Dynamics.CRM.account'/);
    const missing = await client.api("POST", "contacts", { body: { "parentcustomerid_contact@odata.bind": `/contacts(${MISSING_ID})` } });
    assertError(missing, 404, "0x80040217", /contact With Id = 9e9e9e9e/);
  });
});

describe("relationship metadata", () => {
  it("ManyToOneRelationships: one per target of a polymorphic lookup", async () => {
    const res = await client.api(
      "GET",
      "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships?$select=SchemaName,ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName",
    );
    assert.equal(res.status, 200, res.text);
    const rows = res
      .json()
      .value.map((r: Record<string, unknown>) => [r.SchemaName, r.ReferencingAttribute, r.ReferencedEntity, r.ReferencingEntityNavigationPropertyName]);
    assert.deepEqual(rows, [
      ["contact_customer_accounts", "parentcustomerid", "account", "parentcustomerid_account"],
      ["contact_customer_contacts", "parentcustomerid", "contact", "parentcustomerid_contact"],
    ]);
  });

  it("OneToManyRelationships and ManyToManyRelationships name the collection-valued navigation properties", async () => {
    const oneToMany = (await client.api("GET", "EntityDefinitions(LogicalName='account')/OneToManyRelationships")).json().value;
    assert.deepEqual(oneToMany.map((r: Record<string, unknown>) => r.ReferencedEntityNavigationPropertyName).sort(), [
      "contact_customer_accounts",
      "dv_account_dv_iotdevice",
    ]);
    const manyToMany = (await client.api("GET", "EntityDefinitions(LogicalName='contact')/ManyToManyRelationships")).json().value;
    assert.equal(manyToMany.length, 1);
    assert.equal(manyToMany[0].SchemaName, "dv_iotdevice_contact");
    assert.equal(manyToMany[0].Entity1LogicalName, "dv_iotdevice");
    assert.equal(manyToMany[0].Entity2NavigationPropertyName, "dv_iotdevice_contact");
  });

  it("lookup attributes list their Targets", async () => {
    const res = await client.api("GET", "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='parentcustomerid')");
    assert.deepEqual(res.json().Targets, ["account", "contact"]);
  });
});

describe("$ref associate and disassociate", () => {
  it("1:N: associating through the collection sets the lookup; disassociating clears it", async () => {
    const ref = `accounts(${SEED_IDS.northwindAccount})/contact_customer_accounts/$ref`;
    const res = await client.api("POST", ref, { body: { "@odata.id": `${client.emu.dataverseUrl}/api/data/v9.2/${SUSANNA}` } });
    assert.equal(res.status, 204, res.text);
    assert.equal((await client.api("GET", SUSANNA)).json()._parentcustomerid_value, SEED_IDS.northwindAccount);
    const gone = await client.api("DELETE", `accounts(${SEED_IDS.northwindAccount})/contact_customer_accounts(${SEED_IDS.susannaContact})/$ref`);
    assert.equal(gone.status, 204, gone.text);
    assert.equal((await client.api("GET", SUSANNA)).json()._parentcustomerid_value, null);
  });

  it("N:N: associate, a second time is a duplicate key, disassociate by $id, and again without error", async () => {
    const ref = `${BOILER}/dv_iotdevice_contact/$ref`;
    const body = { "@odata.id": YVONNE };
    assert.equal((await client.api("POST", ref, { body })).status, 204);
    assertError(await client.api("POST", ref, { body }), 412, "0x80040237", /^Cannot insert duplicate key\.$/);
    // The same link seen from the other side.
    const other = await client.api("POST", `${YVONNE}/dv_iotdevice_contact/$ref`, { body: { "@odata.id": `/${BOILER}` } });
    assertError(other, 412, "0x80040237", /duplicate key/);
    const url = encodeURIComponent(`${client.emu.dataverseUrl}/api/data/v9.2/${YVONNE}`);
    assert.equal((await client.api("DELETE", `${ref}?$id=${url}`)).status, 204);
    assert.equal((await client.api("DELETE", `${BOILER}/dv_iotdevice_contact(${SEED_IDS.yvonneContact})/$ref`)).status, 204);
    assert.equal((await client.api("POST", ref, { body })).status, 204, "linked again after the disassociate");
  });

  it("single-valued: PUT and DELETE …/primarycontactid/$ref", async () => {
    const ref = `accounts(${SEED_IDS.fabrikamAccount})/primarycontactid/$ref`;
    assert.equal((await client.api("PUT", ref, { body: { "@odata.id": SUSANNA } })).status, 204);
    assert.equal((await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`)).json()._primarycontactid_value, SEED_IDS.susannaContact);
    assert.equal((await client.api("DELETE", ref)).status, 204);
    assert.equal((await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})`)).json()._primarycontactid_value, null);
  });

  it("errors: unknown navigation property, missing rows, wrong table, no @odata.id", async () => {
    assertError(await client.api("POST", `${BOILER}/nope/$ref`, { body: { "@odata.id": YVONNE } }), 404, "0x8006088a", /segment 'nope'/);
    const missingParent = await client.api("POST", `dv_iotdevices(${MISSING_ID})/dv_iotdevice_contact/$ref`, { body: { "@odata.id": YVONNE } });
    assertError(missingParent, 404, "0x80040217", /dv_iotdevice With Id/);
    const missingTarget = await client.api("POST", `${BOILER}/dv_iotdevice_contact/$ref`, { body: { "@odata.id": `contacts(${MISSING_ID})` } });
    assertError(missingTarget, 404, "0x80040217", /contact With Id/);
    const wrong = await client.api("POST", `${BOILER}/dv_iotdevice_contact/$ref`, { body: { "@odata.id": `accounts(${SEED_IDS.fabrikamAccount})` } });
    assertError(wrong, 400, "0x80060888", /expects a record of type 'Microsoft.Dynamics.CRM.contact'/);
    assertError(await client.api("POST", `${BOILER}/dv_iotdevice_contact/$ref`, { body: {} }), 400, "0x80060888", /@odata.id/);
  });

  it("deleting a row removes its N:N links", async () => {
    await client.api("POST", `${BOILER}/dv_iotdevice_contact/$ref`, { body: { "@odata.id": YVONNE } });
    assert.equal((await client.api("DELETE", YVONNE)).status, 204);
    const again = await client.api("POST", "contacts", { body: { contactid: SEED_IDS.yvonneContact, lastname: "Back" } });
    assert.equal(again.status, 204, again.text);
    assert.equal((await client.api("POST", `${BOILER}/dv_iotdevice_contact/$ref`, { body: { "@odata.id": YVONNE } })).status, 204);
  });
});
