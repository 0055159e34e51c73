/**
 * File and image columns: upload, download and delete a row's file.
 * - Upload: up to 4 MB in one PATCH; larger files in chunks (`x-ms-transfer-mode: chunked`, then one
 *   PATCH per chunk with `Content-Range` to the session URL Dataverse answers in `Location`). Dataverse
 *   keeps a chunked file only once its last chunk has arrived, so a failed upload leaves the column as it was.
 * - Download: `$value` in chunks with `Range` (image columns at full size, `?size=full`).
 * Every request goes through the pipeline on its own: a chunk that fails is retried like any request
 * that is safe to repeat (the same bytes to the same range).
 */
import { DataverseError, ErrorCodes, inputError } from "../errors";
import type { FileColumnInfo } from "../metadata";
import { rowPath } from "../odata";
import type { ApiRequest, ApiResponse } from "../request";
import { meta, type DataverseResult } from "../response";
import { checkRowId } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";

/** Files up to this size go in one request; larger ones in chunks. */
const SINGLE_REQUEST_MAX_BYTES = 4 * 1024 * 1024;
/** Chunk size when Dataverse does not name one (it answers x-ms-chunk-size: 4194304). */
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const OCTET_STREAM = "application/octet-stream";
/** Dataverse: "Downloading in multiple chunks is not supported for the files stored in the database." */
const CHUNKS_NOT_SUPPORTED = "0x80090017";
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface FileResult extends DataverseResult<never> {
  /** What a download brought. */
  file?: { content: Buffer; fileName: string; mimeType: string };
}

/** Where a file lives: its row and column, as a Web API path. */
interface FileTarget {
  set: string;
  /** The row as the caller gave it (id or alternate key). */
  rowId: string | Record<string, unknown>;
  column: string;
  /** From metadata; undefined when metadata cannot be read. */
  info?: FileColumnInfo;
  path: string;
}

export async function uploadFile(
  ctx: OperationContext,
  table: unknown,
  rowId: unknown,
  column: unknown,
  content: unknown,
  fileName: unknown,
  options: CallOptions = {},
): Promise<FileResult> {
  const bytes = checkContent(content);
  const name = checkFileName(fileName);
  const target = await fileTarget(ctx, table, rowId, column);
  checkSize(bytes.length, target);
  const { res, chunks } =
    bytes.length <= SINGLE_REQUEST_MAX_BYTES && isHeaderSafe(name)
      ? { res: await ctx.send(wholeFileRequest(target, name, bytes), options.signal), chunks: 1 }
      : await uploadInChunks(ctx, target, name, bytes, options.signal);
  return { ...meta(res), rowId: target.rowId, details: { action: "upload", column: target.column, filename: name, size: bytes.length, chunks } };
}

export async function downloadFile(ctx: OperationContext, table: unknown, rowId: unknown, column: unknown, options: CallOptions = {}): Promise<FileResult> {
  const target = await fileTarget(ctx, table, rowId, column);
  // Without ?size=full an image column answers its 144×144 thumbnail.
  const path = `${target.path}/$value${target.info?.kind === "image" ? "?size=full" : ""}`;
  const get = (range?: [number, number]): Promise<ApiResponse> =>
    ctx.send(
      {
        method: "GET",
        path,
        headers: range ? { Range: `bytes=${range[0]}-${range[1]}` } : undefined,
        expect: "binary",
        table: target.set,
        idempotent: true,
      },
      options.signal,
    );
  let first: ApiResponse;
  try {
    first = await get([0, DEFAULT_CHUNK_BYTES - 1]);
  } catch (err) {
    // Files kept in the database (on-premises, customer-managed keys) come only whole.
    if (!(err instanceof DataverseError && err.code.toLowerCase() === CHUNKS_NOT_SUPPORTED)) throw err;
    first = await get();
  }
  if (first.status === 204) throw noFile(target);
  const parts = [first.body as Buffer];
  const size = first.status === 206 ? Number(first.headers["x-ms-file-size"]) : parts[0].length;
  const chunk = chunkSize(first.headers["x-ms-chunk-size"]);
  let received = parts[0].length;
  while (received < size) {
    const next = (await get([received, Math.min(received + chunk, size) - 1])).body as Buffer;
    if (next.length === 0) break;
    parts.push(next);
    received += next.length;
  }
  const content = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  if (!Number.isFinite(size) || content.length !== size) {
    throw new DataverseError({
      message: `Dataverse announced a file of ${first.headers["x-ms-file-size"]} bytes in ${target.column} but sent ${content.length}: try again`,
      status: first.status,
      code: ErrorCodes.invalidResponse,
      retryable: true,
    });
  }
  const fileName = headerText(first.headers["x-ms-file-name"] ?? "");
  const mimeType = first.headers["mimetype"] ?? first.headers["content-type"] ?? OCTET_STREAM;
  return {
    ...meta(first),
    rowId: target.rowId,
    file: { content, fileName, mimeType },
    details: { action: "download", column: target.column, filename: fileName, size: content.length, chunks: parts.length },
  };
}

export async function deleteFile(ctx: OperationContext, table: unknown, rowId: unknown, column: unknown, options: CallOptions = {}): Promise<FileResult> {
  const target = await fileTarget(ctx, table, rowId, column);
  const res = await ctx.send(
    {
      method: "DELETE",
      path: target.path,
      table: target.set,
      expect: "any",
      idempotent: true,
      // A retry that finds no file after a lost answer: the first try deleted it.
      afterLostAnswer: async (answer) => (answer.status === 404 ? { status: 204, headers: answer.headers, body: undefined } : undefined),
    },
    options.signal,
  );
  return { ...meta(res), rowId: target.rowId, details: { action: "delete", column: target.column } };
}

async function fileTarget(ctx: OperationContext, table: unknown, rowId: unknown, column: unknown): Promise<FileTarget> {
  const ref = checkRowId(rowId);
  const name = checkColumn(column);
  const { set, info } = await resolveTable(ctx, table);
  const columns = info ? await ctx.metadata.fileColumns(info) : undefined;
  const found = columns?.get(name);
  if (columns && !found) {
    const names = [...columns.keys()].sort();
    throw inputError(
      "column",
      `'${name}' is not a file or image column of ${set}: ${names.length ? `use one of ${names.join(", ")}` : "this table has none"} (logical names)`,
    );
  }
  return { set, rowId: "id" in ref ? ref.id : ref.key, column: name, info: found, path: `${rowPath(set, ref)}/${name}` };
}

function wholeFileRequest(target: FileTarget, name: string, bytes: Buffer): ApiRequest {
  return {
    method: "PATCH",
    path: target.path,
    headers: { "x-ms-file-name": name },
    rawBody: { contentType: OCTET_STREAM, text: bytes },
    expect: "any",
    table: target.set,
    // The same bytes again leave the same file.
    idempotent: true,
  };
}

/** Opens an upload session, then sends the chunks in order; only the last one's 204 means the file is kept. */
async function uploadInChunks(
  ctx: OperationContext,
  target: FileTarget,
  name: string,
  bytes: Buffer,
  signal: AbortSignal | undefined,
): Promise<{ res: ApiResponse; chunks: number }> {
  // The name goes in the query: a header cannot carry names outside ASCII.
  const session = await ctx.send(
    {
      method: "PATCH",
      path: `${target.path}?x-ms-file-name=${encodeURIComponent(name)}`,
      headers: { "x-ms-transfer-mode": "chunked" },
      expect: "any",
      table: target.set,
      idempotent: true,
    },
    signal,
  );
  const location = sessionUrl(ctx, session);
  const chunk = chunkSize(session.headers["x-ms-chunk-size"]);
  const total = bytes.length;
  let res = session;
  let chunks = 0;
  for (let start = 0; start < total; start += chunk) {
    const end = Math.min(start + chunk, total) - 1;
    try {
      res = await ctx.send(
        {
          method: "PATCH",
          path: location,
          headers: { "Content-Range": `bytes ${start}-${end}/${total}`, ...(isHeaderSafe(name) ? { "x-ms-file-name": name } : {}) },
          rawBody: { contentType: OCTET_STREAM, text: bytes.subarray(start, end + 1) },
          expect: "any",
          table: target.set,
          idempotent: true,
        },
        signal,
      );
    } catch (err) {
      throw uploadStopped(err, target, name, start, total);
    }
    chunks++;
  }
  if (res.status !== 204 && res.status !== 200) {
    throw uploadStopped(
      new DataverseError({
        message: `Dataverse answered HTTP ${res.status} to the last chunk instead of confirming the file`,
        status: res.status,
        code: ErrorCodes.invalidResponse,
      }),
      target,
      name,
      total,
      total,
    );
  }
  return { res, chunks };
}

/** The session URL from Location; the token goes nowhere but this environment's Web API. */
function sessionUrl(ctx: OperationContext, session: ApiResponse): string {
  const location = session.headers["location"];
  if (!location || !location.startsWith(ctx.apiBase) || !/[?&]sessiontoken=/i.test(location)) {
    throw new DataverseError({
      message: `Dataverse did not open an upload session: its answer (HTTP ${session.status}) has no session URL of this environment in Location`,
      status: session.status,
      code: ErrorCodes.invalidResponse,
    });
  }
  return location;
}

function uploadStopped(err: unknown, target: FileTarget, name: string, at: number, total: number): DataverseError {
  const error = err instanceof DataverseError ? err : new DataverseError({ message: String(err), code: ErrorCodes.unexpected });
  return error.with(
    { action: "upload", column: target.column, filename: name, size: total, uploadedBytes: at },
    `${error.message}. The upload of '${name}' to ${target.column} stopped after ${at} of ${total} bytes; Dataverse keeps none of it, so the column still holds its previous file, if any. Send the message again to upload the file anew`,
  );
}

function noFile(target: FileTarget): DataverseError {
  const what =
    target.info?.kind === "image"
      ? `The image column ${target.column} of this row has no full-size image: it was uploaded while the column could not store full images (turn on "Can store full images" for the column, then upload the image again)`
      : `The column ${target.column} of this row holds no file`;
  return new DataverseError({ message: what, status: 204, code: "NoFile", field: "column" });
}

/** A header's text: a name outside ASCII arrives as its UTF-8 bytes. */
function headerText(value: string): string {
  const utf8 = Buffer.from(value, "latin1").toString("utf8");
  return utf8.includes("\uFFFD") ? value : utf8;
}

function chunkSize(header: string | undefined): number {
  const size = Number(header);
  return Number.isInteger(size) && size > 0 ? size : DEFAULT_CHUNK_BYTES;
}

/** Printable ASCII: what an HTTP header can carry as it is. */
function isHeaderSafe(name: string): boolean {
  return /^[\x20-\x7e]+$/.test(name);
}

function checkContent(content: unknown): Buffer {
  // Text (a CSV made by a template node) is uploaded as its UTF-8 bytes.
  const bytes = Buffer.isBuffer(content)
    ? content
    : typeof content === "string"
      ? Buffer.from(content, "utf8")
      : content instanceof Uint8Array
        ? Buffer.from(content)
        : undefined;
  if (!bytes) {
    throw inputError(
      "payload",
      `msg.payload must be the file as a Buffer (or text), not ${content === null ? "null" : Array.isArray(content) ? "an array" : typeof content}`,
    );
  }
  if (bytes.length === 0) throw inputError("payload", "msg.payload is empty: there is no file to upload");
  return bytes;
}

function checkFileName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw inputError(
      "filename",
      "msg.filename must name the file, for example contract.pdf: Dataverse stores the name with the file and derives its MIME type from it",
    );
  }
  const name = value.trim();
  if ([...name].some((c) => c < " " || c === "\x7f" || c === "/" || c === "\\")) {
    throw inputError("filename", `msg.filename '${name.slice(0, 60)}' must be a file name without folders or control characters, for example contract.pdf`);
  }
  return name;
}

function checkColumn(value: unknown): string {
  if (typeof value !== "string" || !COLUMN_NAME.test(value.trim())) {
    throw inputError(
      "column",
      `column must be the logical name of a file or image column, for example cr0a1_contract or entityimage, not ${typeof value === "string" ? `'${value.slice(0, 60)}'` : String(value)}`,
    );
  }
  return value.trim();
}

function checkSize(size: number, target: FileTarget): void {
  const max = target.info?.maxSizeInKB;
  if (max === undefined || size <= max * 1024) return;
  throw inputError(
    "payload",
    `The file is ${formatBytes(size)}, more than the ${formatBytes(max * 1024)} the column ${target.column} of ${target.set} takes (its Maximum file size): nothing was sent`,
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, "")} KB`;
  return `${bytes} bytes`;
}
