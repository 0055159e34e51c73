// Running a FetchXML query: join, filter and sort (cached per query while no row changes), then
// one page (resumed from a paging cookie, or simple paging up to 50,000 rows) or aggregates, and
// the rows as the Web API writes them: null columns left out, link columns as `alias_x002e_column`.
import { applied, json, type DvContext } from "./context";
import { badRequest } from "./errors";
import { parseFetchXml, type FetchCondition, type FetchFilter, type FetchQuery, type FetchSource } from "./fetchxml";
import { collator } from "./filter";
import { annotationFilter, RowFormatter } from "./format";
import { cookieGuid, innerCookie, outerCookie, parseInnerCookie, type CookieColumn } from "./paging";
import type { EmuResponse } from "./server";
import { fold, Store } from "./store";
import { propertyName, type ColumnDef, type TableDef } from "./tables";
import { formattedValue, type Row, type Value } from "./values";

const MAX_PAGE_SIZE = 5000;
/** Simple paging (page and count without a cookie) stops here. */
const SIMPLE_PAGING_LIMIT = 50_000;
const AGGREGATE_LIMIT = 50_000;
const DAY_MS = 86_400_000;

/** One result row before formatting: the entity's row, then one row (or null) per link-entity. */
interface Item {
  rows: Array<Row | null>;
  /** Sort key: the order columns' values, then the entity's id (and ids of to-many links). */
  key: Value[];
}

interface SortPart {
  source: number;
  column: ColumnDef;
  descending: boolean;
  /** What the column sorts by: its value, or for lookups and choices the display name. */
  sortValue: (v: Value) => Value;
  compare: (a: Value, b: Value) => number;
}

export function retrieveByFetchXml(ctx: DvContext, table: TableDef, fetchXml: string): EmuResponse {
  const q = parseFetchXml(fetchXml);
  if (q.sources[0].table !== table) {
    throw badRequest("The entity name specified in FetchXml does not match the entity name in the EntitySetName.", "0x80040203");
  }
  const countOption = ctx.query.get("$count");
  if (countOption !== undefined && countOption !== "true" && countOption !== "false") throw badRequest(`'${countOption}' is not a valid count option.`);
  const wantsCount = q.returnTotalRecordCount || countOption === "true";
  const parts = sortParts(q, ctx.core.store);
  const items = ctx.core.queries.get(`fetch\n${cacheKey(q)}`, () => sortItems(joinedItems(ctx.core.store, q), parts));

  const wantsAnnotation = annotationFilter(ctx.prefer.includeAnnotations);
  const wants = wantsAnnotation ?? (() => false);
  const formatter = new RowFormatter(ctx.core.store, wantsAnnotation);
  let total: number;
  let page: Page<Record<string, unknown>>;
  if (q.aggregate) {
    const groups = aggregate(q, items, formatter);
    total = groups.length;
    page = pageOf(q, groups, parts);
  } else {
    total = items.length;
    const p = pageOf(q, items, parts);
    page = { ...p, rows: p.rows.map((item) => formatItem(q, item, formatter)) };
  }

  const body: Record<string, unknown> = { "@odata.context": `${ctx.base}/$metadata#${contextPath(q)}` };
  const count = wantsCount ? Math.min(total, MAX_PAGE_SIZE) : -1;
  if (wantsCount) body["@odata.count"] = count;
  if (wants("Microsoft.Dynamics.CRM.totalrecordcount")) body["@Microsoft.Dynamics.CRM.totalrecordcount"] = count;
  if (wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"))
    body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = wantsCount && total > MAX_PAGE_SIZE;
  if (page.cookie !== undefined && wants("Microsoft.Dynamics.CRM.fetchxmlpagingcookie")) body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = page.cookie;
  if (page.more && wants("Microsoft.Dynamics.CRM.morerecords")) body["@Microsoft.Dynamics.CRM.morerecords"] = true;
  body.value = page.rows;
  return json(200, body, applied(ctx));
}

/** What makes two queries give the same rows (paging left out), as a string. */
function cacheKey(q: FetchQuery): string {
  const { sources, links, filter, orders, rawOrder } = q;
  return JSON.stringify({ sources, links, filter, orders, rawOrder }, (_k, v) => (v && typeof v === "object" && "columns" in v ? v.logicalName : v));
}

function contextPath(q: FetchQuery): string {
  const main = q.sources[0];
  if (q.aggregate || main.allAttributes) return main.table.entitySetName;
  const props = q.attributes.filter((a) => a.source === 0).map((a) => propertyName(a.column));
  return `${main.table.entitySetName}(${[...new Set([...props, main.table.primaryIdAttribute])].join(",")})`;
}

// ---------------------------------------------------------------------------------------------
// Rows: joins and conditions

const valueOf = (item: Item, source: number, column: ColumnDef): Value => item.rows[source]?.[propertyName(column)] ?? null;

/** Join key: text columns compare case-insensitively, like SQL. */
const joinKey = (column: ColumnDef, v: Value): string => (column.type === "String" || column.type === "Memo" ? fold(String(v)) : String(v));

function joinedItems(store: Store, q: FetchQuery): Item[] {
  const matchers = q.links.map((link) => {
    const byKey = new Map<string, Row[]>();
    const fromProp = propertyName(link.from);
    for (const row of store.all(q.sources[link.source].table)) {
      const v = row[fromProp];
      // The link's own filter only reads the link's row.
      const alone: Item = { rows: [], key: [] };
      alone.rows[link.source] = row;
      if (v === null || (link.filter && !matchesFilter(link.filter, alone))) continue;
      const k = joinKey(link.from, v);
      const list = byKey.get(k);
      if (list) list.push(row);
      else byKey.set(k, [row]);
    }
    const toProp = propertyName(link.to);
    return (main: Row): Array<Row | null> => {
      const v = main[toProp];
      const found = v === null ? undefined : byKey.get(joinKey(link.to, v));
      return found ?? (link.outer ? [null] : []);
    };
  });
  const items: Item[] = [];
  for (const main of store.all(q.sources[0].table)) {
    let combos: Array<Array<Row | null>> = [[main]];
    for (let i = 0; i < matchers.length && combos.length; i++) {
      const linked = matchers[i](main);
      combos = combos.flatMap((c) => linked.map((r) => [...c, r]));
    }
    for (const rows of combos) {
      const item: Item = { rows, key: [] };
      if (!q.filter || matchesFilter(q.filter, item)) items.push(item);
    }
  }
  return items;
}

function matchesFilter(f: FetchFilter, item: Item): boolean {
  if (f.kind === "condition") return matchesCondition(f, valueOf(item, f.source, f.column));
  // An empty filter restricts nothing, whatever its type.
  if (f.kind === "and" || !f.items.length) return f.items.every((i) => matchesFilter(i, item));
  return f.items.some((i) => matchesFilter(i, item));
}

/** Ordering of two non-null values of a column. */
function comparer(column: ColumnDef): (a: Value, b: Value) => number {
  switch (column.type) {
    case "String":
    case "Memo":
      return (a, b) => collator.compare(a as string, b as string);
    case "Integer":
    case "BigInt":
    case "Picklist":
    case "Money":
    case "Decimal":
      return (a, b) => (a as number) - (b as number);
    case "Boolean":
      return (a, b) => Number(a) - Number(b);
    default:
      // Ids, and date-times, which are all stored as `YYYY-MM-DDTHH:MM:SSZ`.
      return (a, b) => (a! < b! ? -1 : a! > b! ? 1 : 0);
  }
}

const likePatterns = new Map<string, RegExp>();

/** SQL LIKE (`%` any text, `_` one character), case- and accent-insensitive. */
function like(value: string, pattern: string): boolean {
  let re = likePatterns.get(pattern);
  if (!re) {
    const source = fold(pattern)
      .split("")
      .map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${source}$`, "s");
    if (likePatterns.size > 100) likePatterns.clear();
    likePatterns.set(pattern, re);
  }
  return re.test(fold(value));
}

const dayStart = (iso: string): number => Math.floor(Date.parse(iso) / DAY_MS) * DAY_MS;

/** SQL semantics: every operator but null / not-null is false on an empty column. */
function matchesCondition(c: FetchCondition, v: Value): boolean {
  if (c.operator === "null") return v === null;
  if (c.operator === "not-null") return v !== null;
  if (v === null) return false;
  const cmp = comparer(c.column);
  const [x, y] = c.values;
  const equal = (a: Value) => cmp(v, a) === 0;
  switch (c.operator) {
    case "eq":
      return equal(x);
    case "ne":
    case "neq":
      return !equal(x);
    case "lt":
      return cmp(v, x) < 0;
    case "le":
      return cmp(v, x) <= 0;
    case "gt":
      return cmp(v, x) > 0;
    case "ge":
      return cmp(v, x) >= 0;
    case "in":
      return c.values.some(equal);
    case "not-in":
      return !c.values.some(equal);
    case "between":
      return cmp(v, x) >= 0 && cmp(v, y) <= 0;
    case "not-between":
      return cmp(v, x) < 0 || cmp(v, y) > 0;
    case "like":
      return like(v as string, x as string);
    case "not-like":
      return !like(v as string, x as string);
    case "begins-with":
      return like(v as string, `${x}%`);
    case "not-begin-with":
      return !like(v as string, `${x}%`);
    case "ends-with":
      return like(v as string, `%${x}`);
    case "not-end-with":
      return !like(v as string, `%${x}`);
    case "on":
      return dayStart(v as string) === dayStart(x as string);
    case "on-or-after":
      return Date.parse(v as string) >= dayStart(x as string);
    case "on-or-before":
      return Date.parse(v as string) < dayStart(x as string) + DAY_MS;
    default:
      throw new Error(`unhandled FetchXML operator ${c.operator}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Order

/**
 * The requested order, then the entity's id (the order Dataverse pages in), then ids of to-many
 * links. Like Dataverse, lookups sort by the name of the row they point at and choices by their
 * label (by value with `useraworderby`).
 */
function sortParts(q: FetchQuery, store: Store): SortPart[] {
  const lookupName = (c: ColumnDef, id: string): string | undefined => {
    const target = store.lookupTarget(c, id);
    const name = target && store.get(target, id)?.[target.primaryNameAttribute];
    return typeof name === "string" ? name : undefined;
  };
  const parts: SortPart[] = [];
  const add = (source: number, column: ColumnDef, descending: boolean) => {
    const byName = column.type === "Lookup" || (column.type === "Picklist" && !q.rawOrder);
    parts.push({
      source,
      column,
      descending,
      sortValue: byName ? (v) => (v === null ? null : (formattedValue(column, v, lookupName) ?? null)) : (v) => v,
      compare: byName ? (a, b) => collator.compare(a as string, b as string) : comparer(column),
    });
  };
  for (const o of q.orders) if ("column" in o) add(o.source, o.column, o.descending);
  const id = (s: FetchSource) => s.table.columns.find((c) => c.name === s.table.primaryIdAttribute)!;
  add(0, id(q.sources[0]), false);
  for (const link of q.links) if (link.toMany) add(link.source, id(q.sources[link.source]), false);
  return parts;
}

function compareKeys(parts: SortPart[], a: Value[], b: Value[]): number {
  for (let i = 0; i < parts.length; i++) {
    const va = a[i];
    const vb = b[i];
    // Empty values first when ascending, as SQL Server sorts NULL.
    const c = va === null ? (vb === null ? 0 : -1) : vb === null ? 1 : parts[i].compare(va, vb);
    if (c !== 0) return parts[i].descending ? -c : c;
  }
  return 0;
}

function sortItems(items: Item[], parts: SortPart[]): Item[] {
  for (const item of items) item.key = parts.map((p) => p.sortValue(valueOf(item, p.source, p.column)));
  return items.sort((a, b) => compareKeys(parts, a.key, b.key));
}

// ---------------------------------------------------------------------------------------------
// Paging

/**
 * Queries whose order is on the entity's own columns and whose links match one row each can be
 * resumed from a cookie; others (like on the real service) get no cookie and page simply.
 */
const pagesWithCookie = (q: FetchQuery) => !q.aggregate && q.orders.every((o) => "column" in o && o.source === 0) && q.links.every((l) => !l.toMany);

function cookieText(column: ColumnDef, v: Value): string | null {
  if (v === null) return null;
  if (column.type === "Boolean") return v ? "1" : "0";
  if (column.type === "Uniqueidentifier" || column.type === "Lookup") return cookieGuid(v as string);
  return String(v);
}

function cookieValue(column: ColumnDef, text: string | null): Value | undefined {
  if (text === null) return null;
  switch (column.type) {
    case "Boolean":
      return text === "1" || text.toLowerCase() === "true";
    case "Uniqueidentifier":
    case "Lookup":
      return text.replace(/^\{(.*)\}$/, "$1").toLowerCase();
    case "Integer":
    case "BigInt":
    case "Picklist":
    case "Money":
    case "Decimal":
      return Number.isNaN(Number(text)) ? undefined : Number(text);
    default:
      return text;
  }
}

/** The sort key after which page `page` starts, from the cookie of page `page - 1`; undefined if unusable. */
function resumeKey(q: FetchQuery, parts: SortPart[], page: number): Value[] | undefined {
  if (q.pagingCookie === undefined) return undefined;
  const cookie = parseInnerCookie(q.pagingCookie);
  if (!cookie) throw badRequest("Malformed XML in the paging cookie.", "0x80040203");
  // Like Dataverse: a cookie for another page than the previous one is ignored.
  if (cookie.page !== page - 1 || cookie.columns.length !== parts.length) return undefined;
  const raw = parts.map((p, i) => (cookie.columns[i].name === p.column.name ? cookieValue(p.column, cookie.columns[i].last) : undefined));
  if (raw.some((v) => v === undefined) || raw[raw.length - 1] === null) return undefined;
  return parts.map((p, i) => p.sortValue(raw[i] as Value));
}

/** First index whose key sorts after `key` (items are sorted by key). */
function indexAfter(items: Item[], parts: SortPart[], key: Value[]): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(parts, items[mid].key, key) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Page<T> {
  rows: T[];
  more: boolean;
  cookie?: string;
}

/** One page of `results`; items (not aggregate rows) can resume from, and hand out, a paging cookie. */
function pageOf<T extends Item | Record<string, unknown>>(q: FetchQuery, results: T[], parts: SortPart[]): Page<T> {
  if (q.top !== undefined) return { rows: results.slice(0, q.top), more: false };
  const size = Math.min(q.count ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const page = q.page ?? 1;
  const withCookie = pagesWithCookie(q);
  const after = withCookie ? resumeKey(q, parts, page) : undefined;
  let start: number;
  if (after) start = indexAfter(results as Item[], parts, after);
  else {
    if (page * size > SIMPLE_PAGING_LIMIT) {
      throw badRequest("Paging cookie is required when trying to retrieve a set of records on any high pages.", "0x80040203");
    }
    start = (page - 1) * size;
  }
  const rows = results.slice(start, start + size);
  const more = start + size < results.length;
  if (!more || !withCookie || !rows.length) return { rows, more };
  const first = rows[0] as Item;
  const last = rows[rows.length - 1] as Item;
  const text = (item: Item, p: SortPart) => cookieText(p.column, valueOf(item, p.source, p.column));
  const columns: CookieColumn[] = parts.map((p) => ({ name: p.column.name, last: text(last, p), first: text(first, p) }));
  return { rows, more, cookie: outerCookie(page + 1, innerCookie(page, columns)) };
}

// ---------------------------------------------------------------------------------------------
// Output

function formatItem(q: FetchQuery, item: Item, formatter: RowFormatter): Record<string, unknown> {
  const main = item.rows[0]!;
  const table = q.sources[0].table;
  const out: Record<string, unknown> = { "@odata.etag": Store.etag(main) };
  const write = (source: number, column: ColumnDef, alias?: string) => {
    const value = valueOf(item, source, column);
    if (value === null) return; // FetchXML leaves empty columns out
    const link = q.sources[source].alias;
    const key = alias ?? (link === undefined ? propertyName(column) : `${link}_x002e_${column.name}`);
    formatter.writeValue(out, key, column, value, alias !== undefined || link !== undefined ? column.name : undefined);
  };
  q.sources.forEach((source, i) => {
    const selected = source.allAttributes ? source.table.columns.map((column) => ({ column, alias: undefined })) : q.attributes.filter((a) => a.source === i);
    for (const a of selected) write(i, a.column, a.alias);
    if (i > 0) return;
    // The primary key always comes back; a money column brings its currency along.
    const extra = [table.primaryIdAttribute];
    if (selected.some((a) => a.column.type === "Money")) extra.push("transactioncurrencyid");
    for (const name of extra) {
      const column = table.columns.find((c) => c.name === name);
      if (column && !(propertyName(column) in out)) write(0, column);
    }
  });
  return out;
}

const COUNT_COLUMN: ColumnDef = { name: "count", type: "Integer", displayName: "Count" };

/** Groups (by the groupby attributes) and their aggregate values, in first-seen order unless ordered by alias. */
function aggregate(q: FetchQuery, items: Item[], formatter: RowFormatter): Array<Record<string, unknown>> {
  const limit = q.aggregateLimit ?? AGGREGATE_LIMIT;
  if (items.length > limit) {
    throw badRequest("AggregateQueryRecordLimit exceeded. Cannot perform this operation.", "0x8004E023");
  }
  const groupBy = q.attributes.filter((a) => a.groupBy);
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    // Text groups like SQL: "Redmond" and "REDMOND" are one group.
    const k = JSON.stringify(groupBy.map((a) => valueOf(item, a.source, a.column)).map((v) => (typeof v === "string" ? fold(v) : v)));
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  if (!groupBy.length && !groups.size) groups.set("[]", []);
  const rows = [...groups.values()].map((members) => {
    const values: Record<string, Value> = {};
    const out: Record<string, unknown> = {};
    for (const a of q.attributes) {
      const present = members.map((m) => valueOf(m, a.source, a.column)).filter((v) => v !== null);
      let value: Value;
      let column = a.column;
      if (a.groupBy) value = members.length ? valueOf(members[0], a.source, a.column) : null;
      else if (a.aggregate === "count" || a.aggregate === "countcolumn") {
        column = COUNT_COLUMN;
        value =
          a.aggregate === "count" ? members.length : a.distinct ? new Set(present.map((v) => (typeof v === "string" ? fold(v) : v))).size : present.length;
      } else value = aggregateValue(a.aggregate as "sum" | "avg" | "min" | "max", a.column, present);
      values[a.alias!] = value;
      if (value !== null) formatter.writeValue(out, a.alias!, column, value);
    }
    return { values, out };
  });
  const orders = q.orders.filter((o) => "alias" in o);
  if (orders.length) {
    const columnOf = (alias: string) => {
      const a = q.attributes.find((x) => x.alias === alias)!;
      return a.aggregate === "count" || a.aggregate === "countcolumn" ? COUNT_COLUMN : a.column;
    };
    const parts = orders.map((o) => ({ alias: o.alias, column: columnOf(o.alias), descending: o.descending }));
    rows.sort((x, y) => {
      for (const p of parts) {
        const a = x.values[p.alias];
        const b = y.values[p.alias];
        const c = a === null ? (b === null ? 0 : -1) : b === null ? 1 : comparer(p.column)(a, b);
        if (c !== 0) return p.descending ? -c : c;
      }
      return 0;
    });
  }
  return rows.map((r) => r.out);
}

function aggregateValue(fn: "sum" | "avg" | "min" | "max", column: ColumnDef, values: Value[]): Value {
  const round = (n: number) => (column.type === "Integer" || column.type === "BigInt" ? Math.trunc(n) : Number(n.toFixed(column.precision ?? 2)));
  if (fn === "sum") return round((values as number[]).reduce((s, v) => s + v, 0));
  if (!values.length) return null;
  if (fn === "avg") return round((values as number[]).reduce((s, v) => s + v, 0) / values.length);
  const cmp = comparer(column);
  return values.reduce((best, v) => ((fn === "min" ? cmp(v, best) < 0 : cmp(v, best) > 0) ? v : best));
}
