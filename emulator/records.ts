// Table rows over the Web API: retrieve (single / multiple with paging), create, update / upsert
// with If-Match / If-None-Match, delete.
import { createdStamp, modifiedStamp } from "./callers";
import { applied, json, noContent, type DvContext } from "./context";
import { badRequest, duplicateRecord, methodNotAllowed, notImplemented, unknownProperty, unknownSegment, versionMismatch } from "./errors";
import { isChangeTracking, trackChanges } from "./changes";
import { retrieveByFetchXml } from "./fetchrun";
import { evaluateFilter, filterProperties, parseFilter, parseOrderBy, sortRows, type FilterExpr } from "./filter";
import { annotationFilter, contextPath, parseProjection, RowFormatter, type Projection } from "./format";
import { cookieGuid, innerCookie, innerOfOuter, outerCookie, parseInnerCookie } from "./paging";
import { conditionMatches, parseCondition, parseSegment, type Condition, type Token } from "./odata";
import { handleRef, isRefPath } from "./relationships";
import { keyPredicate, notFound, parseJsonObject, payloadValues, resolveTarget, type Target } from "./rows";
import { Store } from "./store";
import { columnByProperty, lookupByNavigation, type TableDef } from "./tables";
import { edmType, type Row } from "./values";
import { newGuid } from "./util";
import type { EmuResponse } from "./server";

const MAX_PAGE_SIZE = 5000;

/** Query options the emulator reads for collections; other `$` options are refused clearly. */
const COLLECTION_OPTIONS = new Set(["$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken"]);
/** Query options the real service supports but the emulator leaves out (501, so tests notice). */
const UNIMPLEMENTED_OPTIONS = new Set(["$apply", "$search", "savedQuery", "userQuery"]);

/** Routes `<set>`, `<set>/$count`, `<set>(<key>)` and deeper segments. */
export function handleTable(ctx: DvContext, table: TableDef, segments: string[], args: string | undefined): EmuResponse {
  const method = ctx.req.method;
  if (segments.length > 1) {
    if (args === undefined && segments.length === 2 && segments[1] === "$count") {
      if (method !== "GET") throw methodNotAllowed(method, ["GET"]);
      return countRows(ctx, table);
    }
    if (args !== undefined && isRefPath(segments)) return handleRef(ctx, resolveTarget(ctx.core.store, table, args), segments);
    const next = parseSegment(segments[1]).name;
    if (args !== undefined && (columnByProperty(table, next) || lookupByNavigation(table, next))) {
      throw notImplemented(`Addressing the property '${next}' of a record`);
    }
    throw unknownSegment(next);
  }
  if (args === undefined) {
    if (method === "GET") return retrieveMultiple(ctx, table);
    if (method === "POST") return create(ctx, table);
    throw methodNotAllowed(method, ["GET", "POST"]);
  }
  const target = resolveTarget(ctx.core.store, table, args);
  if (method === "GET") return retrieve(ctx, target);
  if (method === "PATCH") return update(ctx, target);
  if (method === "DELETE") return remove(ctx, target);
  throw methodNotAllowed(method, ["GET", "PATCH", "DELETE"]);
}

function formatter(ctx: DvContext): RowFormatter {
  return new RowFormatter(ctx.core.store, annotationFilter(ctx.prefer.includeAnnotations));
}

/**
 * `OData-EntityId`: the record's URL by id, or, when the request addressed it by an alternate key,
 * by that key (as the real service answers updates and upserts by key).
 */
function entityId(ctx: DvContext, table: TableDef, row: Row, target?: Target): string {
  return `${ctx.base}/${table.entitySetName}(${target?.keyValues ? keyPredicate(table, target.keyValues) : row[table.primaryIdAttribute]})`;
}

// ---------------------------------------------------------------------------------------------
// Retrieve

function retrieve(ctx: DvContext, target: Target): EmuResponse {
  const { table, row } = target;
  const projection = parseProjection(table, ctx.query.get("$select"), ctx.query.get("$expand"));
  if (!row) throw notFound(target);
  const etag = Store.etag(row);
  const ifNoneMatch = parseCondition(ctx.req.headers["if-none-match"]);
  // Cached representations are only reusable when nothing about the response depends on other rows.
  const cacheable = projection.expand.length === 0 && !ctx.prefer.includeAnnotations;
  if (cacheable && ifNoneMatch && conditionMatches(ifNoneMatch, row.versionnumber as number)) {
    return { status: 304, headers: { ETag: etag } };
  }
  const body = {
    "@odata.context": `${ctx.base}/$metadata#${contextPath(table, projection)}/$entity`,
    ...formatter(ctx).format(table, row, projection),
  };
  return json(200, body, { ETag: etag, ...applied(ctx) });
}

const OPERATOR_KINDS: Record<string, string> = {
  eq: "Equal",
  ne: "NotEqual",
  gt: "GreaterThan",
  ge: "GreaterThanOrEqual",
  lt: "LessThan",
  le: "LessThanOrEqual",
};

/** EDM type of a $filter literal; undefined for null, which compares with anything. */
function literalEdmType(t: Token): string | undefined {
  switch (t.kind) {
    case "string":
      return "Edm.String";
    case "guid":
      return "Edm.Guid";
    case "datetime":
      return "Edm.DateTimeOffset";
    case "number":
      return Number.isInteger(t.value) ? "Edm.Int32" : "Edm.Decimal";
    case "ident":
      return t.value === "null" ? undefined : "Edm.Boolean";
    default:
      return undefined;
  }
}

const isNumericEdm = (t: string) => t === "Edm.Int32" || t === "Edm.Int64" || t === "Edm.Decimal";

/** Checks the properties and literal types of a $filter against the table, with OData's messages. */
function checkFilter(table: TableDef, expr: FilterExpr): void {
  for (const { property, literal, op, fn } of filterProperties(expr)) {
    const column = columnByProperty(table, property);
    if (!column) throw unknownProperty(table, property);
    if (fn) {
      if (column.type !== "String" && column.type !== "Memo") {
        throw badRequest(
          `No function signature for the function with name '${fn}' matches the specified arguments. The function signatures considered are: ${fn}(Edm.String Nullable=true, Edm.String).`,
        );
      }
      continue;
    }
    if (!literal || !op) continue;
    const literalType = literalEdmType(literal);
    const columnType = edmType(column);
    if (literalType && literalType !== columnType && !(isNumericEdm(literalType) && isNumericEdm(columnType))) {
      throw badRequest(
        `A binary operator with incompatible types was detected. Found operand types '${columnType}' and '${literalType}' for operator kind '${OPERATOR_KINDS[op]}'.`,
      );
    }
  }
}

/** The `$skiptoken` cookie: opaque to clients, like the real one; its inner cookie also carries our offset. */
function skipToken(table: TableDef, page: number, offset: number, rows: Row[]): string {
  const pk = table.primaryIdAttribute;
  const id = (row: Row) => cookieGuid(row[pk] as string);
  return outerCookie(page + 1, innerCookie(page, [{ name: pk, last: id(rows[rows.length - 1]), first: id(rows[0]) }], { offset: String(offset) }));
}

function offsetFromSkipToken(token: string): { page: number; offset: number } {
  const cookie = parseInnerCookie(innerOfOuter(token));
  const offset = cookie?.extra.offset;
  if (!cookie || offset === undefined || !/^\d+$/.test(offset)) throw badRequest("The $skiptoken value is not a valid paging cookie.");
  return { page: cookie.page, offset: Number(offset) };
}

function retrieveMultiple(ctx: DvContext, table: TableDef): EmuResponse {
  const fetchXml = ctx.query.get("fetchXml");
  if (fetchXml !== undefined) {
    const other = [...ctx.query.keys()].find((name) => name.startsWith("$") && name !== "$count");
    if (other) throw badRequest(`The query option '${other}' can't be used together with fetchXml.`);
    return retrieveByFetchXml(ctx, table, fetchXml);
  }
  if (isChangeTracking(ctx)) return trackChanges(ctx, table);
  for (const name of ctx.query.keys()) {
    if (name === "$skip") throw badRequest("The query parameter $skip is not supported");
    if (UNIMPLEMENTED_OPTIONS.has(name)) throw notImplemented(`The query option '${name}'`);
    if (name.startsWith("$") && !COLLECTION_OPTIONS.has(name)) throw badRequest(`The query parameter '${name}' is not supported.`);
  }
  const q = ctx.query;
  const projection: Projection = parseProjection(table, q.get("$select"), q.get("$expand"));
  const filterText = q.get("$filter");
  const filter = filterText === undefined ? undefined : parseFilter(filterText);
  if (filter) checkFilter(table, filter);
  const orderText = q.get("$orderby");
  const order = orderText === undefined ? [] : parseOrderBy(orderText);
  for (const o of order) if (!columnByProperty(table, o.property)) throw unknownProperty(table, o.property);
  // Filtered and sorted once per query while no row changes, not again for every page.
  const rows = ctx.core.queries.get(`odata\n${table.logicalName}\n${filterText ?? ""}\n${orderText ?? ""}`, () => {
    const all = ctx.core.store.all(table);
    return sortRows(filter ? all.filter((r) => evaluateFilter(filter, (p) => r[p])) : all, order, (r, p) => r[p]);
  });
  const countText = q.get("$count");
  if (countText !== undefined && countText !== "true" && countText !== "false") {
    throw badRequest(`'${countText}' is not a valid count option.`);
  }
  const topText = q.get("$top");
  if (topText !== undefined && !/^\d+$/.test(topText)) throw badRequest(`Invalid value '${topText}' for $top query option found.`);

  // $top alone limits the result (no next link); with odata.maxpagesize it is ignored.
  const maxPageSize = ctx.prefer.maxPageSize === undefined ? undefined : Math.min(ctx.prefer.maxPageSize, MAX_PAGE_SIZE);
  const top = topText === undefined || maxPageSize !== undefined ? undefined : Math.min(Number(topText), MAX_PAGE_SIZE);
  const pageSize = maxPageSize ?? top ?? MAX_PAGE_SIZE;
  const skip = q.get("$skiptoken");
  const { page, offset } = skip === undefined ? { page: 1, offset: 0 } : offsetFromSkipToken(skip);
  const pageRows = rows.slice(offset, offset + pageSize);
  const more = top === undefined && offset + pageSize < rows.length;

  const fmt = formatter(ctx);
  const wants = annotationFilter(ctx.prefer.includeAnnotations) ?? (() => false);
  const body: Record<string, unknown> = { "@odata.context": `${ctx.base}/$metadata#${contextPath(table, projection)}` };
  // The count stops at 5,000; the annotations tell whether there are more (-1 without $count=true).
  const count = countText === "true" ? Math.min(rows.length, MAX_PAGE_SIZE) : -1;
  if (countText === "true") body["@odata.count"] = count;
  if (wants("Microsoft.Dynamics.CRM.totalrecordcount")) body["@Microsoft.Dynamics.CRM.totalrecordcount"] = count;
  if (wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded")) {
    body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = countText === "true" && rows.length > MAX_PAGE_SIZE;
  }
  body.value = pageRows.map((r) => fmt.format(table, r, projection));
  if (more) {
    const keep = ctx.req.query.split("&").filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
    keep.push(`$skiptoken=${encodeURIComponent(skipToken(table, page, offset + pageSize, pageRows))}`);
    body["@odata.nextLink"] = `${ctx.core.dataverseUrl}${ctx.req.path}?${keep.join("&")}`;
  }
  return json(200, body, applied(ctx, maxPageSize === undefined ? [] : [`odata.maxpagesize=${maxPageSize}`]));
}

function countRows(ctx: DvContext, table: TableDef): EmuResponse {
  const n = Math.min(ctx.core.store.count(table), MAX_PAGE_SIZE);
  return { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: String(n) };
}

// ---------------------------------------------------------------------------------------------
// Writes

/** 204 + OData-EntityId, or the row itself when `Prefer: return=representation` was sent. */
function writeResponse(ctx: DvContext, table: TableDef, row: Row, projection: Projection, representationStatus: 200 | 201, target?: Target): EmuResponse {
  if (!ctx.prefer.returnRepresentation) return noContent({ "OData-EntityId": entityId(ctx, table, row, target) });
  const body = {
    "@odata.context": `${ctx.base}/$metadata#${contextPath(table, projection)}/$entity`,
    ...formatter(ctx).format(table, row, projection),
  };
  return json(representationStatus, body, {
    ETag: Store.etag(row),
    ...applied(ctx, ["return=representation"]),
  });
}

function create(ctx: DvContext, table: TableDef): EmuResponse {
  // Validate the query first: a bad $select fails before anything is written.
  const projection = parseProjection(table, ctx.query.get("$select"), ctx.query.get("$expand"));
  const row = insertRow(ctx, table, parseJsonObject(ctx.req.body));
  return writeResponse(ctx, table, row, projection, 201);
}

/** The id-form URL of a row, which `$batch` Content-ID references stand for. */
const rowUrl = (ctx: DvContext, table: TableDef, row: Row) => `${ctx.base}/${table.entitySetName}(${row[table.primaryIdAttribute]})`;

/**
 * Creates a row from a request body (a single create, or a CreateMultiple target): column checks,
 * a client-chosen id honoured, 412 when that id exists (`duplicateMessage` for CreateMultiple's wording).
 */
export function insertRow(ctx: DvContext, table: TableDef, body: Record<string, unknown>, duplicateMessage?: string): Row {
  const { values } = payloadValues(ctx.core.store, table, body);
  const id = (values[table.primaryIdAttribute] as string | null) ?? newGuid();
  if (ctx.core.store.get(table, id)) throw duplicateRecord(duplicateMessage);
  const row = ctx.core.store.insert(table, id, { ...values, ...createdStamp(ctx.caller) });
  ctx.writes.created++;
  ctx.entityUrl = rowUrl(ctx, table, row);
  return row;
}

function update(ctx: DvContext, target: Target): EmuResponse {
  // $expand is ignored on updates, like the real service does.
  const projection = parseProjection(target.table, ctx.query.get("$select"), undefined);
  const conditions = { ifMatch: parseCondition(ctx.req.headers["if-match"]), ifNoneMatch: parseCondition(ctx.req.headers["if-none-match"]) };
  const { row, created } = writeRow(ctx, target, parseJsonObject(ctx.req.body), conditions);
  return writeResponse(ctx, target.table, row, projection, created ? 201 : 200, target);
}

/**
 * Updates the row `target` addresses, or creates it (upsert) under the id or key values of the
 * target. The If-Match / If-None-Match matrix of the real service decides first.
 */
export function writeRow(
  ctx: DvContext,
  target: Target,
  body: Record<string, unknown>,
  conditions: { ifMatch?: Condition; ifNoneMatch?: Condition } = {},
): { row: Row; created: boolean } {
  const { table, row: existing } = target;
  const store = ctx.core.store;
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch) {
    if (!existing) throw notFound(target);
    if (!conditionMatches(ifMatch, existing.versionnumber as number)) throw versionMismatch();
  }
  if (ifNoneMatch && existing && conditionMatches(ifNoneMatch, existing.versionnumber as number)) throw duplicateRecord();
  const { values } = payloadValues(store, table, body);

  if (existing) {
    const row = store.update(table, existing, { ...values, ...modifiedStamp(ctx.caller) });
    ctx.writes.updated++;
    ctx.entityUrl = rowUrl(ctx, table, row);
    return { row, created: false };
  }
  const bodyId = values[table.primaryIdAttribute] as string | null | undefined;
  if (target.id && bodyId && bodyId !== target.id) {
    throw badRequest(`The value of '${table.primaryIdAttribute}' in the request body does not match the key in the request URL.`);
  }
  const id = target.id ?? bodyId ?? newGuid();
  if (store.get(table, id)) throw duplicateRecord();
  // Key values in the body win over the URL's (and may then collide with another row: 412).
  const row = store.insert(table, id, { ...target.keyValues, ...values, ...createdStamp(ctx.caller) });
  ctx.writes.created++;
  ctx.entityUrl = rowUrl(ctx, table, row);
  return { row, created: true };
}

function remove(ctx: DvContext, target: Target): EmuResponse {
  const { table, row } = target;
  if (!row) throw notFound(target);
  const ifMatch = parseCondition(ctx.req.headers["if-match"]);
  if (ifMatch && !conditionMatches(ifMatch, row.versionnumber as number)) throw versionMismatch();
  ctx.core.store.delete(table, row[table.primaryIdAttribute] as string);
  ctx.writes.deleted++;
  return noContent();
}
