// Finding rows from key predicates and @odata.bind references, and turning a JSON request body
// into validated column values.
import { badRequest, type DataverseError, notFoundById, notFoundByKey, notImplemented, unknownSegment } from "./errors";
import { parseKeyPredicate, parseSegment } from "./odata";
import type { Store, WriteTimes } from "./store";
import { columnByProperty, lookupByNavigation, lookupNavigation, odataType, propertyName, tableByLogicalName, tableBySet, type TableDef } from "./tables";
import { coerceValue, type Row } from "./values";
import { isGuid } from "./util";

/** A record addressed by `set(<id>)` or `set(<alternate key>)`; `row` is unset when it does not exist. */
export interface Target {
  table: TableDef;
  byKey: boolean;
  /** The id from the URL (id form only). */
  id?: string;
  /** Alternate-key values from the URL (key form only), already typed per column. */
  keyValues?: Row;
  row?: Row;
}

export function resolveTarget(store: Store, table: TableDef, args: string): Target {
  const predicate = parseKeyPredicate(args);
  if (predicate.kind === "id") return { table, byKey: false, id: predicate.id, row: store.get(table, predicate.id) };

  const names = Object.keys(predicate.values);
  // `accounts(accountid=<guid>)` is the primary key written as a named key.
  if (names.length === 1 && names[0] === table.primaryIdAttribute) {
    const id = predicate.values[names[0]];
    if (typeof id !== "string" || !isGuid(id)) throw badRequest(`The key value for '${names[0]}' must be a GUID.`);
    return { table, byKey: false, id, row: store.get(table, id) };
  }
  const key = table.alternateKeys.find((k) => k.columns.length === names.length && k.columns.every((c) => names.includes(c)));
  if (!key) {
    const declared = table.alternateKeys.map((k) => `(${k.columns.join(",")})`).join(", ") || "none";
    throw badRequest(`The key (${names.join(",")}) is not an alternate key of entity '${table.logicalName}'. Declared alternate keys: ${declared}.`);
  }
  const keyValues: Row = {};
  for (const name of names) {
    const column = columnByProperty(table, name)!;
    if (predicate.values[name] === null) throw badRequest(`The value of key attribute '${name}' cannot be null.`);
    keyValues[name] = coerceValue(table, column, predicate.values[name]);
  }
  return { table, byKey: true, keyValues, row: store.findByKey(table, key, keyValues) };
}

/**
 * Alternate-key values as a key predicate, `dv_serialnumber='SN-1'` or `firstname='Jo',emailaddress1='j@x'`:
 * text quoted (quotes doubled), numbers, booleans and ids bare. Characters a header can't carry are
 * percent-encoded.
 */
export function keyPredicate(table: TableDef, keyValues: Row): string {
  return Object.entries(keyValues)
    .map(([name, v]) => {
      const column = columnByProperty(table, name)!;
      const text = column.type === "String" || column.type === "Memo" ? `'${String(v).replace(/'/g, "''")}'` : String(v);
      return `${name}=${text.replace(/[^\x20-\x7e]/gu, (ch) => encodeURIComponent(ch))}`;
    })
    .join(",");
}

export const notFound = (t: Target): DataverseError => (t.byKey ? notFoundByKey(t.table) : notFoundById(t.table, t.id!));

/**
 * The record a URL names: `/contacts(<id>)`, `contacts(<id>)`, an absolute URL, or a key form
 * (`@odata.bind` values, UpsertMultiple's `@odata.id`). `what` names the annotation in errors.
 */
export function addressedRecord(value: unknown, what: string): { table: TableDef; args: string } {
  if (typeof value !== "string") throw badRequest(`The value of '${what}' must be a string URL of a record.`);
  const relative = value
    .trim()
    .replace(/^https?:\/\/[^/]+/i, "")
    .replace(/^\/?api\/data\/v\d+\.\d+(?:\.\d+)*\//i, "")
    .replace(/^\//, "");
  const segment = parseSegment(relative);
  const table = tableBySet(segment.name);
  if (!table) throw unknownSegment(segment.name);
  if (segment.args === undefined || relative.includes("/")) {
    throw badRequest(`The ${what.replace(/^.*@/, "@")} value '${value}' does not identify a single record.`);
  }
  return { table, args: segment.args };
}

/** Resolves an `@odata.bind` value to the id of the existing row it names. */
function resolveBind(store: Store, navigation: string, target: TableDef, value: unknown): string {
  const { table, args } = addressedRecord(value, `${navigation}@odata.bind`);
  if (table !== target) {
    throw badRequest(`The navigation property '${navigation}' expects a record of type '${odataType(target)}', but '${value}' is a '${odataType(table)}'.`);
  }
  const t = resolveTarget(store, table, args);
  if (!t.row) throw notFound(t);
  return t.row[table.primaryIdAttribute] as string;
}

/** Parses a request body that must be a JSON object. */
export function parseJsonObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw badRequest("The request body must be a JSON object with the column values of the record.");
  }
  return parsed as Record<string, unknown>;
}

export interface Payload {
  values: Row;
  /** Only when seeding: explicit createdon / modifiedon. */
  times: WriteTimes;
}

/**
 * Converts a create/update body into column values. Read-only columns are ignored like the
 * real service does; `seeding` (control API) may also set lookups by `_x_value` and the timestamps.
 */
export function payloadValues(store: Store, table: TableDef, body: Record<string, unknown>, seeding = false): Payload {
  const values: Row = {};
  const times: WriteTimes = {};
  for (const [key, raw] of Object.entries(body)) {
    if (key.startsWith("@")) continue;
    const at = key.indexOf("@");
    if (at > 0) {
      const name = key.slice(0, at);
      if (key.slice(at) !== "@odata.bind") continue; // other instance annotations are informational
      const lookup = lookupNavigation(table, name);
      if (!lookup) {
        throw badRequest(
          `An undeclared property '${name}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
        );
      }
      const target = tableByLogicalName(lookup.relationship.target)!;
      values[propertyName(lookup.column)] = raw === null ? null : resolveBind(store, name, target, raw);
      continue;
    }
    const column = columnByProperty(table, key);
    if (!column) {
      if (lookupByNavigation(table, key)) throw notImplemented("Deep insert / update through a navigation property");
      throw badRequest(
        `The property '${key}' does not exist on type '${odataType(table)}'. Make sure to only use property names that are defined by the type.`,
      );
    }
    if (column.type === "Lookup") {
      if (!seeding) {
        throw badRequest("CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.");
      }
      const id = coerceValue(table, column, raw);
      const target = tableByLogicalName(column.target!);
      if (id !== null && target && !store.lookupTarget(column, id as string)) throw notFoundById(target, id as string);
      values[key] = id;
    } else if (seeding && (key === "createdon" || key === "modifiedon")) {
      times[key] = coerceValue(table, column, raw) as string;
    } else if (!column.readOnly) {
      values[key] = coerceValue(table, column, raw);
    }
  }
  return { values, times };
}
