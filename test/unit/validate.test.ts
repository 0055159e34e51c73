import { test } from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";
import { checkEnvironmentUrl, checkExpand, checkRow, checkRowId, checkSelect, checkTable } from "../../src/client/validate";
import { checkTenant, resolveAuthority } from "../../src/client/clouds";
import { DataverseError } from "../../src/client/errors";

function fails(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataverseError);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

test("table must be an entity set name", () => {
  assert.equal(checkTable(" accounts "), "accounts");
  assert.equal(checkTable("dv_iotdevices"), "dv_iotdevices");
  fails(() => checkTable(""), "table", /table is empty/);
  fails(() => checkTable(undefined), "table", /table is empty/);
  for (const bad of ["accounts?$top=1", "accounts/x", "accounts(1)", "acc ounts", "1accounts"]) {
    fails(() => checkTable(bad), "table", /not an entity set name/);
  }
  fails(() => checkTable(5), "table", /must be text/);
});

test("rowId is a GUID or an alternate key object of simple values", () => {
  assert.deepEqual(checkRowId("{7EB682F1-CA75-E511-80D4-00155D2A68D1}"), { id: "7eb682f1-ca75-e511-80d4-00155d2a68d1" });
  assert.deepEqual(checkRowId({ accountnumber: "A1", numberofemployees: 3, creditonhold: true }), {
    key: { accountnumber: "A1", numberofemployees: 3, creditonhold: true },
  });
  fails(() => checkRowId("not-a-guid"), "rowId", /not a row id/);
  fails(() => checkRowId(undefined), "rowId", /missing/);
  fails(() => checkRowId({}), "rowId", /empty object/);
  fails(() => checkRowId({ accountnumber: { nested: 1 } }), "rowId", /'accountnumber'.*text, numbers or true\/false/);
  fails(() => checkRowId({ accountnumber: ["a"] }), "rowId", /text, numbers/);
  fails(() => checkRowId({ "bad key": "x" }), "rowId", /not a column name/);
  fails(() => checkRowId({ n: Number.NaN }), "rowId", /text, numbers/);
});

test("row must be a plain object", () => {
  assert.deepEqual(checkRow({ name: "x" }), { name: "x" });
  const fromSandbox = vm.runInNewContext('({ name: "made in a function node" })');
  assert.equal(checkRow(fromSandbox), fromSandbox, "objects from another realm (a function node) are plain too");
  assert.equal(JSON.stringify(checkRowId(vm.runInNewContext(`({ accountnumber: "A1" })`))), `{"key":{"accountnumber":"A1"}}`);
  fails(() => checkRow(new Date()), "row", /Date/);
  fails(() => checkRow(new (class Custom {})()), "row", /Custom/);
  fails(() => checkRow("name=x"), "row", /must be an object/);
  fails(() => checkRow([{ name: "x" }]), "row", /an array/);
  fails(() => checkRow(null), "row", /null/);
  fails(() => checkRow(Buffer.from("x")), "row", /Buffer/);
});

test("select and expand", () => {
  assert.deepEqual(checkSelect("name, telephone1"), ["name", "telephone1"]);
  assert.deepEqual(checkSelect(["name"]), ["name"]);
  assert.equal(checkSelect(""), undefined);
  fails(() => checkSelect("name;drop"), "select", /not a column name/);
  assert.equal(checkExpand("primarycontactid($select=fullname)"), "primarycontactid($select=fullname)");
  fails(() => checkExpand("x&$top=1"), "expand", /navigation property/);
});

test("environment URL: https, or http only on loopback", () => {
  assert.equal(checkEnvironmentUrl("https://org.crm.dynamics.com/"), "https://org.crm.dynamics.com");
  assert.equal(checkEnvironmentUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  assert.equal(checkEnvironmentUrl("http://localhost:8080"), "http://localhost:8080");
  fails(() => checkEnvironmentUrl("http://org.crm.dynamics.com"), "url", /https/);
  fails(() => checkEnvironmentUrl("org.crm.dynamics.com"), "url", /not a URL/);
  fails(() => checkEnvironmentUrl("https://org.crm.dynamics.com/api/data/v9.2"), "url", /without \/api\/data/);
  fails(() => checkEnvironmentUrl(""), "url", /no environment URL/);
});

test("authority per cloud", () => {
  const t = "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11";
  assert.equal(resolveAuthority("public", t, "").authority, `https://login.microsoftonline.com/${t}`);
  assert.equal(resolveAuthority(undefined, t, "").authority, `https://login.microsoftonline.com/${t}`);
  assert.equal(resolveAuthority("gcc", t, "").authority, `https://login.microsoftonline.com/${t}`);
  assert.equal(resolveAuthority("gcchigh", t, "").authority, `https://login.microsoftonline.us/${t}`);
  assert.equal(resolveAuthority("dod", t, "").authority, `https://login.microsoftonline.us/${t}`);
  assert.equal(resolveAuthority("china", t, "").authority, `https://login.chinacloudapi.cn/${t}`);
  const custom = resolveAuthority("custom", t, "127.0.0.1:8444");
  assert.equal(custom.authority, `https://127.0.0.1:8444/${t}`);
  assert.deepEqual(custom.knownAuthorities, ["127.0.0.1:8444"]);
  assert.equal(resolveAuthority("custom", t, "https://login.example.com/").authority, `https://login.example.com/${t}`);
  fails(() => resolveAuthority("custom", t, ""), "authority", /no authority host/);
  fails(() => resolveAuthority("custom", t, "http://login.example.com"), "authority", /https/);
  fails(() => resolveAuthority("mars", t, ""), "cloud", /Unknown cloud/);
  fails(() => checkTenant("common"), "tenant", /cannot be used/);
  fails(() => checkTenant("not a tenant"), "tenant", /neither/);
  assert.equal(checkTenant("contoso.onmicrosoft.com"), "contoso.onmicrosoft.com");
});
