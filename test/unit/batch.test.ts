import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, parseBatchResponse } from "../../src/client/batch";

test("builds a $batch with a change set, Content-IDs and JSON bodies, CRLF throughout", () => {
  const { contentType, text } = buildBatch("/api/data/v9.2/", [
    { method: "GET", path: "accounts(00000000-0000-0000-0000-000000000001)?$select=name" },
    {
      changeSet: [
        { method: "POST", path: "tasks", body: { subject: "Task 1" } },
        { method: "PATCH", path: "$1", body: { description: "x" }, headers: { "If-Match": "*" } },
      ],
    },
  ]);
  const boundary = /boundary=(batch_[\w-]+)/.exec(contentType)![1];
  assert.ok(text.startsWith(`--${boundary}\r\n`));
  assert.ok(text.endsWith(`--${boundary}--\r\n`));
  assert.match(text, /GET \/api\/data\/v9\.2\/accounts\(00000000-0000-0000-0000-000000000001\)\?\$select=name HTTP\/1\.1/);
  assert.match(text, /Content-Type: multipart\/mixed; boundary=changeset_/);
  assert.match(
    text,
    /Content-ID: 1\r\n\r\nPOST \/api\/data\/v9\.2\/tasks HTTP\/1\.1\r\nContent-Type: application\/json; charset=utf-8\r\nContent-Length: 20\r\n\r\n\{"subject":"Task 1"\}/,
  );
  assert.match(text, /Content-ID: 2\r\n\r\nPATCH \$1 HTTP\/1\.1/);
  assert.match(text, /If-Match: \*/);
  assert.doesNotMatch(text.replace(/\r\n/g, ""), /\n/, "no bare LF");
});

test("reads Dataverse's answer: change-set parts with Content-ID, status lines, headers and JSON", () => {
  const answer = [
    "--batchresponse_f27ef42d",
    "Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff",
    "",
    "--changesetresponse_64cc3fff",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "Content-ID: 1",
    "",
    "HTTP/1.1 204 No Content",
    "OData-Version: 4.0",
    "OData-EntityId: https://org/api/data/v9.2/tasks(e73ffc82-0000-0000-0000-000000000001)",
    "",
    "",
    "--changesetresponse_64cc3fff--",
    "--batchresponse_f27ef42d",
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    "",
    "HTTP/1.1 400 Bad Request",
    "REQ_ID: 5e1a",
    "Content-Type: application/json; odata.metadata=minimal",
    "",
    '{"error":{"code":"0x80060888","message":"Could not find a property named \'x\'."}}',
    "--batchresponse_f27ef42d--",
    "",
  ].join("\r\n");
  const parts = parseBatchResponse("multipart/mixed; boundary=batchresponse_f27ef42d", answer);
  assert.equal(parts.length, 2);
  assert.deepEqual(
    { status: parts[0].status, contentId: parts[0].contentId, id: parts[0].headers["odata-entityid"] },
    { status: 204, contentId: "1", id: "https://org/api/data/v9.2/tasks(e73ffc82-0000-0000-0000-000000000001)" },
  );
  assert.equal(parts[1].status, 400);
  assert.equal(parts[1].headers.req_id, "5e1a");
  assert.deepEqual(parts[1].body, { error: { code: "0x80060888", message: "Could not find a property named 'x'." } });
  assert.throws(() => parseBatchResponse("application/json", "{}"), /not multipart/);
});
