// Change tracking as Dataverse does it: `Prefer: odata.track-changes` on a read of a table whose
// "Track changes" is on answers the rows and, on the last page, an `@odata.deltaLink` with a
// `$deltatoken`; following it answers the rows changed since then and `$deletedEntity` entries for
// deleted ones. Tokens expire after the organization's ExpireChangeTrackingInDays.
import { json, type DvContext } from "./context";
import { CODES, DataverseError, badRequest } from "./errors";
import { annotationFilter, contextPath, parseProjection, RowFormatter, type Projection } from "./format";
import { innerCookie, innerOfOuter, outerCookie, parseInnerCookie, urlEncode } from "./paging";
import type { EmuResponse } from "./server";
import type { TableDef } from "./tables";
import type { Row } from "./values";

const MAX_PAGE_SIZE = 5000;
const DAY_MS = 86_400_000;
/** Query options Dataverse refuses together with change tracking. */
const REFUSED = ["$filter", "$orderby", "$expand", "$top", "$count", "$apply"];

/**
 * The versions delta tokens were handed out for, and when first: a token expires with the changes
 * recorded after its version, however often it is handed out again (a quiet table's delta link).
 */
export class ChangeTokens {
  private issued = new Map<number, number>();

  /** A token for the state at `version`, written like the real ones: `<version>!<MM/dd/yyyy HH:mm:ss>`. */
  issue(version: number, now = Date.now()): string {
    const at = this.issued.get(version) ?? now;
    this.issued.set(version, at);
    const d = new Date(at);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${version}!${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  }

  /** The version a token stands for; an expired or unknown one (from before a reset) needs a full sync. */
  check(token: string, expiryDays: number, now = Date.now()): number {
    const version = /^(\d+)!/.exec(token)?.[1];
    if (version === undefined) throw badRequest(`The delta token '${token}' is not valid.`);
    const issuedAt = this.issued.get(Number(version));
    if (issuedAt === undefined || now - issuedAt > expiryDays * DAY_MS) {
      throw new DataverseError(400, CODES.expiredVersionStamp, "Version stamp associated with the client has expired. Please perform a full sync.");
    }
    return Number(version);
  }

  /** Makes every token issued so far `days` older. */
  age(days: number): void {
    for (const [version, at] of this.issued) this.issued.set(version, at - days * DAY_MS);
  }

  clear(): void {
    this.issued.clear();
  }
}

/** Whether a collection read is a change-tracking one: the preference, or a delta link being followed. */
export function isChangeTracking(ctx: DvContext): boolean {
  return ctx.prefer.trackChanges === true || ctx.query.has("$deltatoken");
}

export function trackChanges(ctx: DvContext, table: TableDef): EmuResponse {
  if (!table.changeTracking) {
    throw new DataverseError(400, CODES.changeTrackingNotEnabled, `Entity ${table.logicalName} isn't enabled for change tracking.`);
  }
  const refused = REFUSED.find((name) => ctx.query.has(name));
  if (refused) throw badRequest(`The query option '${refused}' is not supported with change tracking (Prefer: odata.track-changes).`);
  const projection = parseProjection(table, ctx.query.get("$select"), undefined);
  const pageSize = Math.min(ctx.prefer.maxPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const token = ctx.query.get("$deltatoken");
  const skip = ctx.query.get("$skiptoken");
  const cookie = skip === undefined ? undefined : readCookie(skip);
  const page = token === undefined ? initialPage(ctx, table, projection, pageSize, cookie) : deltaPage(ctx, table, projection, pageSize, token, cookie);
  const applied = ["odata.track-changes", ...(ctx.prefer.maxPageSize === undefined ? [] : [`odata.maxpagesize=${pageSize}`])];
  return json(200, page, { "Preference-Applied": applied.join(",") });
}

type Cookie = Record<string, number>;

/** The first read: every row, page by page; the last page carries the delta link for the state when it began. */
function initialPage(ctx: DvContext, table: TableDef, projection: Projection, pageSize: number, cookie: Cookie | undefined): Record<string, unknown> {
  const snapshot = cookie?.snapshot ?? ctx.core.store.currentVersion;
  const offset = cookie?.offset ?? 0;
  const rows = ctx.core.store.all(table);
  const fmt = formatter(ctx);
  const body: Record<string, unknown> = {
    "@odata.context": `${ctx.base}/$metadata#${contextPath(table, projection)}`,
    value: rows.slice(offset, offset + pageSize).map((r) => fmt.format(table, r, projection)),
  };
  const page = (cookie?.page ?? 0) + 1;
  if (offset + pageSize < rows.length) body["@odata.nextLink"] = nextLink(ctx, page, { offset: offset + pageSize, snapshot });
  else body["@odata.deltaLink"] = deltaLink(ctx, table, projection, snapshot);
  return body;
}

/** A delta read: the changes after the token's version, oldest first, up to the version when the read began. */
function deltaPage(
  ctx: DvContext,
  table: TableDef,
  projection: Projection,
  pageSize: number,
  token: string,
  cookie: Cookie | undefined,
): Record<string, unknown> {
  const store = ctx.core.store;
  const since = ctx.core.changeTokens.check(token, ctx.core.config.changeTrackingExpiryDays);
  const upTo = cookie?.upto ?? store.currentVersion;
  const after = cookie?.after ?? since;
  const pk = table.primaryIdAttribute;
  const changed: Array<{ version: number; row?: Row; id: string }> = [
    ...store
      .all(table)
      .filter((r) => (r.versionnumber as number) > after && (r.versionnumber as number) <= upTo)
      .map((row) => ({ version: row.versionnumber as number, row, id: row[pk] as string })),
    ...store.deletedBetween(table, after, upTo),
  ].sort((a, b) => a.version - b.version);
  const items = changed.slice(0, pageSize);
  const fmt = formatter(ctx);
  const body: Record<string, unknown> = {
    "@odata.context": `${ctx.base}/$metadata#${contextPath(table, projection)}/$delta`,
    value: items.map(({ row, id }) =>
      row ? fmt.format(table, row, projection) : { "@odata.context": `${ctx.base}/$metadata#${table.entitySetName}/$deletedEntity`, id, reason: "deleted" },
    ),
  };
  const page = (cookie?.page ?? 0) + 1;
  if (changed.length > pageSize) body["@odata.nextLink"] = nextLink(ctx, page, { after: items[items.length - 1].version, upto: upTo });
  else body["@odata.deltaLink"] = deltaLink(ctx, table, projection, upTo);
  return body;
}

function formatter(ctx: DvContext): RowFormatter {
  return new RowFormatter(ctx.core.store, annotationFilter(ctx.prefer.includeAnnotations));
}

/** The same request with a `$skiptoken` cookie saying where the next page starts. */
function nextLink(ctx: DvContext, page: number, position: Cookie): string {
  const extra = Object.fromEntries(Object.entries(position).map(([k, v]) => [k, String(v)]));
  const keep = ctx.req.query.split("&").filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
  keep.push(`$skiptoken=${encodeURIComponent(outerCookie(page + 1, innerCookie(page, [], extra)))}`);
  return `${ctx.core.dataverseUrl}${ctx.req.path}?${keep.join("&")}`;
}

function deltaLink(ctx: DvContext, table: TableDef, projection: Projection, version: number): string {
  const select = projection.select ? `$select=${projection.select.join(",")}&` : "";
  return `${ctx.base}/${table.entitySetName}?${select}$deltatoken=${urlEncode(ctx.core.changeTokens.issue(version))}`;
}

function readCookie(skipToken: string): Cookie {
  const cookie = parseInnerCookie(innerOfOuter(skipToken));
  if (!cookie || Object.values(cookie.extra).some((v) => !/^\d+$/.test(v))) throw badRequest("The $skiptoken value is not a valid paging cookie.");
  return { page: cookie.page, ...Object.fromEntries(Object.entries(cookie.extra).map(([k, v]) => [k, Number(v)])) };
}
