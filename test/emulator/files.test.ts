// File and image columns: single and chunked uploads, Range downloads, delete, metadata and the errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, useEmulator } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const ROW = `accounts(${SEED_IDS.contosoAccount})`;
const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(5000, 7)]);

interface BinaryResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): any;
}

/** A Web API call with a binary body and answer (the shared helper speaks text). */
async function call(method: string, resource: string, headers: Record<string, string> = {}, body?: Buffer): Promise<BinaryResult> {
  const token = await client.accessToken();
  const url = /^https:/.test(resource) ? resource : `${emu.dataverseUrl}/api/data/v9.2/${resource}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, agent: client.agent, headers: { Authorization: `Bearer ${token}`, Accept: "application/json", ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString("utf8")) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const upload = (column: string, name: string, data: Buffer) =>
  call("PATCH", `${ROW}/${column}`, { "Content-Type": "application/octet-stream", "x-ms-file-name": name }, data);

async function uploadInChunks(name: string, data: Buffer, chunk: number): Promise<number[]> {
  const session = await call("PATCH", `${ROW}/cr0a1_contract?x-ms-file-name=${encodeURIComponent(name)}`, { "x-ms-transfer-mode": "chunked" });
  assert.equal(session.status, 200, session.body.toString());
  const statuses: number[] = [];
  for (let start = 0; start < data.length; start += chunk) {
    const end = Math.min(start + chunk, data.length) - 1;
    const res = await call(
      "PATCH",
      String(session.headers.location),
      { "Content-Type": "application/octet-stream", "Content-Range": `bytes ${start}-${end}/${data.length}` },
      data.subarray(start, end + 1),
    );
    statuses.push(res.status);
  }
  return statuses;
}

describe("file columns", () => {
  it("one PATCH with x-ms-file-name stores the file; $value answers it with its name, size and MIME type", async () => {
    const data = Buffer.from("hello contract");
    assert.equal((await upload("cr0a1_contract", "contract.txt", data)).status, 204);
    const res = await call("GET", `${ROW}/cr0a1_contract/$value`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, data);
    assert.equal(res.headers["x-ms-file-name"], "contract.txt");
    assert.equal(res.headers["x-ms-file-size"], String(data.length));
    assert.equal(res.headers["mimetype"], "text/plain");
  });

  it("a chunked upload: 200 with Location (sessiontoken) and x-ms-chunk-size, 206 per chunk, 204 after the last", async () => {
    const session = await call("PATCH", `${ROW}/cr0a1_contract?x-ms-file-name=big.pdf`, { "x-ms-transfer-mode": "chunked" });
    assert.equal(session.headers["x-ms-chunk-size"], "4194304");
    assert.match(String(session.headers.location), new RegExp(`^${emu.dataverseUrl}/api/data/v9.2/accounts\\(.*\\)/cr0a1_contract\\?sessiontoken=`));
    const data = Buffer.alloc(2500, 1).fill(2, 1000);
    assert.deepEqual(await uploadInChunks("big.pdf", data, 1000), [206, 206, 204]);
    const whole = await call("GET", `${ROW}/cr0a1_contract/$value`);
    assert.deepEqual(whole.body, data);
    assert.equal(whole.headers["mimetype"], "application/pdf");
  });

  it("nothing is kept before the last chunk, and chunks out of order are refused", async () => {
    const session = await call("PATCH", `${ROW}/cr0a1_contract`, { "x-ms-transfer-mode": "chunked", "x-ms-file-name": "a.bin" });
    const location = String(session.headers.location);
    const first = await call("PATCH", location, { "Content-Type": "application/octet-stream", "Content-Range": "bytes 0-9/30" }, Buffer.alloc(10));
    assert.equal(first.status, 206);
    assert.equal((await call("GET", `${ROW}/cr0a1_contract/$value`)).status, 404);
    const skipped = await call("PATCH", location, { "Content-Type": "application/octet-stream", "Content-Range": "bytes 20-29/30" }, Buffer.alloc(10));
    assert.equal(skipped.status, 400);
    assert.match(skipped.json().error.message, /in order/);
    const again = await call("PATCH", location, { "Content-Type": "application/octet-stream", "Content-Range": "bytes 0-9/30" }, Buffer.alloc(10));
    assert.equal(again.status, 206, "the same chunk sent again (a retry) is taken");
    const badToken = await call(
      "PATCH",
      `${ROW}/cr0a1_contract?sessiontoken=nope`,
      { "Content-Type": "application/octet-stream", "Content-Range": "bytes 0-9/30" },
      Buffer.alloc(10),
    );
    assert.equal(badToken.status, 400);
  });

  it("Range downloads answer 206 with x-ms-file-size", async () => {
    const data = Buffer.from("0123456789abcdef");
    await upload("cr0a1_contract", "digits.txt", data);
    const part = await call("GET", `${ROW}/cr0a1_contract/$value`, { Range: "bytes=4-9" });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), "456789");
    assert.equal(part.headers["x-ms-file-size"], "16");
    assert.equal((await call("GET", `${ROW}/cr0a1_contract/$value`, { Range: "bytes=99-120" })).status, 416);
  });

  it("over MaxSizeInKB is 0x80044a02; a column without a file is 404; DELETE removes the file", async () => {
    const tooBig = await call("PATCH", `${ROW}/cr0a1_contract?x-ms-file-name=x.bin`, { "x-ms-transfer-mode": "chunked" });
    const res = await call(
      "PATCH",
      String(tooBig.headers.location),
      { "Content-Type": "application/octet-stream", "Content-Range": `bytes 0-9/${33 * 1024 * 1024}` },
      Buffer.alloc(10),
    );
    assert.equal(res.status, 400);
    assert.deepEqual(res.json().error, { code: "0x80044a02", message: "Attachment file size is too big." });
    const missing = await call("GET", `${ROW}/cr0a1_contract/$value`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, "0x80040217");
    await upload("cr0a1_contract", "a.txt", Buffer.from("a"));
    assert.equal((await call("DELETE", `${ROW}/cr0a1_contract`)).status, 204);
    assert.equal((await call("GET", `${ROW}/cr0a1_contract/$value`)).status, 404);
    assert.equal((await call("DELETE", `${ROW}/cr0a1_contract`)).status, 404);
  });

  it("a missing row is 404, and a missing file name 400", async () => {
    const missingRow = await upload("cr0a1_contract", "a.txt", Buffer.from("a")).then(() =>
      call(
        "PATCH",
        "accounts(00000000-0000-0000-0000-00000000dead)/cr0a1_contract",
        { "Content-Type": "application/octet-stream", "x-ms-file-name": "a.txt" },
        Buffer.from("a"),
      ),
    );
    assert.equal(missingRow.status, 404);
    const noName = await call("PATCH", `${ROW}/cr0a1_contract`, { "Content-Type": "application/octet-stream" }, Buffer.from("a"));
    assert.equal(noName.status, 400);
  });
});

describe("image columns", () => {
  it("$value answers the thumbnail; ?size=full the image as uploaded", async () => {
    assert.equal((await upload("entityimage", "logo.png", PNG)).status, 204);
    const thumbnail = await call("GET", `${ROW}/entityimage/$value`);
    assert.equal(thumbnail.status, 200);
    assert.notDeepEqual(thumbnail.body, PNG);
    const full = await call("GET", `${ROW}/entityimage/$value?size=full`);
    assert.deepEqual(full.body, PNG);
    assert.equal(full.headers["mimetype"], "image/png");
  });

  it("something that is not an image is 0x80072553", async () => {
    const res = await upload("entityimage", "notes.txt", Buffer.from("not an image"));
    assert.equal(res.status, 400);
    assert.equal(res.json().error.code, "0x80072553");
  });
});

describe("file column metadata", () => {
  it("casts to FileAttributeMetadata and ImageAttributeMetadata list the columns with MaxSizeInKB", async () => {
    const files = await call(
      "GET",
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.FileAttributeMetadata?$select=LogicalName,MaxSizeInKB",
    );
    assert.deepEqual(
      files.json().value.map((a: any) => [a.LogicalName, a.MaxSizeInKB]),
      [["cr0a1_contract", 32768]],
    );
    const images = await call(
      "GET",
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.ImageAttributeMetadata?$select=LogicalName,MaxSizeInKB",
    );
    assert.deepEqual(
      images.json().value.map((a: any) => a.LogicalName),
      ["entityimage"],
    );
    const none = await call(
      "GET",
      "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.FileAttributeMetadata?$select=LogicalName,MaxSizeInKB",
    );
    assert.deepEqual(none.json().value, []);
    const one = await call(
      "GET",
      "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='cr0a1_contract')/Microsoft.Dynamics.CRM.FileAttributeMetadata?$select=MaxSizeInKB",
    );
    assert.equal(one.json().MaxSizeInKB, 32768);
  });
});
