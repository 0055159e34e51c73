import { test } from "node:test";
import assert from "node:assert/strict";
import { keyLiteral, queryString, retryAfterSeconds, rowPath } from "../../src/client/odata";
import { cleanRow, etagOf, idFromEntityId } from "../../src/client/response";

test("string key values are quoted, embedded quotes doubled, and URL-encoded", () => {
  assert.equal(keyLiteral("accountnumber", "ACC-001"), "'ACC-001'");
  assert.equal(keyLiteral("name", "O'Brien & Sons"), "'O''Brien%20%26%20Sons'");
  assert.equal(keyLiteral("emailaddress1", "a/b?c#d"), "'a%2Fb%3Fc%23d'");
});

test("numbers and booleans are bare; a GUID on a lookup column is a GUID literal", () => {
  assert.equal(keyLiteral("numberofemployees", 42), "42");
  assert.equal(keyLiteral("creditonhold", false), "false");
  assert.equal(keyLiteral("_primarycontactid_value", "00000000-0000-0000-0000-000000000001"), "00000000-0000-0000-0000-000000000001");
  assert.equal(keyLiteral("accountnumber", "00000000-0000-0000-0000-000000000001"), "'00000000-0000-0000-0000-000000000001'");
});

test("row paths by id, single key and compound key", () => {
  assert.equal(rowPath("accounts", { id: "7eb682f1-ca75-e511-80d4-00155d2a68d1" }), "accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)");
  assert.equal(rowPath("accounts", { key: { accountnumber: "A1" } }), "accounts(accountnumber='A1')");
  assert.equal(
    rowPath("contacts", { key: { firstname: "Joe", emailaddress1: "abc@example.com" } }),
    "contacts(firstname='Joe',emailaddress1='abc%40example.com')",
  );
});

test("query strings carry $select and an encoded $expand", () => {
  assert.equal(queryString({}), "");
  assert.equal(queryString({ select: ["name", "revenue"] }), "?$select=name,revenue");
  assert.equal(queryString({ select: ["name"], expand: "primarycontactid($select=fullname)" }), "?$select=name&$expand=primarycontactid(%24select%3Dfullname)");
});

test("the new id is read from OData-EntityId", () => {
  assert.equal(
    idFromEntityId("https://org.crm.dynamics.com/api/data/v9.2/accounts(7EB682F1-CA75-E511-80D4-00155D2A68D1)"),
    "7eb682f1-ca75-e511-80d4-00155d2a68d1",
  );
  assert.equal(idFromEntityId("https://org/api/data/v9.2/accounts(accountnumber='x')"), undefined);
  assert.equal(idFromEntityId(undefined), undefined);
});

test("Retry-After in seconds or as an HTTP date", () => {
  assert.equal(retryAfterSeconds("5"), 5);
  const now = Date.parse("2026-11-21T10:00:00Z");
  assert.equal(retryAfterSeconds("Sat, 21 Nov 2026 10:00:07 GMT", now), 7);
  assert.equal(retryAfterSeconds("Sat, 21 Nov 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterSeconds("soon"), undefined);
});

test("rows lose their @odata.context but keep the etag", () => {
  const body = { "@odata.context": "x", "@odata.etag": 'W/"5"', name: "a" };
  assert.deepEqual(cleanRow(body), { "@odata.etag": 'W/"5"', name: "a" });
  assert.equal(etagOf(body, undefined), 'W/"5"');
  assert.equal(etagOf({}, 'W/"6"'), 'W/"6"');
});
