/** Query rows with OData ($select, $filter, $orderby, $expand), page by page through @odata.nextLink. */
import { inputError } from "../errors";
import { requestIdOf } from "../pipeline";
import type { Page } from "../request";
import { valuesOf } from "../response";
import { checkExpand, checkSelect } from "../validate";
import { resolveTable, type OperationContext, type ResolvedTable } from "./context";
import { checkWholeNumber, readPages, type Continuation, type PageSource, type PagingOptions } from "./pages";

export interface QueryOptions {
  pageSize: number;
  maxRows: number;
  count?: boolean;
  formattedValues?: boolean;
}

export interface ODataQuery {
  table?: unknown;
  select?: unknown;
  filter?: unknown;
  orderby?: unknown;
  expand?: unknown;
}

export const MAX_PAGE_SIZE = 5000;
const FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue";
const COUNT_LIMITED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded";
const ORDER_BY = /^\s*[A-Za-z_]\w*(\s+(asc|desc))?\s*(,\s*[A-Za-z_]\w*(\s+(asc|desc))?\s*)*$/i;

export function checkQueryOptions(input: { pageSize?: unknown; maxRows?: unknown; count?: unknown; formattedValues?: unknown }): QueryOptions {
  return {
    pageSize: checkWholeNumber("pageSize", input.pageSize, 1, MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    maxRows: checkWholeNumber("maxRows", input.maxRows, 0, Number.MAX_SAFE_INTEGER, 5000),
    count: input.count === true,
    formattedValues: input.formattedValues === true,
  };
}

/** The Prefer header a query sends: page size (OData), and the annotations asked for. */
export function preferHeader(pageSize: number | undefined, annotations: string[]): Record<string, string> {
  const prefer = pageSize === undefined ? [] : [`odata.maxpagesize=${pageSize}`];
  if (annotations.length) prefer.push(`odata.include-annotations="${annotations.join(",")}"`);
  return { Prefer: prefer.join(",") };
}

export async function odataQuery(
  ctx: OperationContext,
  query: ODataQuery,
  options: QueryOptions,
  call: Pick<PagingOptions, "signal">,
  resume?: { nextLink?: unknown; page?: unknown },
): Promise<AsyncGenerator<Page>> {
  const { pageSize, maxRows } = options;
  // Asking for no more than maxRows keeps a small query to one small page.
  const size = maxRows > 0 ? Math.min(pageSize, maxRows) : pageSize;
  const annotations = [...(options.formattedValues ? [FORMATTED_VALUE] : []), ...(options.count ? [COUNT_LIMITED] : [])];
  const headers = preferHeader(size, annotations);
  let start: Continuation;
  let table: ResolvedTable;
  if (resume?.nextLink !== undefined) {
    const nextLink = checkNextLink(ctx, resume.nextLink);
    start = { nextLink, page: checkWholeNumber("page", resume.page, 1, Number.MAX_SAFE_INTEGER, 0) || undefined };
    table = await resolveTable(ctx, nextLink.slice(ctx.apiBase.length).split(/[?(/]/)[0]);
  } else {
    const parts = queryParts(query, options.count === true);
    table = await resolveTable(ctx, query.table);
    start = { nextLink: `${table.set}${parts ? `?${parts}` : ""}`, page: 1 };
  }
  const set = table.set;
  const idColumn = table.info?.primaryIdAttribute;
  const source: PageSource = {
    request: (at) => ({ method: "GET", path: at.nextLink!, headers, table: set, idempotent: true, expect: "json" }),
    read(res, at) {
      const body = res.body as Record<string, unknown>;
      const nextLink = typeof body["@odata.nextLink"] === "string" ? body["@odata.nextLink"] : undefined;
      const count = typeof body["@odata.count"] === "number" ? body["@odata.count"] : undefined;
      return {
        rows: valuesOf(body),
        idColumn,
        page: at.page,
        status: res.status,
        requestId: requestIdOf(res.headers),
        nextLink,
        more: nextLink !== undefined,
        ...(count === undefined ? {} : { count, countLimited: countLimited(body, count) }),
      };
    },
    next: (page) => (page.nextLink ? { nextLink: page.nextLink, page: page.page === undefined ? undefined : page.page + 1 } : undefined),
  };
  // A message with msg.nextLink pulls just that page.
  return readPages(ctx, source, start, { maxRows, signal: call.signal, onePage: resume?.nextLink !== undefined });
}

/** Dataverse's own annotation says whether the count stopped at 5,000; without it, a count of 5,000 may have. */
function countLimited(body: Record<string, unknown>, count: number): boolean {
  const annotation = body[`@${COUNT_LIMITED}`];
  return typeof annotation === "boolean" ? annotation : count >= MAX_PAGE_SIZE;
}

function queryParts(query: ODataQuery, count: boolean): string {
  const parts: string[] = [];
  const select = checkSelect(query.select);
  if (select) parts.push(`$select=${select.join(",")}`);
  const filter = optionalText("filter", query.filter);
  if (filter) parts.push(`$filter=${encodeURIComponent(filter)}`);
  const orderby = optionalText("orderby", query.orderby);
  if (orderby) {
    if (!ORDER_BY.test(orderby)) throw inputError("orderby", `orderby '${orderby}' is not a column list: write it like name asc,createdon desc`);
    parts.push(`$orderby=${encodeURIComponent(orderby.trim())}`);
  }
  const expand = checkExpand(query.expand);
  if (expand) parts.push(`$expand=${encodeURIComponent(expand)}`);
  if (count) parts.push("$count=true");
  return parts.join("&");
}

function optionalText(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw inputError(field, `${field} must be text, not ${typeof value}`);
  return value.trim() || undefined;
}

/** A next link is followed unchanged, but only inside this environment's Web API: it carries the token. */
function checkNextLink(ctx: OperationContext, value: unknown): string {
  if (typeof value !== "string" || !value.startsWith(ctx.apiBase)) {
    throw inputError(
      "nextLink",
      `msg.nextLink must be an @odata.nextLink of this environment (starting with ${ctx.apiBase}), as a query put it in msg.dataverse.nextLink`,
    );
  }
  return value;
}
