// sdkmessagefilters: which messages each table supports. Clients ask it before using a bulk
// message (Microsoft's documented query) and fall back to `$batch` when the answer is empty:
//   GET sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq 'CreateMultiple' and primaryobjecttypecode eq 'account'
import { json, type DvContext } from "./context";
import { badRequest, DataverseError, CODES, methodNotAllowed, notImplemented, unknownProperty, unknownSegment } from "./errors";
import { evaluateFilter, filterProperties, parseFilter } from "./filter";
import { parseKeyPredicate, parseSelect } from "./odata";
import type { EmuResponse } from "./server";
import { TABLES, type TableDef } from "./tables";
import type { Row } from "./values";
import { stableGuid } from "./util";

const TYPE_NAME = "Microsoft.Dynamics.CRM.sdkmessagefilter";

/** Messages every table has. UpsertMultiple never has a filter row: Microsoft says the query finds none, and it works where both Create- and UpdateMultiple do. */
const COMMON_MESSAGES = ["Create", "Retrieve", "RetrieveMultiple", "Update", "Delete"];

const COLUMNS = ["sdkmessagefilterid", "primaryobjecttypecode", "secondaryobjecttypecode", "isvisible", "iscustomprocessingstepallowed", "_sdkmessageid_value"];

/** `sdkmessageid/name` (the message's name through the lookup) as the filter reads it. */
const MESSAGE_NAME = "sdkmessageid.name";

/** Filter rows are metadata: fixed, so their etag never changes. */
const VERSION = 2_009_110;

function filterRows(): Row[] {
  return TABLES.flatMap((t: TableDef) =>
    [...COMMON_MESSAGES, ...t.bulkMessages].map((message) => ({
      sdkmessagefilterid: stableGuid(`sdkmessagefilter/${t.logicalName}/${message}`),
      primaryobjecttypecode: t.logicalName,
      secondaryobjecttypecode: "none",
      isvisible: true,
      iscustomprocessingstepallowed: true,
      _sdkmessageid_value: stableGuid(`sdkmessage/${message}`),
      [MESSAGE_NAME]: message,
    })),
  );
}

/** Replaces `@name` parameter aliases outside string literals by the query's `@name=<literal>` values. */
function resolveAliases(filter: string, query: Map<string, string>): string {
  let out = "";
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const alias = quoted ? null : filter.slice(i).match(/^@([A-Za-z_]\w*)/);
    if (alias) {
      const value = query.get(alias[0]);
      if (value === undefined) throw badRequest(`The parameter alias '${alias[0]}' has no value in the query.`);
      out += value;
      i += alias[0].length - 1;
      continue;
    }
    if (filter[i] === "'") quoted = !quoted;
    out += filter[i];
  }
  return out;
}

function select(ctx: DvContext): string[] | undefined {
  const text = ctx.query.get("$select");
  if (text === undefined) return undefined;
  const names = parseSelect(text);
  for (const n of names) if (!COLUMNS.includes(n)) throw unknownProperty(TYPE_NAME, n);
  return names;
}

function format(row: Row, names: string[] | undefined): Record<string, unknown> {
  const keep = names ? [...names.filter((n) => n !== "sdkmessagefilterid"), "sdkmessagefilterid"] : COLUMNS;
  return { "@odata.etag": `W/"${VERSION}"`, ...Object.fromEntries(keep.map((n) => [n, row[n]])) };
}

/** `sdkmessagefilters` with `$select`, `$filter` (also on `sdkmessageid/name`) and `@p` aliases; `sdkmessagefilters(<id>)`. */
export function handleSdkMessageFilters(ctx: DvContext, args: string | undefined, segments: string[]): EmuResponse {
  if (ctx.req.method !== "GET") throw methodNotAllowed(ctx.req.method, ["GET"]);
  if (segments.length > 1) throw unknownSegment(segments[1]);
  for (const name of ctx.query.keys()) {
    if (name.startsWith("$") && name !== "$select" && name !== "$filter") throw notImplemented(`The query option '${name}' on sdkmessagefilters`);
  }
  const names = select(ctx);
  const context = `${ctx.base}/$metadata#sdkmessagefilters${names ? `(${names.join(",")})` : ""}`;
  if (args !== undefined) {
    const key = parseKeyPredicate(args);
    const row = key.kind === "id" ? filterRows().find((r) => r.sdkmessagefilterid === key.id) : undefined;
    if (!row) throw new DataverseError(404, CODES.notFoundById, `sdkmessagefilter With Id = ${args} Does Not Exist`);
    return json(200, { "@odata.context": `${context}/$entity`, ...format(row, names) });
  }
  let rows = filterRows();
  const filterText = ctx.query.get("$filter");
  if (filterText !== undefined) {
    const expr = parseFilter(resolveAliases(filterText, ctx.query).replace(/\bsdkmessageid\/name\b/g, MESSAGE_NAME));
    for (const { property } of filterProperties(expr)) if (property !== MESSAGE_NAME && !COLUMNS.includes(property)) throw unknownProperty(TYPE_NAME, property);
    rows = rows.filter((r) => evaluateFilter(expr, (p) => r[p]));
  }
  return json(200, { "@odata.context": context, value: rows.map((r) => format(r, names)) });
}
