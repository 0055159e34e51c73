// relate() over a stand-in context: the relationship found by schema name or by a navigation
// property that differs from it (as on a self-referencing N:N), the $ref requests it sends, and
// what it does without metadata.
import { test } from "node:test";
import assert from "node:assert/strict";
import { relate } from "../../src/client/operations/relate";
import { DataverseError } from "../../src/client/errors";
import type { CollectionRelationship, MetadataCache, TableInfo } from "../../src/client/metadata";
import type { OperationContext } from "../../src/client/operations/context";
import type { ApiRequest, ApiResponse } from "../../src/client/request";

const ACCOUNT: TableInfo = { logicalName: "account", entitySetName: "accounts", displayName: "Account", primaryIdAttribute: "accountid" };
const COLLECTIONS: CollectionRelationship[] = [
  { schemaName: "contact_customer_accounts", navigation: "contact_customer_accounts", table: "contact", kind: "OneToMany" },
  // A table related to itself: one relationship, a navigation property for each side.
  { schemaName: "account_partners", navigation: "account_partners_referencing", table: "account", kind: "ManyToMany" },
  { schemaName: "account_partners", navigation: "account_partners_referenced", table: "account", kind: "ManyToMany" },
];
const ID = "00000000-0000-0000-0000-000000000001";
const OTHER = "00000000-0000-0000-0000-000000000002";

function context(
  collections: CollectionRelationship[] | undefined,
  answer: (req: ApiRequest) => ApiResponse = () => ({ status: 204, headers: {}, body: undefined }),
) {
  const sent: ApiRequest[] = [];
  const tables: Record<string, TableInfo> = { account: ACCOUNT, accounts: ACCOUNT, contact: { ...ACCOUNT, logicalName: "contact", entitySetName: "contacts" } };
  tables.contacts = tables.contact;
  const metadata = { table: async (name: string) => tables[name], collections: async () => collections } as unknown as MetadataCache;
  const ctx: OperationContext = {
    send: async (req) => {
      sent.push(req);
      const res = answer(req);
      if (res.status >= 400) throw new DataverseError({ message: "failed", status: res.status, code: String((res.body as { code?: string })?.code ?? "") });
      return res;
    },
    metadata,
    apiBase: "https://org.example/api/data/v9.2/",
    bulk: false,
  };
  return { ctx, sent };
}

test("a navigation property that differs from the schema name picks that side", async () => {
  const { ctx, sent } = context(COLLECTIONS);
  const result = await relate(ctx, { action: "associate", table: "accounts", rowId: ID, relationship: "account_partners_referenced", targetId: OTHER });
  assert.equal(sent[0].path, `accounts(${ID})/account_partners_referenced/$ref`);
  assert.deepEqual(sent[0].body, { "@odata.id": `https://org.example/api/data/v9.2/accounts(${OTHER})` });
  assert.equal(result.details?.relationship, "account_partners");
});

test("by schema name in any case; disassociate by id and by key", async () => {
  const { ctx, sent } = context(COLLECTIONS);
  await relate(ctx, {
    action: "disassociate",
    table: "account",
    rowId: ID,
    relationship: "Contact_Customer_Accounts",
    targetId: [OTHER, { emailaddress1: "a@b" }],
  });
  assert.deepEqual(
    sent.map((r) => `${r.method} ${r.path}`),
    [
      `DELETE accounts(${ID})/contact_customer_accounts(${OTHER})/$ref`,
      `DELETE accounts(${ID})/contact_customer_accounts/$ref?$id=${encodeURIComponent("https://org.example/api/data/v9.2/contacts(emailaddress1='a%40b')")}`,
    ],
  );
});

test("a duplicate key answer to an associate is alreadyAssociated, not an error", async () => {
  const { ctx } = context(COLLECTIONS, (req) =>
    String(req.body && (req.body as Record<string, string>)["@odata.id"]).includes(OTHER)
      ? { status: 412, headers: {}, body: { code: "0x80040237" } }
      : { status: 204, headers: {}, body: undefined },
  );
  const result = await relate(ctx, { action: "associate", table: "accounts", rowId: ID, relationship: "contact_customer_accounts", targetId: [ID, OTHER] });
  assert.deepEqual(
    result.row?.map((r) => r.result),
    ["associated", "alreadyAssociated"],
  );
  assert.equal(result.details?.alreadyAssociated, 1);
});

test("without metadata the relationship is used as the navigation property, and targetTable is needed", async () => {
  const { ctx, sent } = context(undefined);
  await assert.rejects(relate(ctx, { action: "associate", table: "accounts", rowId: ID, relationship: "nav", targetId: OTHER }), /targetTable is empty/);
  await relate(ctx, { action: "associate", table: "accounts", rowId: ID, relationship: "nav", targetTable: "contacts", targetId: OTHER });
  assert.equal(sent[0].path, `accounts(${ID})/nav/$ref`);
});

test("bad input fails before anything is sent", async () => {
  const { ctx, sent } = context(COLLECTIONS);
  const base = { action: "associate", table: "accounts", rowId: ID, relationship: "contact_customer_accounts", targetId: OTHER };
  await assert.rejects(relate(ctx, { ...base, action: "link" }), /action must be associate or disassociate/);
  await assert.rejects(relate(ctx, { ...base, relationship: "" }), /relationship must be a relationship's schema name/);
  await assert.rejects(relate(ctx, { ...base, targetId: [] }), /targetId is an empty array/);
  await assert.rejects(
    relate(ctx, { ...base, relationship: "nope" }),
    /has no one-to-many or many-to-many relationship 'nope': use one of account_partners, contact_customer_accounts/,
  );
  assert.equal(sent.length, 0);
});
