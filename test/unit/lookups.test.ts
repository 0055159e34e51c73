// Lookups by column name → <navigation property>@odata.bind, over relationship metadata as Dataverse
// lists it (ManyToOneRelationships), with real navigation names of the standard tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bindLookups, type FindTable } from "../../src/client/lookups";
import { DataverseError } from "../../src/client/errors";
import type { LookupRelationship } from "../../src/client/metadata";

const CONTACT_LOOKUPS: LookupRelationship[] = [
  { column: "parentcustomerid", table: "account", navigation: "parentcustomerid_account", schemaName: "contact_customer_accounts" },
  { column: "parentcustomerid", table: "contact", navigation: "parentcustomerid_contact", schemaName: "contact_customer_contacts" },
  { column: "ownerid", table: "owner", navigation: "ownerid", schemaName: "owner_contacts" },
  { column: "transactioncurrencyid", table: "transactioncurrency", navigation: "transactioncurrencyid", schemaName: "TransactionCurrency_Contact" },
  { column: "msa_managingpartnerid", table: "account", navigation: "msa_managingpartnerid", schemaName: "msa_account_managingpartner" },
];

const SETS: Record<string, string> = {
  account: "accounts",
  contact: "contacts",
  systemuser: "systemusers",
  team: "teams",
  transactioncurrency: "transactioncurrencies",
};

const findTable: FindTable = async (name) => {
  const logical = SETS[name] ? name : Object.keys(SETS).find((k) => SETS[k] === name);
  if (!logical) throw new DataverseError({ message: "no such table", status: 404, code: "0x8006088a" });
  return { logicalName: logical, entitySetName: SETS[logical] };
};

const ID = "00000000-0000-0000-0000-000000000001";
const bind = (row: Record<string, unknown>) => bindLookups(row, CONTACT_LOOKUPS, findTable);

async function fails(row: Record<string, unknown>, pattern: RegExp, field = "row"): Promise<void> {
  await assert.rejects(bind(row), (err: unknown) => {
    assert.ok(err instanceof DataverseError);
    assert.equal(err.code, "InvalidInput");
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

test("a GUID on a one-table lookup becomes the bind of its (case-sensitive) navigation property", async () => {
  assert.deepEqual(await bind({ lastname: "X", transactioncurrencyid: ID }), {
    lastname: "X",
    "transactioncurrencyid@odata.bind": `/transactioncurrencies(${ID})`,
  });
  assert.deepEqual(await bind({ msa_managingpartnerid: `{${ID.toUpperCase()}}` }), { "msa_managingpartnerid@odata.bind": `/accounts(${ID})` });
});

test("an alternate key object, and {table, id} by logical or entity set name with an id or a key", async () => {
  assert.deepEqual(await bind({ msa_managingpartnerid: { accountnumber: "A-1" } }), { "msa_managingpartnerid@odata.bind": "/accounts(accountnumber='A-1')" });
  assert.deepEqual(await bind({ parentcustomerid: { table: "account", id: ID } }), { "parentcustomerid_account@odata.bind": `/accounts(${ID})` });
  assert.deepEqual(await bind({ parentcustomerid: { table: "contacts", id: { firstname: "Jo", emailaddress1: "j@x" } } }), {
    "parentcustomerid_contact@odata.bind": "/contacts(firstname='Jo',emailaddress1='j%40x')",
  });
});

test("owner lookups take a user or a team through the one ownerid navigation property", async () => {
  assert.deepEqual(await bind({ ownerid: { table: "systemuser", id: ID } }), { "ownerid@odata.bind": `/systemusers(${ID})` });
  assert.deepEqual(await bind({ ownerid: { table: "teams", id: ID } }), { "ownerid@odata.bind": `/teams(${ID})` });
  await fails({ ownerid: ID }, /row\.ownerid is a lookup that accepts several tables \(systemuser, team\)/);
});

test("null clears; _x_value names work like the column; binds and other columns pass through in order", async () => {
  assert.deepEqual(await bind({ parentcustomerid: null }), { "parentcustomerid_account@odata.bind": null });
  assert.deepEqual(await bind({ _msa_managingpartnerid_value: ID }), { "msa_managingpartnerid@odata.bind": `/accounts(${ID})` });
  const untouched = { firstname: "A", "parentcustomerid_contact@odata.bind": `/contacts(${ID})`, description: null, contactid: ID, extra: { a: 1 } };
  assert.deepEqual(Object.entries(await bind(untouched)), Object.entries(untouched));
});

test("ambiguous, unknown and malformed targets are input errors that list the allowed tables", async () => {
  await fails(
    { parentcustomerid: ID },
    /row\.parentcustomerid is a lookup that accepts several tables \(account, contact\): say which, like \{"table":"account"/,
  );
  await fails({ parentcustomerid: { accountnumber: "A-1" } }, /accepts several tables \(account, contact\)/);
  await fails({ parentcustomerid: { table: "lead", id: ID } }, /names table 'lead', which this lookup does not accept: use one of account, contact/);
  await fails({ parentcustomerid: { table: "systemusers", id: ID } }, /names table 'systemusers'.*use one of account, contact/);
  await fails({ msa_managingpartnerid: "A-1" }, /row\.msa_managingpartnerid is not a lookup value: use a row GUID, an alternate key object/);
  await fails({ msa_managingpartnerid: { table: "account", id: 42 } }, /is not a lookup value/);
  await assert.rejects(bindLookups({ parentcustomerid: ID }, CONTACT_LOOKUPS, findTable, "payload[3].row"), (err: DataverseError) => {
    assert.equal(err.field, "payload");
    assert.match(err.message, /^payload\[3\]\.row\.parentcustomerid is a lookup/);
    return true;
  });
});
