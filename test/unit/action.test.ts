// How an operation call is written (function paths with aliases) and read (the answer, the catalogue).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aliasValue, answerOf, functionPath } from "../../src/client/operations/action";
import { parseOperations } from "../../src/client/operation-catalog";

describe("function parameters as aliases", () => {
  it("writes each kind of value as its OData literal, percent-encoded", () => {
    assert.equal(aliasValue("P", "O'Brien & Co"), "'O''Brien%20%26%20Co'");
    assert.equal(aliasValue("P", 1033), "1033");
    assert.equal(aliasValue("P", -2.5), "-2.5");
    assert.equal(aliasValue("P", true), "true");
    assert.equal(aliasValue("P", null), "null");
    assert.equal(aliasValue("P", "{A1B2C3D4-0001-4A00-8A00-000000000001}"), "a1b2c3d4-0001-4a00-8a00-000000000001");
    assert.equal(aliasValue("P", "2024-05-01T10:00:00+02:00"), "2024-05-01T10%3A00%3A00%2B02%3A00");
    assert.equal(aliasValue("P", new Date("2024-05-01T08:00:00Z")), "2024-05-01T08%3A00%3A00.000Z");
    assert.equal(aliasValue("P", "Microsoft.Dynamics.CRM.EndpointAccessType'Default'"), "Microsoft.Dynamics.CRM.EndpointAccessType'Default'");
    assert.equal(aliasValue("P", { "@odata.id": "accounts(1)" }), "%7B%22%40odata.id%22%3A%22accounts(1)%22%7D");
    assert.equal(aliasValue("P", ["account"]), "%5B%22account%22%5D");
    assert.equal(aliasValue("P", "2024-05-01"), "'2024-05-01'", "a date without time and offset stays text");
  });

  it("refuses what has no literal", () => {
    assert.throws(() => aliasValue("P", Number.NaN), { code: "InvalidInput", field: "parameters", message: /parameter P is NaN/ });
    assert.throws(() => aliasValue("P", Buffer.from("x")), { code: "InvalidInput", field: "parameters", message: /a Buffer/ });
  });

  it("names each parameter once in the path; undefined ones are left out; none gives ()", () => {
    assert.equal(functionPath("Fn", { A: "x", B: undefined, C: 2 }), "Fn(A=@p1,C=@p2)?@p1='x'&@p2=2");
    assert.equal(functionPath("accounts(1)/Microsoft.Dynamics.CRM.Fn", {}), "accounts(1)/Microsoft.Dynamics.CRM.Fn()");
  });
});

describe("the answer", () => {
  const res = (status: number, body: unknown) => ({ status, headers: {}, body });

  it("drops the OData context and type; keeps everything else", () => {
    assert.deepEqual(answerOf(res(200, { "@odata.context": "x#Microsoft.Dynamics.CRM.WhoAmIResponse", UserId: "u", Nested: { "@odata.type": "#t" } })), {
      UserId: "u",
      Nested: { "@odata.type": "#t" },
    });
  });

  it("unwraps a single value or a collection, but not a response type with a property named value", () => {
    assert.equal(answerOf(res(200, { "@odata.context": "x#Edm.Int32", value: 42 })), 42);
    assert.deepEqual(answerOf(res(200, { "@odata.context": "x#accounts", value: [{ name: "a" }] })), [{ name: "a" }]);
    assert.deepEqual(answerOf(res(200, { "@odata.context": "x#Microsoft.Dynamics.CRM.cr0a1_FooResponse", value: 1 })), { value: 1 });
  });

  it("is undefined for 204 No Content", () => {
    assert.equal(answerOf(res(204, undefined)), undefined);
  });
});

describe("the operations in $metadata", () => {
  it("reads kind, binding, parameters (required when not nullable) and return type", () => {
    const csdl = `<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm">
      <Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false" /></Function>
      <Action Name="WinOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" Nullable="false" /><Parameter Name="Status" Type="Edm.Int32" Nullable="false" /></Action>
      <Action Name="AddToQueue" IsBound="true"><Parameter Name="entity" Type="mscrm.queue" Nullable="false" /><Parameter Name="Target" Type="mscrm.crmbaseentity" Nullable="false" /><Parameter Name="QueueItemProperties" Type="mscrm.queueitem" /><ReturnType Type="mscrm.AddToQueueResponse" Nullable="false" /></Action>
      <Action Name="ExportTranslation" IsBound="true"><Parameter Name="entityset" Type="Collection(mscrm.solution)" Nullable="false" /></Action>
      <Function Name="Empty" />
    </Schema>`;
    assert.deepEqual(parseOperations(csdl), [
      {
        name: "AddToQueue",
        kind: "action",
        boundTo: { table: "queue", collection: false },
        parameters: [
          { name: "Target", type: "mscrm.crmbaseentity", required: true },
          { name: "QueueItemProperties", type: "mscrm.queueitem", required: false },
        ],
        returns: "mscrm.AddToQueueResponse",
      },
      { name: "Empty", kind: "function", parameters: [] },
      { name: "ExportTranslation", kind: "action", boundTo: { table: "solution", collection: true }, parameters: [] },
      { name: "WhoAmI", kind: "function", parameters: [], returns: "mscrm.WhoAmIResponse" },
      {
        name: "WinOpportunity",
        kind: "action",
        parameters: [
          { name: "OpportunityClose", type: "mscrm.opportunityclose", required: true },
          { name: "Status", type: "Edm.Int32", required: true },
        ],
      },
    ]);
  });
});
