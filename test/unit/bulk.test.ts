// combineWrites with a fake exchange: how a resent bulk create treats rows it meets as its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { BulkSizer, combineWrites, type BulkContext } from "../../src/client/bulk";
import { DataverseError } from "../../src/client/errors";
import type { ApiRequest, ApiResponse } from "../../src/client/request";

const API = "https://org.example.com/api/data/v9.2/";

function createOf(id: string): ApiRequest {
  const row = { name: "lost", accountid: id };
  const bulk = {
    via: "CreateMultiple" as const,
    message: "CreateMultiple" as const,
    set: "accounts",
    logicalName: "account",
    row,
    idColumn: "accountid",
    id,
    generatedId: true,
  };
  return { method: "POST", path: "accounts", body: row, idempotent: true, bulk };
}

/** A $batch answer of one 412 part per row: every id already exists. */
function duplicates(count: number): ApiResponse {
  const part = [
    "--batchresponse_1",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "HTTP/1.1 412 Precondition Failed",
    "Content-Type: application/json; odata.metadata=minimal",
    "",
    JSON.stringify({ error: { code: "0x80040237", message: "A record with matching key values already exists." } }),
  ];
  const text = [...Array.from({ length: count }, () => part.join("\r\n")), "--batchresponse_1--", ""].join("\r\n");
  return { status: 200, headers: { "content-type": "multipart/mixed; boundary=batchresponse_1" }, body: text };
}

/** CreateMultiple meets existing ids (412), its rows go again in a $batch (all 412), then `check` answers the id check. */
function resentCreates(reqs: ApiRequest[], check: (req: ApiRequest) => ApiResponse): { ctx: BulkContext; gets: ApiRequest[] } {
  const gets: ApiRequest[] = [];
  const ctx: BulkContext = {
    apiBase: API,
    exchange: async (req) => {
      if (req.method === "GET") {
        gets.push(req);
        return check(req);
      }
      if (req.path === "$batch") return duplicates(reqs.length);
      return { status: 412, headers: {}, body: { error: { code: "0x80040237", message: "A record with matching key values already exists." } } };
    },
    markLost: () => undefined,
    errorOf: (_req, res) => new DataverseError({ message: `HTTP ${res.status}`, status: res.status, code: "0x80040237" }),
    sizer: new BulkSizer(100),
  };
  return { ctx, gets };
}

test("rows a resent bulk create meets as its own are confirmed in one query, not one request each", async () => {
  const reqs = Array.from({ length: 60 }, () => createOf(randomUUID()));
  const { ctx, gets } = resentCreates(reqs, () => ({ status: 200, headers: {}, body: { value: reqs.map((r) => ({ accountid: r.bulk!.id })) } }));
  const outcomes = await combineWrites(ctx, reqs);
  assert.equal(gets.length, 1);
  for (const r of reqs) assert.ok(decodeURIComponent(gets[0].path).includes(`accountid eq ${r.bulk!.id}`));
  assert.ok(outcomes.every((o) => "ok" in o && (o.ok as ApiResponse).headers["odata-entityid"]?.startsWith(`${API}accounts(`)));
});

test("a check of our own ids that is throttled is tried again later, not reported as a duplicate", async () => {
  const reqs = [createOf(randomUUID()), createOf(randomUUID())];
  const { ctx } = resentCreates(reqs, () => ({ status: 429, headers: { "retry-after": "0" }, body: { error: { code: "0x80072326" } } }));
  const outcomes = await combineWrites(ctx, reqs);
  assert.deepEqual(
    outcomes.map((o) => Object.keys(o)[0]),
    ["transient", "transient"],
  );
});

test("an id of ours that the check does not find stays a duplicate (412)", async () => {
  const reqs = [createOf(randomUUID()), createOf(randomUUID())];
  const { ctx } = resentCreates(reqs, () => ({ status: 200, headers: {}, body: { value: [{ accountid: reqs[0].bulk!.id }] } }));
  const outcomes = await combineWrites(ctx, reqs);
  assert.ok("ok" in outcomes[0]);
  assert.equal("failed" in outcomes[1] && outcomes[1].failed.status, 412);
});
