/**
 * Lookups in rows to write: a lookup column given by its logical name (`parentcustomerid`) with a
 * GUID, an alternate key object, `{table, id}`, or null becomes `<navigation property>@odata.bind`,
 * the only form Dataverse takes. The navigation property comes from relationship metadata: it is
 * case-sensitive, often differs from the column's name, and a customer, owner or regarding lookup
 * has one per table it accepts.
 */
import { inputError } from "./errors";
import type { LookupRelationship, TableInfo } from "./metadata";
import { rowPath } from "./odata";
import type { OperationContext } from "./operations/context";
import { checkRowId, isGuid, isPlainObject, type Row, type RowRef } from "./validate";

/** Finds a table by logical or entity set name (the metadata cache's `table`). */
export type FindTable = (name: string) => Promise<Pick<TableInfo, "logicalName" | "entitySetName"> | undefined>;

/** Owner lookups point at the `owner` table, which stands for a user or a team. */
const OWNER_TABLES = ["systemuser", "team"];

/** The row with its lookups bound, using the table's relationship metadata when the row may hold one. */
export async function bindRowLookups(ctx: OperationContext, info: TableInfo | undefined, row: Row, field = "row"): Promise<Row> {
  if (!info || !Object.entries(row).some(([column, value]) => mayBeLookup(column, value, info))) return row;
  const lookups = await ctx.metadata.lookups(info.logicalName);
  // Without metadata the row goes as written; Dataverse then names what it does not take.
  if (!lookups) return row;
  return bindLookups(row, lookups, (name) => ctx.metadata.table(name), field);
}

/** Only these values can be a lookup written by column name; the id column is never one. */
function mayBeLookup(column: string, value: unknown, info: TableInfo): boolean {
  if (column.includes("@") || column === info.primaryIdAttribute) return false;
  return value === null || isPlainObject(value) || (typeof value === "string" && isGuid(value));
}

/**
 * Replaces each lookup column of `row` (by logical name, or as `_<name>_value`) with its
 * `<navigation>@odata.bind`; other columns, and binds already written, stay as they are.
 */
export async function bindLookups(row: Row, lookups: LookupRelationship[], findTable: FindTable, field = "row"): Promise<Row> {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    const column = /^_(\w+)_value$/.exec(key)?.[1] ?? key;
    const targets = key.includes("@") ? [] : lookupTargets(lookups, column);
    if (targets.length === 0) {
      out[key] = value;
      continue;
    }
    const [name, bind] = await bindOf(`${field}.${key}`, targets, value, findTable);
    out[`${name}@odata.bind`] = bind;
  }
  return out;
}

interface Target {
  table: string;
  navigation: string;
}

/** The tables a lookup column accepts, each with its navigation property. */
function lookupTargets(lookups: LookupRelationship[], column: string): Target[] {
  return lookups
    .filter((l) => l.column === column)
    .flatMap((l) =>
      l.table === "owner" ? OWNER_TABLES.map((table) => ({ table, navigation: l.navigation })) : [{ table: l.table, navigation: l.navigation }],
    );
}

async function bindOf(where: string, targets: Target[], value: unknown, findTable: FindTable): Promise<[string, string | null]> {
  const allowed = targets.map((t) => t.table).join(", ");
  // Clearing: any of a polymorphic lookup's navigation properties clears the one column.
  if (value === null) return [targets[0].navigation, null];
  const asRef = isPlainObject(value) && "table" in value && "id" in value;
  if (!asRef && targets.length > 1) {
    throw inputError(
      fieldOf(where),
      `${where} is a lookup that accepts several tables (${allowed}): say which, like {"table":"${targets[0].table}","id":"<guid or alternate key>"}`,
    );
  }
  let target = targets[0];
  let id: unknown = value;
  if (asRef) {
    const named = typeof value.table === "string" ? value.table.trim() : "";
    const table = named ? await findTable(named).catch(() => undefined) : undefined;
    const found = targets.find((t) => t.table === (table?.logicalName ?? named));
    if (!found) throw inputError(fieldOf(where), `${where} names table '${String(value.table)}', which this lookup does not accept: use one of ${allowed}`);
    target = found;
    id = value.id;
  }
  const ref = refOf(where, id);
  const set = (await findTable(target.table))?.entitySetName;
  if (!set)
    throw inputError(
      fieldOf(where),
      `${where}: the entity set of table '${target.table}' could not be read from metadata; write "${target.navigation}@odata.bind" yourself`,
    );
  return [target.navigation, `/${rowPath(set, ref)}`];
}

/** The message field a place in it belongs to: `row.parentcustomerid` → row, `payload[2].row.x` → payload. */
const fieldOf = (where: string): string => /^\w+/.exec(where)![0];

function refOf(where: string, id: unknown): RowRef {
  try {
    return checkRowId(id);
  } catch {
    throw inputError(
      fieldOf(where),
      `${where} is not a lookup value: use a row GUID, an alternate key object like {"accountnumber":"A-1"}, {"table":"account","id":"<guid>"}, or null to clear it`,
    );
  }
}
