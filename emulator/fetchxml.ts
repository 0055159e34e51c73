// FetchXML (`GET <entityset>?fetchXml=…`): the XML turned into a query checked against the table
// definitions, with the errors Dataverse gives for what it rejects and a 501 for what the emulator
// leaves out. Running the query is fetchrun.ts.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { badRequest, DataverseError, notImplemented } from "./errors";
import { tableByLogicalName, type ColumnDef, type TableDef } from "./tables";
import { parseDateTime, type Value } from "./values";
import { isGuid, isoSeconds } from "./util";

export type AggregateFunction = "count" | "countcolumn" | "sum" | "avg" | "min" | "max";
const AGGREGATES = new Set<string>(["count", "countcolumn", "sum", "avg", "min", "max"]);

/** Operators the emulator evaluates; the many date and hierarchy operators Dataverse also has answer 501. */
const OPERATORS = new Set([
  "eq",
  "ne",
  "neq",
  "lt",
  "le",
  "gt",
  "ge",
  "like",
  "not-like",
  "begins-with",
  "not-begin-with",
  "ends-with",
  "not-end-with",
  "in",
  "not-in",
  "null",
  "not-null",
  "between",
  "not-between",
  "on",
  "on-or-after",
  "on-or-before",
]);
const TEXT_OPERATORS = new Set(["like", "not-like", "begins-with", "not-begin-with", "ends-with", "not-end-with"]);
const DATE_OPERATORS = new Set(["on", "on-or-after", "on-or-before"]);

/** The query's tables: index 0 is the `<entity>`, then one per `<link-entity>` in document order. */
export interface FetchSource {
  table: TableDef;
  /** Link-entity alias (given, or generated like Dataverse: `<name><n>`); undefined for the entity. */
  alias?: string;
  /** `<all-attributes/>`, or an `<entity>` without any `<attribute>`. */
  allAttributes: boolean;
}

export interface FetchAttribute {
  source: number;
  column: ColumnDef;
  alias?: string;
  aggregate?: AggregateFunction;
  groupBy: boolean;
  distinct: boolean;
}

export interface FetchCondition {
  kind: "condition";
  source: number;
  column: ColumnDef;
  operator: string;
  values: Value[];
}

export type FetchFilter = { kind: "and" | "or"; items: FetchFilter[] } | FetchCondition;

export interface FetchLink {
  /** Index into `sources`. */
  source: number;
  /** Column of the linked table matched against `to` of the entity. */
  from: ColumnDef;
  to: ColumnDef;
  outer: boolean;
  /** Conditions of the join itself (an outer link that fails them yields nulls). */
  filter?: FetchFilter;
  /** The entity can match several linked rows (`from` is not the linked table's key). */
  toMany: boolean;
}

/** By a column of a source, or (aggregates) by an attribute alias. */
export type FetchOrder = { source: number; column: ColumnDef; descending: boolean } | { alias: string; descending: boolean };

export interface FetchQuery {
  sources: FetchSource[];
  attributes: FetchAttribute[];
  links: FetchLink[];
  filter?: FetchFilter;
  /** The entity's orders, then the link-entities' (Dataverse applies those last). */
  orders: FetchOrder[];
  /** `useraworderby`: choice columns sort by value instead of by label. */
  rawOrder: boolean;
  aggregate: boolean;
  aggregateLimit?: number;
  top?: number;
  count?: number;
  page?: number;
  /** The inner cookie, as the `paging-cookie` attribute holds it (XML-unescaped). */
  pagingCookie?: string;
  returnTotalRecordCount: boolean;
}

/** Dataverse's invalid-argument code, used for FetchXML it refuses. */
const INVALID_ARGUMENT = "0x80040203";
const fetchError = (message: string) => badRequest(message, INVALID_ARGUMENT);
const unsupported = (what: string) => notImplemented(`The FetchXML ${what}`);

const unknownAttribute = (table: TableDef, name: string): DataverseError =>
  badRequest(`'${table.logicalName}' entity doesn't contain attribute with Name = '${name}' and NameMapping = 'Logical'.`, "0x80041103");

// ---------------------------------------------------------------------------------------------
// XML

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  preserveOrder: true,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
});

type OrderedNode = Record<string, unknown> & { ":@"?: Record<string, string> };

function toElements(nodes: OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ":@")!;
    if (name === "#text" || name === "?xml" || name === "#comment") continue;
    const children = node[name] as OrderedNode[];
    const text = children
      .filter((c) => "#text" in c)
      .map((c) => String(c["#text"]))
      .join("");
    out.push({ name, attrs: node[":@"] ?? {}, children: toElements(children), text });
  }
  return out;
}

/**
 * What the validator lets through but an XML reader (and so Dataverse) refuses: a `&` that starts no
 * entity reference, and `<` inside an attribute value (an unescaped paging cookie, typically).
 */
function strictlyWellFormed(text: string): boolean {
  const markup = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g, "");
  return !/&(?!(?:[A-Za-z][\w.-]*|#\d+|#x[0-9a-fA-F]+);)/.test(markup) && !/<[A-Za-z][^>]*?\s[\w:.-]+\s*=\s*(?:"[^"]*<|'[^']*<)/.test(markup);
}

/** The `<fetch>` element, or the 400 Dataverse gives for XML it cannot read. */
function parseXml(text: string): XmlElement {
  const invalid = () => badRequest("Invalid XML.", "0x80040201");
  if (XMLValidator.validate(text) !== true || !strictlyWellFormed(text)) throw invalid();
  const roots = toElements(parser.parse(text) as OrderedNode[]);
  if (roots.length !== 1 || roots[0].name !== "fetch") throw invalid();
  return roots[0];
}

// ---------------------------------------------------------------------------------------------
// Attribute values

const isTrue = (v: string | undefined) => v === "true" || v === "1";

function positiveInt(el: XmlElement, name: string): number | undefined {
  const v = el.attrs[name];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw fetchError(`The '${name}' attribute of the '${el.name}' element must be a positive integer; '${v}' is not.`);
  return Number(v);
}

const DOTNET_TYPES: Record<ColumnDef["type"], string> = {
  Uniqueidentifier: "System.Guid",
  Lookup: "System.Guid",
  String: "System.String",
  Memo: "System.String",
  Money: "System.Decimal",
  Decimal: "System.Decimal",
  Integer: "System.Int32",
  Picklist: "System.Int32",
  BigInt: "System.Int64",
  Boolean: "System.Boolean",
  DateTime: "System.DateTime",
};

/** A condition value typed like the column, or the 400 for text that is not one. */
function typedValue(table: TableDef, column: ColumnDef, text: string): Value {
  const wrong = () =>
    fetchError(
      `Condition for attribute '${table.logicalName}.${column.name}': expected argument(s) of type '${DOTNET_TYPES[column.type]}' but received '${text}'.`,
    );
  switch (column.type) {
    case "String":
    case "Memo":
      return text;
    case "Integer":
    case "BigInt":
    case "Picklist":
      if (!/^-?\d+$/.test(text.trim())) throw wrong();
      return Number(text);
    case "Money":
    case "Decimal":
      if (!/^-?\d+(\.\d+)?$/.test(text.trim())) throw wrong();
      return Number(text);
    case "Boolean":
      if (/^(1|true)$/i.test(text.trim())) return true;
      if (/^(0|false)$/i.test(text.trim())) return false;
      throw wrong();
    case "DateTime": {
      const ms = parseDateTime(text.trim());
      if (ms === undefined) throw wrong();
      return isoSeconds(ms);
    }
    case "Uniqueidentifier":
    case "Lookup": {
      const id = text.trim().replace(/^\{(.*)\}$/, "$1");
      if (!isGuid(id)) throw wrong();
      return id.toLowerCase();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Elements

const FETCH_ATTRIBUTES = new Set([
  "version",
  "mapping",
  "output-format",
  "distinct",
  "no-lock",
  "aggregate",
  "aggregatelimit",
  "count",
  "page",
  "paging-cookie",
  "returntotalrecordcount",
  "top",
  "latematerialize",
  "options",
  "useraworderby",
]);

export function parseFetchXml(text: string): FetchQuery {
  const fetch = parseXml(text);
  for (const name of Object.keys(fetch.attrs)) {
    if (name === "datasource") throw unsupported("attribute 'datasource' (long term retention)");
    if (!FETCH_ATTRIBUTES.has(name)) throw fetchError(`The 'fetch' element has no attribute '${name}'.`);
  }
  const entities = fetch.children.filter((c) => c.name === "entity");
  if (entities.length !== 1 || fetch.children.length !== 1) throw fetchError("The 'fetch' element must contain exactly one 'entity' element.");
  const entity = entities[0];
  const table = tableFor(entity);

  const q: FetchQuery = {
    sources: [{ table, allAttributes: false }],
    attributes: [],
    links: [],
    orders: [],
    rawOrder: isTrue(fetch.attrs.useraworderby),
    aggregate: isTrue(fetch.attrs.aggregate),
    aggregateLimit: positiveInt(fetch, "aggregatelimit"),
    top: positiveInt(fetch, "top"),
    count: positiveInt(fetch, "count"),
    page: positiveInt(fetch, "page"),
    pagingCookie: fetch.attrs["paging-cookie"] || undefined,
    returnTotalRecordCount: isTrue(fetch.attrs.returntotalrecordcount),
  };
  if (q.top !== undefined && q.top > 5000) throw fetchError(`The 'top' attribute can't exceed 5000 (it is ${q.top}).`);
  if (q.top !== undefined && (q.count !== undefined || q.page !== undefined)) {
    throw fetchError(`The Top.Count = ${q.top} can't be specified with pagingInfo`);
  }
  if (q.top !== undefined && q.returnTotalRecordCount) throw fetchError("The 'top' attribute can't be used together with 'returntotalrecordcount'.");
  if (q.aggregateLimit !== undefined && q.aggregateLimit > 50_000) throw fetchError("The 'aggregatelimit' can't exceed the 50000 record aggregate limit.");

  ({ filter: q.filter, orders: q.orders } = readEntityChildren(q, entity, 0));
  const hasAttributes = q.attributes.some((a) => a.source === 0);
  if (!hasAttributes && !q.aggregate) q.sources[0].allAttributes = true;
  checkAggregate(q);
  return q;
}

function tableFor(el: XmlElement): TableDef {
  const name = el.attrs.name;
  if (!name) throw fetchError(`The '${el.name}' element needs a 'name' attribute.`);
  const table = tableByLogicalName(name);
  if (!table) throw fetchError(`The entity with a name = '${name}' with namemapping = 'Logical' was not found in the MetadataCache.`);
  return table;
}

function columnOf(table: TableDef, name: string | undefined, element: string): ColumnDef {
  if (!name) throw fetchError(`The '${element}' element needs an 'attribute' or 'name'.`);
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw unknownAttribute(table, name);
  return column;
}

/**
 * Reads `<attribute>`, `<all-attributes>`, `<link-entity>`, then `<order>` and `<filter>` of an entity
 * or link (those may name a link's alias through `entityname`, so the links come first). The orders
 * returned are the element's own, then its links' (the order Dataverse applies them in).
 */
function readEntityChildren(q: FetchQuery, el: XmlElement, source: number): { filter?: FetchFilter; orders: FetchOrder[] } {
  const { table } = q.sources[source];
  const filters: FetchFilter[] = [];
  const orders: FetchOrder[] = [];
  const linkOrders: FetchOrder[] = [];
  for (const child of el.children) {
    if (child.name === "attribute") q.attributes.push(readAttribute(q, child, source));
    else if (child.name === "all-attributes") q.sources[source].allAttributes = true;
    else if (child.name === "link-entity") {
      if (source !== 0) throw unsupported("nesting of link-entity elements (more than one level)");
      linkOrders.push(...readLink(q, child));
    } else if (child.name !== "order" && child.name !== "filter") throw fetchError(`The element '${child.name}' is not valid inside '${el.name}'.`);
  }
  for (const child of el.children) {
    if (child.name === "order") orders.push(readOrder(q, child, source));
    else if (child.name === "filter") filters.push(readFilter(q, child, source));
  }
  if (filters.length > 1) throw fetchError(`The '${el.name}' element for '${table.logicalName}' can hold only one 'filter' element.`);
  return { filter: filters[0], orders: [...orders, ...linkOrders] };
}

function readAttribute(q: FetchQuery, el: XmlElement, source: number): FetchAttribute {
  const { table } = q.sources[source];
  if (el.attrs.dategrouping !== undefined) throw unsupported("attribute 'dategrouping'");
  if (el.attrs.rowaggregate !== undefined) throw unsupported("attribute 'rowaggregate'");
  const aggregate = el.attrs.aggregate;
  if (aggregate !== undefined && !AGGREGATES.has(aggregate)) {
    throw fetchError(`'${aggregate}' is not a valid aggregate; use count, countcolumn, sum, avg, min or max.`);
  }
  return {
    source,
    column: columnOf(table, el.attrs.name, "attribute"),
    alias: el.attrs.alias || undefined,
    aggregate: aggregate as AggregateFunction | undefined,
    groupBy: isTrue(el.attrs.groupby),
    distinct: isTrue(el.attrs.distinct),
  };
}

function readOrder(q: FetchQuery, el: XmlElement, source: number): FetchOrder {
  const descending = isTrue(el.attrs.descending);
  if (el.attrs.alias !== undefined) {
    if (!q.aggregate) throw unsupported("order by alias outside an aggregate query");
    return { alias: el.attrs.alias, descending };
  }
  if (q.aggregate) throw fetchError("An order element of an aggregate query must name the alias of a groupby or aggregate attribute.");
  const target = el.attrs.entityname === undefined ? source : sourceByAlias(q, el.attrs.entityname);
  return { source: target, column: columnOf(q.sources[target].table, el.attrs.attribute, "order"), descending };
}

function sourceByAlias(q: FetchQuery, alias: string): number {
  const i = q.sources.findIndex((s, n) => n > 0 && (s.alias === alias || s.table.logicalName === alias));
  if (i < 0) throw fetchError(`No link-entity with the alias '${alias}' (entityname) is defined in this query.`);
  return i;
}

/** Adds the link to the query; returns its orders. */
function readLink(q: FetchQuery, el: XmlElement): FetchOrder[] {
  const table = tableFor(el);
  const type = el.attrs["link-type"] ?? "inner";
  if (type !== "inner" && type !== "outer") throw unsupported(`link-type '${type}'`);
  if (isTrue(el.attrs.intersect)) throw unsupported("intersect link-entity (many-to-many)");
  const source = q.sources.length;
  q.sources.push({ table, alias: el.attrs.alias || `${table.logicalName}${source}`, allAttributes: false });
  const from = columnOf(table, el.attrs.from, "link-entity 'from'");
  const to = columnOf(q.sources[0].table, el.attrs.to, "link-entity 'to'");
  const link: FetchLink = { source, from, to, outer: type === "outer", toMany: from.name !== table.primaryIdAttribute };
  q.links.push(link);
  const { filter, orders } = readEntityChildren(q, el, source);
  link.filter = filter;
  return orders;
}

function readFilter(q: FetchQuery, el: XmlElement, source: number): FetchFilter {
  const type = el.attrs.type ?? "and";
  if (type !== "and" && type !== "or") throw fetchError(`The filter type '${type}' is not valid; use 'and' or 'or'.`);
  const items = el.children.map((child): FetchFilter => {
    if (child.name === "filter") return readFilter(q, child, source);
    if (child.name === "condition") return readCondition(q, child, source);
    throw fetchError(`The element '${child.name}' is not valid inside 'filter'.`);
  });
  return { kind: type, items };
}

function readCondition(q: FetchQuery, el: XmlElement, source: number): FetchCondition {
  for (const unsupportedAttr of ["valueof", "aggregate", "rowaggregate", "alias", "column"]) {
    if (el.attrs[unsupportedAttr] !== undefined) throw unsupported(`condition attribute '${unsupportedAttr}'`);
  }
  const target = el.attrs.entityname === undefined ? source : sourceByAlias(q, el.attrs.entityname);
  if (source !== 0 && target !== source) throw unsupported("condition of a link-entity filter on another link-entity");
  const { table } = q.sources[target];
  const column = columnOf(table, el.attrs.attribute, "condition");
  const operator = el.attrs.operator;
  if (!operator) throw fetchError(`The condition on '${column.name}' needs an 'operator'.`);
  if (!OPERATORS.has(operator)) throw unsupported(`condition operator '${operator}'`);
  const texts = el.attrs.value !== undefined ? [el.attrs.value] : el.children.filter((c) => c.name === "value").map((c) => c.text);
  const expected =
    operator === "null" || operator === "not-null"
      ? [0, 0]
      : operator === "in" || operator === "not-in"
        ? [1, Infinity]
        : operator.endsWith("between")
          ? [2, 2]
          : [1, 1];
  if (texts.length < expected[0] || texts.length > expected[1]) {
    throw fetchError(`Condition for attribute '${table.logicalName}.${column.name}': the operator '${operator}' can't take ${texts.length} value(s).`);
  }
  const isText = column.type === "String" || column.type === "Memo";
  if (TEXT_OPERATORS.has(operator) && !isText)
    throw fetchError(`The operator '${operator}' is only valid for text columns; '${column.name}' is ${column.type}.`);
  if (DATE_OPERATORS.has(operator) && column.type !== "DateTime") {
    throw fetchError(`The operator '${operator}' is only valid for date columns; '${column.name}' is ${column.type}.`);
  }
  return { kind: "condition", source: target, column, operator, values: texts.map((t) => typedValue(table, column, t)) };
}

function checkAggregate(q: FetchQuery): void {
  const aggregated = q.attributes.filter((a) => a.aggregate !== undefined || a.groupBy);
  if (!q.aggregate) {
    if (aggregated.length) throw fetchError("An attribute with 'aggregate' or 'groupby' needs aggregate='true' on the fetch element.");
    return;
  }
  if (q.sources.some((s) => s.allAttributes)) throw fetchError("An aggregate query can't use all-attributes.");
  if (!q.attributes.length) throw fetchError("An aggregate query needs at least one attribute with an aggregate function.");
  for (const a of q.attributes) {
    if (!a.alias) throw fetchError(`The attribute '${a.column.name}' of an aggregate query needs an alias.`);
    if (a.aggregate === undefined && !a.groupBy)
      throw fetchError(`The attribute '${a.column.name}' of an aggregate query needs an aggregate function or groupby='true'.`);
    const numeric = ["Integer", "BigInt", "Money", "Decimal"].includes(a.column.type);
    if ((a.aggregate === "sum" || a.aggregate === "avg") && !numeric) {
      throw fetchError(`The aggregate '${a.aggregate}' is not valid for the attribute '${a.column.name}' of type ${a.column.type}.`);
    }
  }
  for (const o of q.orders) {
    if ("alias" in o && !q.attributes.some((a) => a.alias === o.alias)) throw fetchError(`The order alias '${o.alias}' is not the alias of an attribute.`);
  }
}
