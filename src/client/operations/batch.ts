/**
 * $batch: several operations in one request. Atomic: one change set, all or nothing, where a lookup
 * "$n" names the row made by the n-th operation (a create). Otherwise continue-on-error, each
 * operation with its own result, 1,000 operations per request.
 */
import { buildBatch, parseBatchResponse, type BatchOperation, type BatchPart } from "../batch";
import { DataverseError, fromDataverseResponse, inputError } from "../errors";
import { bindRowLookups } from "../lookups";
import { rowPath, queryString } from "../odata";
import { requestIdOf } from "../pipeline";
import type { ApiResponse } from "../request";
import { asRow, cleanRow, etagOf, idFromEntityId } from "../response";
import { checkEtag, checkRow, checkRowId, checkSelect, isPlainObject, type Row, type RowRef } from "../validate";
import { resolveTable, type CallOptions, type OperationContext, type ResolvedTable } from "./context";
import { requestOptionHeaders, withTag, type RequestOptions } from "./request-options";

export const MAX_BATCH_OPERATIONS = 1000;
const OPS = ["create", "update", "upsert", "delete", "retrieve"] as const;
type Op = (typeof OPS)[number];

interface CheckedOperation {
  op: Op;
  table: unknown;
  ref?: RowRef;
  row?: Row;
  etag?: string;
  select?: string[];
}

export interface BatchResult {
  status: number;
  rowId?: unknown;
  row?: Row;
  etag?: string;
  error?: Record<string, unknown>;
}

export interface BatchOutcome {
  status: number;
  requestId?: string;
  results: BatchResult[];
  failed: number;
  batches: number;
}

export async function runBatch(ctx: OperationContext, operations: unknown, options: CallOptions & { atomic?: boolean } = {}): Promise<BatchOutcome> {
  const atomic = options.atomic === true;
  const checked = checkOperations(operations, atomic);
  const tables = new Map<unknown, ResolvedTable>();
  for (const { table } of checked) if (!tables.has(table)) tables.set(table, await resolveTable(ctx, table));
  for (const [i, c] of checked.entries()) if (c.row) c.row = await bindRowLookups(ctx, tables.get(c.table)!.info, c.row, `payload[${i}].row`);
  const requests = checked.map((c) => withOptions(operationRequest(c, tables.get(c.table)!), ctx.requestOptions));
  const apiPath = new URL(ctx.apiBase).pathname;
  const chunks = atomic ? [requests] : chunk(requests, MAX_BATCH_OPERATIONS);
  const results: BatchResult[] = [];
  let last: ApiResponse | undefined;
  for (const [n, part] of chunks.entries()) {
    const offset = n * MAX_BATCH_OPERATIONS;
    const batch = buildBatch(apiPath, atomic ? [{ changeSet: part }] : part);
    last = await ctx.send(
      {
        method: "POST",
        path: "$batch",
        rawBody: { contentType: batch.contentType, text: batch.text },
        headers: atomic ? undefined : { Prefer: "odata.continue-on-error" },
        expect: "any",
        answersInParts: true,
        // A create sent twice makes two rows, an etag write fails the second time.
        idempotent: checked.slice(offset, offset + part.length).every((c) => c.op !== "create" && !(c.etag && c.op !== "retrieve")),
      },
      options.signal,
    );
    const parts = parseBatchResponse(last.headers["content-type"], typeof last.body === "string" ? last.body : "");
    if (atomic && last.status >= 400) throw atomicFailure(checked, tables, parts, last);
    part.forEach((_, i) => results.push(resultOf(checked[offset + i], tables.get(checked[offset + i].table)!, parts[i])));
  }
  return { status: last!.status, requestId: requestIdOf(last!.headers), results, failed: results.filter((r) => r.error).length, batches: chunks.length };
}

function checkOperations(value: unknown, atomic: boolean): CheckedOperation[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw inputError("payload", 'msg.payload must be a non-empty array of operations, like [{"op":"create","table":"accounts","row":{"name":"Contoso"}}]');
  }
  if (atomic && value.length > MAX_BATCH_OPERATIONS) {
    throw inputError("payload", `An atomic batch holds at most ${MAX_BATCH_OPERATIONS} operations, not ${value.length}: split it, or turn atomic off`);
  }
  return value.map((item: unknown, i) => {
    const at = (message: string) => inputError("payload", `payload[${i}] ${message}`);
    if (!isPlainObject(item)) throw at('is not an operation object like {"op":"create","table":"accounts","row":{…}}');
    const op = item.op as Op;
    if (!OPS.includes(op)) throw at(`has op ${JSON.stringify(item.op)}: use one of ${OPS.join(", ")}`);
    if (op === "retrieve" && atomic) throw at("is a retrieve: an atomic batch (one change set) cannot hold reads");
    if (item.table === undefined || item.table === "") throw at("has no table");
    try {
      const checked: CheckedOperation = { op, table: item.table };
      if (op !== "create") checked.ref = checkRowId(item.rowId);
      if (op === "create" || op === "update" || op === "upsert") checked.row = checkReferences(checkRow(item.row), value, i, atomic);
      checked.etag = checkEtag(item.etag);
      if (op === "retrieve") checked.select = checkSelect(item.select);
      return checked;
    } catch (err) {
      if (err instanceof DataverseError) throw at(`(${op} ${String(item.table)}): ${err.message}`);
      throw err;
    }
  });
}

/** Lookups "$n" must name an earlier create of the same atomic batch. */
function checkReferences(row: Row, operations: unknown[], index: number, atomic: boolean): Row {
  for (const [key, value] of Object.entries(row)) {
    const n = typeof value === "string" ? /^\$(\d+)$/.exec(value)?.[1] : undefined;
    if (!key.endsWith("@odata.bind") || n === undefined) continue;
    const target = operations[Number(n) - 1] as { op?: unknown } | undefined;
    if (!atomic) throw inputError("row", `${key} is "${value}": references to other operations work only in an atomic batch`);
    if (Number(n) < 1 || Number(n) > index || target?.op !== "create") {
      throw inputError("row", `${key} is "${value}", but operation ${n} is not a create before this one ($n counts operations from 1)`);
    }
  }
  return row;
}

function operationRequest(c: CheckedOperation, { set }: ResolvedTable): BatchOperation {
  switch (c.op) {
    case "create":
      return { method: "POST", path: set, body: c.row };
    case "update":
      return { method: "PATCH", path: rowPath(set, c.ref!), body: c.row, headers: { "If-Match": c.etag ?? "*" } };
    case "upsert":
      return { method: "PATCH", path: rowPath(set, c.ref!), body: c.row, headers: c.etag ? { "If-Match": c.etag } : undefined };
    case "delete":
      return { method: "DELETE", path: rowPath(set, c.ref!), headers: c.etag ? { "If-Match": c.etag } : undefined };
    case "retrieve":
      return { method: "GET", path: rowPath(set, c.ref!) + queryString({ select: c.select }) };
  }
}

/** The node's request options go on every operation of the batch (the $batch request itself carries their headers too). */
function withOptions(op: BatchOperation, options: RequestOptions | undefined): BatchOperation {
  if (!options) return op;
  const headers = { ...requestOptionHeaders(options), ...op.headers };
  return { ...op, path: withTag(op.path, options), ...(Object.keys(headers).length ? { headers } : {}) };
}

function resultOf(c: CheckedOperation, { set, info }: ResolvedTable, part: BatchPart | undefined): BatchResult {
  if (!part) return { status: 0, error: { status: 0, code: "NoAnswer", message: "The $batch answer had no part for this operation", retryable: true } };
  const given = c.ref ? ("id" in c.ref ? c.ref.id : c.ref.key) : undefined;
  if (part.status >= 400) {
    const error = fromDataverseResponse({
      status: part.status,
      body: part.body,
      table: set,
      method: methodOf(c.op),
      requestBody: c.row,
      requestId: requestIdOf(part.headers),
    });
    return { status: part.status, ...(given ? { rowId: given } : {}), error: error.toJSON() };
  }
  const row = c.op === "retrieve" ? cleanRow(asRow(part.body)) : undefined;
  const idFromRow = row && info?.primaryIdAttribute ? row[info.primaryIdAttribute] : undefined;
  const rowId = idFromEntityId(part.headers["odata-entityid"]) ?? (c.ref && "id" in c.ref ? c.ref.id : undefined) ?? idFromRow ?? given;
  const etag = row ? etagOf(part.body, part.headers.etag) : undefined;
  return { status: part.status, ...(rowId ? { rowId } : {}), ...(row ? { row } : {}), ...(etag ? { etag } : {}) };
}

/** An atomic batch that failed: its answer holds the failing operation's part, named by Content-ID. */
function atomicFailure(checked: CheckedOperation[], tables: Map<unknown, ResolvedTable>, parts: BatchPart[], res: ApiResponse): DataverseError {
  const part = parts.find((p) => p.status >= 400) ?? parts[0];
  const index = part?.contentId ? Number(part.contentId) - 1 : -1;
  const c = checked[index];
  const cause = fromDataverseResponse({
    status: part?.status ?? res.status,
    body: part?.body,
    table: c ? tables.get(c.table)?.set : undefined,
    method: c ? methodOf(c.op) : undefined,
    requestBody: c?.row,
    requestId: requestIdOf(part?.headers ?? res.headers),
  });
  const which = c ? `Operation ${index + 1} (payload[${index}], ${c.op} ${tables.get(c.table)?.set})` : "An operation";
  return cause.with({ failedIndex: index }, `${which} failed, so nothing in this atomic batch was applied: ${cause.message}`);
}

function methodOf(op: Op): string {
  return op === "create" ? "POST" : op === "delete" ? "DELETE" : op === "retrieve" ? "GET" : "PATCH";
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
