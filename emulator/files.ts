// File and image columns, as the Web API serves them (Microsoft's "Use file column data" and "Use image
// column data"): upload in one PATCH with x-ms-file-name, or in chunks (PATCH with x-ms-transfer-mode:
// chunked opens a session whose URL comes back in Location; each chunk is a PATCH with Content-Range;
// 206 until the last, whose 204 commits the file); download of $value whole or by Range (images: the
// thumbnail, or the full image with ?size=full); DELETE of the column. Metadata: FileAttributeMetadata
// and ImageAttributeMetadata with MaxSizeInKB.
import { randomBytes } from "node:crypto";
import { noContent, type DvContext } from "./context";
import { badRequest, CODES, DataverseError, methodNotAllowed, notImplemented } from "./errors";
import { parseSegment } from "./odata";
import { notFound, resolveTarget } from "./rows";
import type { EmuResponse } from "./server";
import type { FileColumnDef, TableDef } from "./tables";
import { stableGuid } from "./util";

/** The chunk size Dataverse recommends (x-ms-chunk-size). */
export const CHUNK_SIZE = 4 * 1024 * 1024;

interface StoredFile {
  name: string;
  mimeType: string;
  data: Buffer;
}

interface UploadSession {
  key: string;
  fileName: string;
  total?: number;
  /** Chunks by their first byte; they arrive in order, and one may be sent again (a retry). */
  chunks: Map<number, Buffer>;
  next: number;
  committed: boolean;
}

/** The environment's files and open upload sessions (in memory, like the rows). */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private readonly sessions = new Map<string, UploadSession>();

  get(key: string): StoredFile | undefined {
    return this.files.get(key);
  }

  put(key: string, file: StoredFile): void {
    this.files.set(key, file);
  }

  delete(key: string): boolean {
    return this.files.delete(key);
  }

  open(key: string, fileName: string): string {
    const token = randomBytes(48).toString("base64url");
    this.sessions.set(token, { key, fileName, chunks: new Map(), next: 0, committed: false });
    return token;
  }

  session(token: string): UploadSession | undefined {
    return this.sessions.get(token);
  }

  clear(): void {
    this.files.clear();
    this.sessions.clear();
  }
}

const fileKey = (table: TableDef, id: string, column: string) => `${table.logicalName}(${id})/${column}`;

export const fileColumnOf = (table: TableDef, name: string): FileColumnDef | undefined => table.files?.find((f) => f.name === name);

/** `accounts(<id>)/<file column>` and `…/<file column>/$value`. */
export function handleFile(ctx: DvContext, table: TableDef, args: string, segments: string[]): EmuResponse {
  const column = fileColumnOf(table, parseSegment(segments[1]).name)!;
  const target = resolveTarget(ctx.core.store, table, args);
  if (!target.row) throw notFound(target);
  const id = String(target.row[table.primaryIdAttribute]);
  const key = fileKey(table, id, column.name);
  const method = ctx.req.method;
  if (segments.length === 3 && segments[2] === "$value") {
    if (method !== "GET") throw methodNotAllowed(method, ["GET"]);
    return download(ctx, column, key, id);
  }
  if (segments.length !== 2) throw badRequest(`Resource not found for the segment '${segments[2]}'.`, CODES.unknownSegment);
  if (method === "DELETE") {
    if (!ctx.core.files.delete(key)) throw noFile(column, id);
    return noContent();
  }
  if (method !== "PATCH") {
    if (method === "GET") throw notImplemented(`Reading the file id of the column '${column.name}'`);
    throw methodNotAllowed(method, ["PATCH", "DELETE"]);
  }
  const token = ctx.query.get("sessiontoken");
  if (token !== undefined) return uploadChunk(ctx, table, column, key, id, token);
  if (ctx.req.headers["x-ms-transfer-mode"]?.toLowerCase() === "chunked") return openSession(ctx, table, column, key, args);
  return uploadWhole(ctx, table, column, key, id);
}

function fileNameOf(ctx: DvContext): string | undefined {
  // The header wins over the query parameter (which alone can carry names outside ASCII).
  const header = ctx.req.headers["x-ms-file-name"];
  const name = header !== undefined ? Buffer.from(header, "latin1").toString("utf8") : ctx.query.get("x-ms-file-name");
  return name?.trim() ? name.trim() : undefined;
}

function requireFileName(ctx: DvContext): string {
  const name = fileNameOf(ctx);
  if (!name) throw badRequest("The file name is missing: send it in the x-ms-file-name header.", CODES.invalidArgument);
  return name;
}

function uploadWhole(ctx: DvContext, table: TableDef, column: FileColumnDef, key: string, id: string): EmuResponse {
  const name = requireFileName(ctx);
  const data = Buffer.from(ctx.req.bytes ?? Buffer.alloc(0));
  checkFile(column, table, id, data.length, data);
  ctx.core.files.put(key, { name, mimeType: mimeTypeOf(name), data });
  return noContent();
}

function openSession(ctx: DvContext, table: TableDef, column: FileColumnDef, key: string, args: string): EmuResponse {
  const token = ctx.core.files.open(key, requireFileName(ctx));
  return {
    status: 200,
    headers: {
      "Accept-Ranges": "bytes",
      Location: `${ctx.base}/${table.entitySetName}(${args})/${column.name}?sessiontoken=${encodeURIComponent(token)}`,
      "x-ms-chunk-size": String(CHUNK_SIZE),
      "Access-Control-Expose-Headers": "x-ms-chunk-size",
    },
  };
}

function uploadChunk(ctx: DvContext, table: TableDef, column: FileColumnDef, key: string, id: string, token: string): EmuResponse {
  const session = ctx.core.files.session(token);
  if (!session || session.key !== key) throw badRequest("The upload session token is not valid or has expired. Start the upload again.", CODES.invalidArgument);
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(ctx.req.headers["content-range"]?.trim() ?? "");
  if (!range) throw badRequest("The Content-Range header is missing or not of the form 'bytes <start>-<end>/<size>'.", CODES.invalidArgument);
  const [start, end, total] = range.slice(1).map(Number);
  const data = Buffer.from(ctx.req.bytes ?? Buffer.alloc(0));
  if (end < start || end >= total || data.length !== end - start + 1) {
    throw badRequest(`The Content-Range 'bytes ${start}-${end}/${total}' does not match the ${data.length} bytes sent.`, CODES.invalidArgument);
  }
  if (session.total !== undefined && session.total !== total) {
    throw badRequest(`The file size in Content-Range (${total}) differs from the size of this upload (${session.total}).`, CODES.invalidArgument);
  }
  const resent = session.chunks.get(start);
  if (start !== session.next && !(resent && resent.length === data.length)) {
    throw badRequest(`Chunks must be sent in order: expected the chunk that starts at byte ${session.next}, got ${start}.`, CODES.invalidArgument);
  }
  if (session.total === undefined) checkFile(column, table, id, total);
  session.total = total;
  session.chunks.set(start, data);
  if (start === session.next) session.next = end + 1;
  if (session.next < total) return { status: 206, headers: {} };
  if (!session.committed) {
    const file = Buffer.concat([...session.chunks.entries()].sort(([a], [b]) => a - b).map(([, chunk]) => chunk));
    checkFile(column, table, id, file.length, file);
    ctx.core.files.put(key, { name: session.fileName, mimeType: mimeTypeOf(session.fileName), data: file });
    // Kept (without its bytes) so that the last chunk sent again after a lost answer is answered the same.
    session.committed = true;
    session.chunks = new Map([[start, data]]);
  }
  return noContent();
}

function download(ctx: DvContext, column: FileColumnDef, key: string, id: string): EmuResponse {
  const file = ctx.core.files.get(key);
  if (!file) throw noFile(column, id);
  const full = ctx.query.get("size") === "full";
  let data = file.data;
  if (column.kind === "image" && !full) data = THUMBNAIL;
  else if (column.kind === "image" && !column.canStoreFullImage) return noContent();
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "x-ms-file-size": String(data.length),
    "x-ms-file-name": Buffer.from(file.name, "utf8").toString("latin1"),
    mimetype: column.kind === "image" && !full ? "image/png" : file.mimeType,
  };
  const rangeHeader = ctx.req.headers["range"];
  if (rangeHeader === undefined) {
    return { status: 200, headers: { ...headers, "Access-Control-Expose-Headers": "x-ms-file-size; x-ms-file-name; mimetype" }, body: data };
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader.trim());
  if (!range) throw badRequest(`The Range header '${rangeHeader}' is not of the form 'bytes=<start>-<end>'.`, CODES.invalidArgument);
  const start = Number(range[1]);
  const end = Math.min(range[2] === "" ? data.length - 1 : Number(range[2]), data.length - 1);
  if (start >= data.length || end < start) {
    throw new DataverseError(416, CODES.invalidArgument, `The range ${rangeHeader} is outside the file of ${data.length} bytes.`);
  }
  return {
    status: 206,
    headers: {
      ...headers,
      "x-ms-chunk-size": String(CHUNK_SIZE),
      "Access-Control-Expose-Headers": "x-ms-file-size; x-ms-file-name; x-ms-chunk-size; mimetype",
    },
    body: data.subarray(start, end + 1),
  };
}

/** Too big (the column's MaxSizeInKB), or an image column given something that is not an image. */
function checkFile(column: FileColumnDef, table: TableDef, id: string, size: number, data?: Buffer): void {
  const max = column.maxSizeInKB * 1024;
  if (column.kind === "file" && size > max) throw new DataverseError(400, "0x80044a02", "Attachment file size is too big.");
  if (column.kind === "image" && size > max) {
    const mb = (n: number) => Math.floor(n / (1024 * 1024));
    throw new DataverseError(
      400,
      "0x80072553",
      `Error occured when processing image. Reason: File size is too big. MaxSize: ${mb(max)} MB, Uploaded filesize: ${mb(size)} MB.`,
    );
  }
  if (column.kind === "image" && data && !isImage(data)) {
    throw new DataverseError(
      400,
      "0x80072553",
      `Error occured when processing image. Reason: Update image properties failed for objectid: ${id}, logicalName: ${table.logicalName}, attribute: ${column.name}`,
    );
  }
}

const noFile = (column: FileColumnDef, id: string): DataverseError =>
  new DataverseError(404, CODES.notFoundById, `No file attachment found for attribute: ${column.name} EntityId: ${id}.`);

/** GIF, JPEG, TIFF, BMP and PNG: the types image columns take. */
function isImage(data: Buffer): boolean {
  const starts = (hex: string) => data.subarray(0, hex.length / 2).equals(Buffer.from(hex, "hex"));
  return ["474946", "ffd8ff", "49492a00", "4d4d002a", "424d", "89504e470d0a1a0a"].some(starts);
}

/** What an image column answers without ?size=full: a 1×1 PNG stands in for the 144×144 thumbnail. */
const THUMBNAIL = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");

const MIME_TYPES: Record<string, string> = {
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  xml: "application/xml",
  html: "text/html",
  zip: "application/zip",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

/** Dataverse sets a file's MIME type from its name. */
function mimeTypeOf(name: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1].toLowerCase();
  return (extension && MIME_TYPES[extension]) || "application/octet-stream";
}

/** EntityDefinitions(…)/Attributes: a file or image column (Virtual, FileType / ImageType). */
export function fileAttributeMetadata(table: TableDef, column: FileColumnDef, label: (text: string) => unknown): Record<string, unknown> {
  const image = column.kind === "image";
  return {
    "@odata.type": `#Microsoft.Dynamics.CRM.${image ? "ImageAttributeMetadata" : "FileAttributeMetadata"}`,
    MetadataId: stableGuid(`${table.metadataId}/${column.name}`),
    LogicalName: column.name,
    SchemaName: column.name,
    EntityLogicalName: table.logicalName,
    AttributeType: "Virtual",
    AttributeTypeName: { Value: image ? "ImageType" : "FileType" },
    DisplayName: label(column.displayName),
    IsPrimaryId: false,
    IsPrimaryName: false,
    IsValidForCreate: image,
    IsValidForUpdate: image,
    IsValidForRead: true,
    MaxSizeInKB: column.maxSizeInKB,
    ...(image ? { CanStoreFullImage: column.canStoreFullImage === true, IsPrimaryImage: column.name === "entityimage", MaxHeight: 144, MaxWidth: 144 } : {}),
  };
}

/** A collection or single-item cast: `…/Attributes/Microsoft.Dynamics.CRM.FileAttributeMetadata`. */
export function castTo(items: Array<Record<string, unknown>>, cast: string): Array<Record<string, unknown>> | undefined {
  if (!/^Microsoft\.Dynamics\.CRM\.\w+AttributeMetadata$/.test(cast)) return undefined;
  const type = `#${cast}`;
  return items.filter((a) => a["@odata.type"] === type);
}
