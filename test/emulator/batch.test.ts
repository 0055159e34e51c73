// $batch: the multipart request and answer of the real service (reference C.13, E.2), change sets as
// transactions, Content-ID references, stopping or going on after an error, and limits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, GUID_RE, readBatchResponse, useEmulator, type BatchPart, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const API = "/api/data/v9.2";
const accountNames = () => emu.control.rows("accounts").map((r) => r.name);

function assertErrorPart(part: BatchPart, status: number, code: string, message?: string | RegExp): void {
  assert.equal(part.status, status, part.body);
  assert.match(part.headers.req_id, GUID_RE);
  assert.equal(part.headers["content-type"], "application/json; odata.metadata=minimal");
  assert.equal(part.json().error.code, code);
  if (typeof message === "string") assert.equal(part.json().error.message, message);
  else if (message) assert.match(part.json().error.message, message);
}

function assertBadBatch(res: HttpResult, message: string | RegExp): void {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json().error.code, "0x80060888");
  if (typeof message === "string") assert.equal(res.json().error.message, message);
  else assert.match(res.json().error.message, message);
}

describe("$batch without change sets", () => {
  it("runs the requests in order and answers one part each, in the real layout", async () => {
    const res = await client.batch([
      { method: "POST", url: `${API}/accounts`, body: { name: "Batch 1" } },
      { method: "POST", url: `${emu.dataverseUrl}${API}/accounts`, body: { name: "Batch 2" } },
      { method: "GET", url: `${API}/accounts?$select=name&$filter=startswith(name,'Batch')&$orderby=name` },
    ]);
    assert.equal(res.status, 200);
    assert.equal(res.headers["odata-version"], "4.0");
    const [first, second, query] = readBatchResponse(res) as BatchPart[];
    for (const created of [first, second]) {
      assert.equal(created.status, 204);
      assert.deepEqual(created.partHeaders, { "content-type": "application/http", "content-transfer-encoding": "binary" });
      assert.match(created.headers["odata-entityid"], new RegExp(`^${emu.dataverseUrl}${API}/accounts\\([0-9a-f-]{36}\\)$`));
      assert.equal(created.headers.location, created.headers["odata-entityid"]);
      assert.equal(created.headers["odata-version"], "4.0");
      assert.equal(created.body, "");
    }
    assert.equal(query.status, 200);
    assert.equal(query.headers["content-type"], "application/json; odata.metadata=minimal; odata.streaming=true");
    assert.deepEqual(
      query.json().value.map((r: any) => r.name),
      ["Batch 1", "Batch 2"],
    );
    assert.equal(query.json()["@odata.context"], `${emu.dataverseUrl}${API}/$metadata#accounts(name)`);
  });

  it("writes a 204 part as status line, headers, two empty lines (like Microsoft's samples)", async () => {
    const res = await client.batch([{ method: "POST", url: `${API}/accounts`, body: { name: "Layout" } }]);
    const boundary = String(res.headers["content-type"]).split("boundary=")[1];
    assert.match(
      res.text,
      new RegExp(`^--${boundary}\\r\\nContent-Type: application/http\\r\\nContent-Transfer-Encoding: binary\\r\\n\\r\\nHTTP/1.1 204 No Content\\r\\n`),
    );
    assert.match(res.text, new RegExp(`OData-EntityId: [^\\r]+\\r\\n\\r\\n\\r\\n--${boundary}--\\r\\n$`));
  });

  it("takes an unquoted boundary, LF line ends, relative URLs and unencoded spaces in the URL", async () => {
    const body = [
      "--b1",
      "Content-Type: application/http",
      "",
      "POST accounts HTTP/1.1",
      "Content-Type: application/json",
      "",
      '{"name":"LF only"}',
      "--b1",
      "Content-Type: application/http",
      "",
      "GET accounts?$select=name&$filter=name eq 'LF only' HTTP/1.1",
      "",
      "--b1--",
    ].join("\n");
    const res = await client.api("POST", "$batch", { headers: { "Content-Type": "multipart/mixed;boundary=b1" }, body });
    assert.equal(res.status, 200, res.text);
    const [created, query] = readBatchResponse(res) as BatchPart[];
    assert.equal(created.status, 204);
    assert.equal(query.json().value.length, 1);
  });

  it("counts as one request, logged with the number of operations it carried; rows written are counted", async () => {
    await client.accessToken();
    emu.control.resetStats();
    emu.control.clearRequests();
    const res = await client.batch([
      { method: "POST", url: `${API}/accounts`, body: { name: "Counted" } },
      { method: "PATCH", url: `${API}/accounts(${SEED_IDS.fabrikamAccount})`, body: { telephone1: "1" } },
      { method: "DELETE", url: `${API}/accounts(${SEED_IDS.northwindAccount})` },
      { method: "GET", url: `${API}/WhoAmI` },
    ]);
    assert.equal(res.status, 200);
    const log = emu.control.requests({ server: "dataverse" });
    assert.equal(log.length, 1);
    assert.equal(log[0].operations, 4);
    const stats = emu.control.stats();
    assert.equal(stats.dataverseRequests, 1);
    assert.deepEqual([stats.rowsCreated, stats.rowsUpdated, stats.rowsDeleted], [1, 1, 1]);
  });

  it("without continue-on-error stops at the first failure: outer status is its status, later requests never run", async () => {
    const res = await client.batch([
      { method: "POST", url: `${API}/accounts`, body: { name: "Before" } },
      { method: "POST", url: `${API}/accounts`, body: { name: "x".repeat(161) } },
      { method: "POST", url: `${API}/accounts`, body: { name: "After" } },
    ]);
    assert.equal(res.status, 400);
    const parts = readBatchResponse(res) as BatchPart[];
    assert.equal(parts.length, 2);
    assert.equal(parts[0].status, 204);
    assertErrorPart(
      parts[1],
      400,
      "0x80044331",
      "A validation error occurred.  The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'.",
    );
    assert.ok(accountNames().includes("Before"), "requests outside change sets are not rolled back");
    assert.ok(!accountNames().includes("After"));
  });

  it("with Prefer: odata.continue-on-error answers 200 and every request has its own part", async () => {
    const res = await client.batch(
      [
        { method: "POST", url: `${API}/accounts`, body: { name: "x".repeat(161) } },
        { method: "GET", url: `${API}/accounts(9e9e9e9e-0000-4000-8000-000000000001)` },
        { method: "POST", url: `${API}/accounts`, body: { name: "Still runs" } },
      ],
      { Prefer: "odata.continue-on-error" },
    );
    assert.equal(res.status, 200);
    const parts = readBatchResponse(res) as BatchPart[];
    assert.deepEqual(
      parts.map((p) => p.status),
      [400, 404, 204],
    );
    assertErrorPart(parts[1], 404, "0x80040217", "account With Id = 9e9e9e9e-0000-4000-8000-000000000001 Does Not Exist");
    assert.ok(accountNames().includes("Still runs"));
  });

  it("keeps every single-request behaviour: If-Match, alternate keys, upsert, return=representation", async () => {
    const res = await client.batch(
      [
        { method: "PATCH", url: `${API}/accounts(${SEED_IDS.contosoAccount})`, headers: { "If-Match": 'W/"1"' }, body: { name: "Stale" } },
        { method: "PATCH", url: `${API}/dv_iotdevices(dv_serialnumber='SN-0500')`, body: { dv_name: "Upserted in a batch" } },
        { method: "POST", url: `${API}/accounts?$select=name`, headers: { Prefer: "return=representation" }, body: { name: "Represented" } },
        { method: "PATCH", url: `${API}/accounts(${SEED_IDS.contosoAccount})`, headers: { "If-None-Match": "*" }, body: { name: "Exists" } },
      ],
      { Prefer: "odata.continue-on-error" },
    );
    const [stale, upsert, represented, exists] = readBatchResponse(res) as BatchPart[];
    assertErrorPart(stale, 412, "0x80060882");
    assert.equal(upsert.status, 204);
    assert.equal(upsert.headers["odata-entityid"], `${emu.dataverseUrl}${API}/dv_iotdevices(dv_serialnumber='SN-0500')`);
    assert.equal(represented.status, 201);
    assert.equal(represented.headers["preference-applied"], "return=representation");
    assert.equal(represented.json().name, "Represented");
    assert.match(represented.headers.etag, /^W\/"\d+"$/);
    assertErrorPart(exists, 412, "0x80040237");
  });
});

describe("$batch change sets", () => {
  it("runs a change set as one unit: Content-ID echoed, $n in URLs and in @odata.bind", async () => {
    const res = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/contacts`, contentId: "1", body: { firstname: "Ref", lastname: "Contact" } },
          { method: "POST", url: `${API}/accounts`, contentId: "2", body: { name: "Ref Account", "primarycontactid@odata.bind": "$1" } },
          { method: "PATCH", url: "$2", contentId: "3", body: { telephone1: "555 0199" } },
          { method: "PATCH", url: "$1", contentId: "4", body: { "parentcustomerid_account@odata.bind": "$2" } },
        ],
      },
      { method: "GET", url: `${API}/accounts?$select=name,telephone1,_primarycontactid_value&$filter=name eq 'Ref Account'` },
    ]);
    assert.equal(res.status, 200, res.text);
    const [changeSet, query] = readBatchResponse(res) as [BatchPart[], BatchPart];
    assert.deepEqual(
      changeSet.map((p) => [p.partHeaders["content-id"], p.status]),
      [
        ["1", 204],
        ["2", 204],
        ["3", 204],
        ["4", 204],
      ],
    );
    const contactId = changeSet[0].headers["odata-entityid"].match(/\(([0-9a-f-]{36})\)$/)![1];
    assert.equal(changeSet[2].headers["odata-entityid"], changeSet[1].headers["odata-entityid"], "$2 is the account created by request 2");
    const [account] = query.json().value;
    assert.equal(account.telephone1, "555 0199");
    assert.equal(account._primarycontactid_value, contactId);
    const contact = emu.control.rows("contacts").find((r) => r.contactid === contactId)!;
    assert.equal(contact._parentcustomerid_value, account.accountid);
  });

  it("a reference may carry a query or a path; duplicate Content-IDs in a change set are refused", async () => {
    const res = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/accounts`, contentId: "a1", body: { name: "Referenced" } },
          { method: "PATCH", url: "$a1?$select=name,telephone1", contentId: "a2", headers: { Prefer: "return=representation" }, body: { telephone1: "7" } },
        ],
      },
    ]);
    const [[, represented]] = readBatchResponse(res) as BatchPart[][];
    assert.equal(represented.status, 200);
    assert.deepEqual(
      Object.keys(represented.json()).filter((k) => !k.startsWith("@")),
      ["name", "telephone1", "accountid"],
    );
    const path = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/contacts`, contentId: "1", body: { firstname: "Path" } },
          { method: "PUT", url: "$1/lastname", contentId: "2", body: { value: "Not here" } },
        ],
      },
    ]);
    assert.equal(path.status, 501, "single-property addressing is not emulated");
    assert.ok(!emu.control.rows("contacts").some((r) => r.firstname === "Path"));
    const twice = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/accounts`, contentId: "1", body: { name: "Twice" } },
          { method: "POST", url: `${API}/accounts`, contentId: "1", body: { name: "Twice" } },
        ],
      },
    ]);
    assertBadBatch(twice, "The content ID '1' was found more than once in the same change set.");
  });

  it("rolls the whole change set back on a failure and reports just the failing request", async () => {
    const before = emu.control.rows("contacts").length;
    const res = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/contacts`, contentId: "1", body: { firstname: "Rolled", lastname: "Back" } },
          { method: "PATCH", url: `${API}/accounts(${SEED_IDS.fabrikamAccount})`, contentId: "2", body: { telephone1: "changed" } },
          { method: "DELETE", url: `${API}/accounts(${SEED_IDS.fabrikamAccount})`, contentId: "3" },
          { method: "POST", url: `${API}/accounts`, contentId: "4", body: { nosuchcolumn: 1 } },
        ],
      },
      { method: "POST", url: `${API}/accounts`, body: { name: "Never" } },
    ]);
    assert.equal(res.status, 400);
    const parts = readBatchResponse(res);
    assert.equal(parts.length, 1);
    const [failed] = parts[0] as BatchPart[];
    assert.equal((parts[0] as BatchPart[]).length, 1);
    assert.equal(failed.partHeaders["content-id"], "4");
    assertErrorPart(failed, 400, "0x80060888", /The property 'nosuchcolumn' does not exist on type 'Microsoft.Dynamics.CRM.account'/);
    assert.equal(emu.control.rows("contacts").length, before);
    const fabrikam = emu.control.rows("accounts").find((r) => r.accountid === SEED_IDS.fabrikamAccount)!;
    assert.equal(fabrikam.telephone1, "+1 206 555 0150");
    assert.deepEqual(accountNames(), ["Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders"]);
    // The rolled-back delete brings the lookups it cleared back too.
    assert.equal(emu.control.rows("contacts").find((r) => r.contactid === SEED_IDS.susannaContact)?._parentcustomerid_value, SEED_IDS.fabrikamAccount);
    assert.equal(emu.control.stats().rowsCreated, 0, "rolled-back writes are not counted");
    // Rolled back everywhere: queries see the old rows.
    assert.equal((await client.api("GET", `accounts(${SEED_IDS.fabrikamAccount})?$select=telephone1`)).json().telephone1, "+1 206 555 0150");
  });

  it("with continue-on-error a failed change set is rolled back and the batch goes on", async () => {
    const res = await client.batch(
      [
        { changeSet: [{ method: "POST", url: `${API}/accounts`, contentId: "1", body: { name: "x".repeat(161) } }] },
        { changeSet: [{ method: "POST", url: `${API}/accounts`, contentId: "1", body: { name: "Second change set" } }] },
      ],
      { Prefer: "odata.continue-on-error" },
    );
    assert.equal(res.status, 200);
    const [first, second] = readBatchResponse(res) as BatchPart[][];
    assert.equal(first[0].status, 400);
    assert.equal(second[0].status, 204);
    assert.ok(accountNames().includes("Second change set"));
  });

  it("refuses the whole batch (400, nothing runs) for GET in a change set, a missing Content-ID, an unknown reference", async () => {
    const get = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/accounts`, contentId: "1", body: { name: "No" } },
          { method: "GET", url: `${API}/accounts`, contentId: "2" },
        ],
      },
    ]);
    assertBadBatch(
      get,
      "An invalid HTTP method 'GET' was detected for a request in a change set. Requests in change sets only support the HTTP methods 'POST', 'PUT', 'DELETE', and 'PATCH'.",
    );
    const noId = await client.batch([{ changeSet: [{ method: "POST", url: `${API}/accounts`, body: { name: "No" } }] }]);
    assertBadBatch(noId, "The header with name 'Content-ID' was not present in the header collection of the batch operation.");
    const forward = await client.batch([
      {
        changeSet: [
          { method: "POST", url: `${API}/accounts`, contentId: "2", body: { name: "No", "primarycontactid@odata.bind": "$1" } },
          { method: "POST", url: `${API}/contacts`, contentId: "1", body: { firstname: "No" } },
        ],
      },
    ]);
    assertBadBatch(forward, "Content-ID Reference: '$1' does not exist in the batch context.");
    const outside = await client.batch([{ method: "PATCH", url: "$1", body: { name: "No" } }]);
    assertBadBatch(outside, "Content-ID Reference: '$1' does not exist in the batch context.");
    assert.ok(!accountNames().includes("No"));
  });
});

describe("$batch limits and malformed requests", () => {
  it("takes 1,000 requests and refuses 1,001", async () => {
    const requests = (n: number) => Array.from({ length: n }, (_, i) => ({ method: "POST", url: `${API}/dv_iotdevices`, body: { dv_name: `D${i}` } }));
    const ok = await client.batch(requests(1000));
    assert.equal(ok.status, 200);
    assert.equal(readBatchResponse(ok).length, 1000);
    const before = emu.control.rows("dv_iotdevices").length;
    assertBadBatch(
      await client.batch(requests(1001)),
      "The current batch message contains too many parts. Only batch messages with a maximum number of '1000' query operations, including changeset operations, are allowed.",
    );
    assertBadBatch(
      await client.batch([{ changeSet: requests(1001).map((r, i) => ({ ...r, contentId: String(i + 1) })) }]),
      "The current change set contains too many operations. A maximum number of '1000' operations are allowed in a change set.",
    );
    assert.equal(emu.control.rows("dv_iotdevices").length, before);
  });

  it("refuses a body that is not multipart/mixed, has no closing delimiter, or nests a batch; GET $batch is 405", async () => {
    assertBadBatch(await client.api("POST", "$batch", { body: { requests: [] } }), /multipart\/mixed/);
    const unterminated = "--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\n\r\n";
    assertBadBatch(await client.api("POST", "$batch", { headers: { "Content-Type": "multipart/mixed; boundary=b" }, body: unterminated }), /closing delimiter/);
    assertBadBatch(await client.batch([{ method: "POST", url: `${API}/$batch`, body: "" }]), /can't contain another batch/);
    const get = await client.api("GET", "$batch");
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, "POST");
  });

  it("answers an inner request outside the Web API with 404 in its part", async () => {
    const res = await client.batch([{ method: "GET", url: "/nowhere" }]);
    assert.equal(res.status, 404);
    assertErrorPart((readBatchResponse(res) as BatchPart[])[0], 404, "0x8006088a");
  });
});
