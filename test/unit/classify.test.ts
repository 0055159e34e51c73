import { test } from "node:test";
import assert from "node:assert/strict";
import { classify } from "../../src/client/classify";
import { requestIdOf } from "../../src/client/pipeline";

const kind = (status: number, repeatable: boolean, code?: string) => classify({ status, code }, repeatable).kind;

test("2xx and 3xx are success, 429 is throttling, 4xx is final", () => {
  assert.equal(kind(200, false), "success");
  assert.equal(kind(204, false), "success");
  assert.equal(kind(304, true), "success");
  assert.equal(kind(429, false), "throttled");
  for (const status of [400, 401, 403, 404, 405, 412, 413, 501]) assert.equal(kind(status, true), "final", String(status));
});

test("a 503 was not processed: retried even for writes that are not safe to repeat", () => {
  assert.deepEqual(classify({ status: 503 }, false), { kind: "transient", reached: false });
});

test("502, 504 and an uncoded 500 may come after Dataverse did the work", () => {
  for (const status of [500, 502, 504]) {
    assert.deepEqual(classify({ status }, true), { kind: "transient", reached: true }, `${status} repeatable`);
    assert.deepEqual(classify({ status }, false), { kind: "ambiguous" }, `${status} not repeatable`);
  }
});

test("a 500 with a Dataverse code is final, unless the code is a known transient one", () => {
  assert.equal(kind(500, true, "0x80040333"), "final", "duplicate detection");
  assert.equal(kind(500, true, "0x80040265"), "final");
  assert.equal(kind(500, true, "0x80044151"), "transient", "SQL timeout");
  assert.equal(kind(500, false, "0x80044151"), "ambiguous");
});

test("network failures: never sent is retried; a lost answer is retried only when safe", () => {
  assert.deepEqual(classify({ networkCode: "EAI_AGAIN", retryable: true }, false), { kind: "transient", reached: false });
  assert.deepEqual(classify({ networkCode: "ECONNRESET", retryable: true }, true), { kind: "transient", reached: true });
  assert.deepEqual(classify({ networkCode: "ECONNRESET", retryable: true }, false), { kind: "ambiguous" });
  assert.deepEqual(classify({ networkCode: "ECONNABORTED", retryable: true }, false), { kind: "ambiguous" });
  assert.deepEqual(classify({ networkCode: "ECONNREFUSED", retryable: false }, true), { kind: "final" });
  assert.deepEqual(classify({ networkCode: "CERT_HAS_EXPIRED", retryable: false }, true), { kind: "final" });
});

test("the request id is REQ_ID, else the last x-ms-service-request-id", () => {
  assert.equal(requestIdOf({ "x-ms-service-request-id": "a, b", req_id: "b" }), "b");
  assert.equal(requestIdOf({ "x-ms-service-request-id": "a, b" }), "b");
  assert.equal(requestIdOf({ "x-ms-service-request-id": "a" }), "a");
  assert.equal(requestIdOf({}), undefined);
});
