// dataverse-file in a real Node-RED against the emulator: uploads (whole and in chunks), downloads,
// image columns at full size, delete, and what happens when chunks fail.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { SEED_IDS } from "../../emulator";
import { helper, loadFlow, run, useTestEmulator, type FlowNode, type Msg } from "./harness";

const t = useTestEmulator();
const MB = 1024 * 1024;
const ROW = SEED_IDS.contosoAccount;
const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), randomBytes(300_000)]);

// Ids other than the action names: Node-RED takes a property equal to a node's id for a reference to it.
const IDS: Record<string, string> = { upload: "up", download: "down", delete: "del" };

const fileNode = (action: string, extra: FlowNode = {}): FlowNode => ({
  id: IDS[action],
  type: "dataverse-file",
  connection: "conn",
  action,
  table: "accounts",
  tableType: "str",
  column: "cr0a1_contract",
  columnType: "str",
  wires: [["out"]],
  ...extra,
});

const flow = (extra: FlowNode = {}) =>
  loadFlow(
    t.emu,
    ["upload", "download", "delete"].map((a) => fileNode(a, extra)),
  );

/** The file requests the emulator saw (PATCH/GET/DELETE on a file column), after metadata lookups. */
async function fileRequests(column = "cr0a1_contract"): Promise<Msg[]> {
  return (await t.api.requests()).filter((r) => r.path.includes(`)/${column}`));
}

describe("dataverse-file", () => {
  it("uploads a small file in one PATCH and downloads it byte for byte, with its name and MIME type", async () => {
    await flow();
    const file = randomBytes(200_000);
    const up = await run("up", { rowId: ROW, payload: file, filename: "contract.pdf" });
    assert.equal(up.kind, "out", up.msg.error?.message);
    assert.deepEqual(
      { status: up.msg.dataverse.status, size: up.msg.dataverse.size, chunks: up.msg.dataverse.chunks, rowId: up.msg.rowId },
      { status: 204, size: file.length, chunks: 1, rowId: ROW },
    );
    const patches = (await fileRequests()).filter((r) => r.method === "PATCH");
    assert.equal(patches.length, 1);
    assert.equal(patches[0].headers["x-ms-file-name"], "contract.pdf");
    assert.equal(patches[0].headers["content-type"], "application/octet-stream");
    const down = await run("down", { rowId: ROW });
    assert.equal(down.kind, "out", down.msg.error?.message);
    assert.ok(Buffer.isBuffer(down.msg.payload));
    assert.ok(file.equals(down.msg.payload));
    assert.equal(down.msg.filename, "contract.pdf");
    assert.equal(down.msg.mimetype, "application/pdf");
  });

  it("uploads a file over 4 MB in chunks (session, Content-Range) and downloads it in chunks", async () => {
    await flow();
    const file = randomBytes(9 * MB + 123);
    const up = await run("up", { rowId: ROW, payload: file, filename: "big.bin" }, 60_000);
    assert.equal(up.kind, "out", up.msg.error?.message);
    assert.equal(up.msg.dataverse.chunks, 3);
    const patches = (await fileRequests()).filter((r) => r.method === "PATCH");
    assert.equal(patches[0].headers["x-ms-transfer-mode"], "chunked");
    assert.match(patches[0].query, /x-ms-file-name=big\.bin/);
    assert.deepEqual(
      patches.slice(1).map((r) => [r.headers["content-range"], /sessiontoken=/.test(r.query), r.status]),
      [
        [`bytes 0-${4 * MB - 1}/${file.length}`, true, 206],
        [`bytes ${4 * MB}-${8 * MB - 1}/${file.length}`, true, 206],
        [`bytes ${8 * MB}-${file.length - 1}/${file.length}`, true, 204],
      ],
    );
    const down = await run("down", { rowId: ROW }, 60_000);
    assert.equal(down.kind, "out", down.msg.error?.message);
    assert.ok(file.equals(down.msg.payload), "byte for byte");
    assert.equal(down.msg.dataverse.chunks, 3);
    const gets = (await fileRequests()).filter((r) => r.method === "GET");
    assert.deepEqual(
      gets.map((r) => r.headers.range),
      [`bytes=0-${4 * MB - 1}`, `bytes=${4 * MB}-${8 * MB - 1}`, `bytes=${8 * MB}-${file.length - 1}`],
    );
  });

  it("downloads an image column at full size", async () => {
    await flow({ column: "entityimage" });
    const up = await run("up", { rowId: ROW, payload: PNG, filename: "logo.png" });
    assert.equal(up.kind, "out", up.msg.error?.message);
    const down = await run("down", { rowId: ROW });
    assert.equal(down.kind, "out", down.msg.error?.message);
    assert.ok(PNG.equals(down.msg.payload));
    assert.equal(down.msg.mimetype, "image/png");
    assert.ok((await fileRequests("entityimage")).some((r) => r.method === "GET" && r.query === "size=full"));
  });

  it("deletes the file; downloading it then is a 404 at Catch", async () => {
    await flow();
    await run("up", { rowId: ROW, payload: "a,b\n1,2\n", filename: "data.csv" });
    const del = await run("del", { rowId: ROW });
    assert.equal(del.kind, "out", del.msg.error?.message);
    assert.equal(del.msg.dataverse.status, 204);
    const down = await run("down", { rowId: ROW });
    assert.equal(down.kind, "caught");
    assert.equal(down.msg.dataverse.status, 404);
  });

  it("a file over the column's maximum size is an input error and nothing is sent", async () => {
    await flow();
    const { kind, msg } = await run("up", { rowId: ROW, payload: Buffer.alloc(33 * MB), filename: "huge.bin" });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidInput");
    assert.match(msg.error.message, /33 MB, more than the 32 MB the column cr0a1_contract of accounts takes/);
    assert.deepEqual(await fileRequests(), []);
  });

  it("bad input names the field: payload, filename, rowId, column", async () => {
    await flow();
    const cases: Array<[Msg, string, RegExp]> = [
      [{ rowId: ROW, payload: { a: 1 }, filename: "a.txt" }, "payload", /msg\.payload must be the file as a Buffer/],
      [{ rowId: ROW, payload: Buffer.from("x") }, "filename", /msg\.filename must name the file/],
      [{ rowId: "nope", payload: Buffer.from("x"), filename: "a.txt" }, "rowId", /rowId 'nope' is not a row id/],
    ];
    for (const [input, field, message] of cases) {
      const { kind, msg } = await run("up", input);
      assert.equal(kind, "caught", field);
      assert.equal(msg.dataverse.code, "InvalidInput", field);
      assert.match(msg.error.message, message);
    }
    await helper.unload();
    await loadFlow(t.emu, [fileNode("upload", { column: "name" })]);
    const notFile = await run("up", { rowId: ROW, payload: Buffer.from("x"), filename: "a.txt" });
    assert.equal(notFile.kind, "caught");
    assert.match(notFile.msg.error.message, /'name' is not a file or image column of accounts: use one of cr0a1_contract, entityimage/);
    assert.deepEqual(await fileRequests(), []);
  });

  it("a chunk that fails once is sent again, and the upload completes", async () => {
    await flow();
    // Past the session and the first chunk, the second chunk meets a 503 once.
    await t.api.addFault({ server: "dataverse", method: "PATCH", path: "/cr0a1_contract", skip: 2, times: 1, status: 503, retryAfter: 0 });
    const file = randomBytes(6 * MB);
    const up = await run("up", { rowId: ROW, payload: file, filename: "retry.bin" }, 60_000);
    assert.equal(up.kind, "out", up.msg.error?.message);
    const ranges = (await fileRequests()).filter((r) => r.method === "PATCH" && r.headers["content-range"]).map((r) => [r.headers["content-range"], r.status]);
    assert.deepEqual(ranges, [
      [`bytes 0-${4 * MB - 1}/${file.length}`, 206],
      [`bytes ${4 * MB}-${file.length - 1}/${file.length}`, 503],
      [`bytes ${4 * MB}-${file.length - 1}/${file.length}`, 204],
    ]);
    const down = await run("down", { rowId: ROW }, 60_000);
    assert.ok(file.equals(down.msg.payload));
  });

  it("the last chunk's answer lost: sent again, it is confirmed and the file is kept once", async () => {
    await flow();
    // Session, first chunk, then the last chunk is processed but its answer never arrives.
    await t.api.addFault({ server: "dataverse", method: "PATCH", path: "/cr0a1_contract", skip: 2, times: 1, action: "reset-after" });
    const file = randomBytes(5 * MB);
    const up = await run("up", { rowId: ROW, payload: file, filename: "lost.bin" }, 60_000);
    assert.equal(up.kind, "out", up.msg.error?.message);
    const last = (await fileRequests()).filter((r) => r.headers["content-range"] === `bytes ${4 * MB}-${file.length - 1}/${file.length}`);
    assert.deepEqual(
      last.map((r) => r.status),
      [0, 204],
    );
    const down = await run("down", { rowId: ROW }, 60_000);
    assert.ok(file.equals(down.msg.payload));
  });

  it("a chunk that keeps failing: the error at Catch says how far it got, and no file is kept", async () => {
    await flow();
    await t.api.addFault({ server: "dataverse", method: "PATCH", path: "/cr0a1_contract", skip: 2, status: 503, retryAfter: 0 });
    const file = randomBytes(6 * MB);
    const up = await run("up", { rowId: ROW, payload: file, filename: "broken.bin" }, 60_000);
    assert.equal(up.kind, "caught");
    assert.equal(up.msg.dataverse.status, 503);
    assert.equal(up.msg.dataverse.uploadedBytes, 4 * MB);
    assert.match(up.msg.error.message, /stopped after 4194304 of 6291456 bytes; Dataverse keeps none of it/);
    await t.api.clearFaults();
    const down = await run("down", { rowId: ROW });
    assert.equal(down.kind, "caught");
    assert.equal(down.msg.dataverse.status, 404, "no half-written file");
  });
});
