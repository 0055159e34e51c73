// Request options: checked values, the headers and tag they become, and the bulk group key.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DataverseError } from "../../src/client";
import { checkRequestOptions, requestOptionHeaders, requestOptionsKey, withTag } from "../../src/client/operations/request-options";

const OID = "D5E6F7A8-B9C0-4D1E-9F2A-3B4C5D6E7F08";

function rejects(input: Record<string, unknown>, field: string, message: RegExp): void {
  assert.throws(
    () => checkRequestOptions(input),
    (err: unknown) => err instanceof DataverseError && err.field === field && err.code === "InvalidInput" && message.test(err.message),
  );
}

describe("checkRequestOptions", () => {
  it("empty, false and missing values are off", () => {
    assert.deepEqual(checkRequestOptions(undefined), {});
    assert.deepEqual(
      checkRequestOptions({ callerObjectId: "", bypassPlugins: false, bypassBusinessLogic: " ", suppressDuplicateDetection: "false", tag: null }),
      {},
    );
  });

  it("normalises what it keeps", () => {
    assert.deepEqual(
      checkRequestOptions({
        callerObjectId: ` ${OID} `,
        bypassPlugins: "true",
        bypassBusinessLogic: "customasync, CustomSync",
        suppressDuplicateDetection: true,
        tag: 42,
      }),
      { callerObjectId: OID.toLowerCase(), bypassPlugins: true, bypassBusinessLogic: "CustomSync,CustomAsync", suppressDuplicateDetection: true, tag: "42" },
    );
  });

  it("names the option a bad value was given for", () => {
    rejects({ callerObjectId: "avery@contoso.com" }, "callerObjectId", /Entra ID object id .*'avery@contoso\.com'/);
    rejects({ callerObjectId: 7 }, "callerObjectId", /not 7$/);
    rejects({ bypassPlugins: "yes" }, "bypassPlugins", /true or false, not 'yes'/);
    rejects({ suppressDuplicateDetection: 1 }, "suppressDuplicateDetection", /true or false/);
    rejects({ bypassBusinessLogic: "CustomSync,CustomSync" }, "bypassBusinessLogic", /CustomSync, CustomAsync or CustomSync,CustomAsync/);
    rejects({ bypassBusinessLogic: "All" }, "bypassBusinessLogic", /not 'All'/);
    rejects({ tag: { a: 1 } }, "tag", /text, not an object/);
    rejects({ tag: "x".repeat(2001) }, "tag", /at most 2000/);
  });
});

describe("what the options become", () => {
  it("headers for all but the tag, which goes on the URL", () => {
    const options = checkRequestOptions({
      callerObjectId: OID,
      bypassPlugins: true,
      bypassBusinessLogic: "CustomSync",
      suppressDuplicateDetection: true,
      tag: "a b&c",
    });
    assert.deepEqual(requestOptionHeaders(options), {
      CallerObjectId: OID.toLowerCase(),
      "MSCRM.BypassCustomPluginExecution": "true",
      "MSCRM.BypassBusinessLogicExecution": "CustomSync",
      "MSCRM.SuppressDuplicateDetection": "true",
    });
    assert.equal(withTag("accounts", options), "accounts?tag=a%20b%26c");
    assert.equal(withTag("accounts?$select=name", options), "accounts?$select=name&tag=a%20b%26c");
    assert.equal(withTag("accounts", {}), "accounts");
    assert.deepEqual(requestOptionHeaders(undefined), {});
  });

  it("the same options give the same key, different ones another", () => {
    const a = checkRequestOptions({ tag: "x" });
    assert.equal(requestOptionsKey(a), requestOptionsKey(checkRequestOptions({ tag: "x", bypassPlugins: false })));
    assert.notEqual(requestOptionsKey(a), requestOptionsKey(checkRequestOptions({ tag: "y" })));
    assert.notEqual(requestOptionsKey(a), requestOptionsKey(undefined));
  });
});
