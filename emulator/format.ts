// Rows as the Web API returns them: etag, selected properties, annotations, expanded lookups,
// and the matching @odata.context.
import { badRequest, unknownProperty } from "./errors";
import { BASE_CURRENCY_ID, BASE_CURRENCY_NAME } from "./identities";
import { parseExpand, parseSelect } from "./odata";
import { Store } from "./store";
import { columnByProperty, lookupNavigation, lookupRelationships, propertyName, tableByLogicalName, type ColumnDef, type TableDef } from "./tables";
import { formattedValue, type Row, type Value } from "./values";

export interface Projection {
  /** Selected properties in request order; undefined = all columns. */
  select?: string[];
  expand: Array<{ navigation: string; column: ColumnDef; table: TableDef; select?: string[] }>;
}

function checkSelect(table: TableDef, text: string): string[] {
  const names = parseSelect(text);
  for (const n of names) if (!columnByProperty(table, n)) throw unknownProperty(table, n);
  return names;
}

/** Validates `$select` and `$expand` against the table. */
export function parseProjection(table: TableDef, select: string | undefined, expand: string | undefined): Projection {
  const projection: Projection = { select: select === undefined ? undefined : checkSelect(table, select), expand: [] };
  for (const item of expand === undefined ? [] : parseExpand(expand)) {
    const lookup = lookupNavigation(table, item.navigation);
    if (!lookup) throw unknownProperty(table, item.navigation);
    const { column } = lookup;
    const target = tableByLogicalName(lookup.relationship.target)!;
    for (const name of item.options.keys()) {
      if (name !== "$select") throw badRequest(`The query option '${name}' inside $expand is not supported by the Dataverse emulator.`);
    }
    const nested = item.options.get("$select");
    projection.expand.push({ navigation: item.navigation, column, table: target, select: nested === undefined ? undefined : checkSelect(target, nested) });
  }
  return projection;
}

/** `accounts(name,primarycontactid(fullname))` → the part after `$metadata#`. */
export function contextPath(table: TableDef, p: Projection): string {
  const items = [...(p.select ?? []), ...p.expand.map((e) => `${e.navigation}(${e.select?.join(",") ?? ""})`)];
  return items.length ? `${table.entitySetName}(${items.join(",")})` : table.entitySetName;
}

/** Matches annotation names against an `odata.include-annotations` value (`*`, `ns.*`, lists). */
export function annotationFilter(include: string | undefined): ((name: string) => boolean) | undefined {
  if (!include) return undefined;
  const patterns = include
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return (name) => patterns.some((p) => p === "*" || p === name || (p.endsWith(".*") && name.startsWith(p.slice(0, -1))));
}

export class RowFormatter {
  constructor(
    private readonly store: Store,
    private readonly wantsAnnotation?: (name: string) => boolean,
  ) {}

  /** Display name of the row a lookup points at. */
  private lookupName = (c: ColumnDef, id: string): string | undefined => {
    if (id === BASE_CURRENCY_ID) return BASE_CURRENCY_NAME;
    const target = this.store.lookupTarget(c, id);
    if (!target) return undefined;
    const name = this.store.get(target, id)?.[target.primaryNameAttribute];
    return typeof name === "string" ? name : undefined;
  };

  format(table: TableDef, row: Row, p: Projection): Record<string, unknown> {
    const out: Record<string, unknown> = { "@odata.etag": Store.etag(row) };
    let props = p.select ?? table.columns.map(propertyName);
    if (p.select) {
      // The primary key is always returned; a money column brings its currency along.
      const extra = [table.primaryIdAttribute];
      const selectsMoney = p.select.some((s) => columnByProperty(table, s)?.type === "Money");
      if (selectsMoney && columnByProperty(table, "_transactioncurrencyid_value")) extra.push("_transactioncurrencyid_value");
      props = [...props, ...extra.filter((e) => !props.includes(e))];
    }
    for (const prop of props) this.writeValue(out, prop, columnByProperty(table, prop)!, row[prop]);
    for (const e of p.expand) {
      const id = row[propertyName(e.column)];
      const target = typeof id === "string" ? this.store.get(e.table, id) : undefined;
      out[e.navigation] = target ? this.format(e.table, target, { select: e.select, expand: [] }) : null;
    }
    return out;
  }

  /**
   * Writes `value` under `key`, after the annotations the client asked for. `attributeName` is the
   * column's logical name when `key` is an alias (FetchXML), announced by an AttributeName annotation.
   */
  writeValue(out: Record<string, unknown>, key: string, column: ColumnDef, value: Value, attributeName?: string): void {
    const wants = this.wantsAnnotation;
    if (wants && value !== null) {
      if (attributeName !== undefined && wants("OData.Community.Display.V1.AttributeName")) {
        out[`${key}@OData.Community.Display.V1.AttributeName`] = attributeName;
      }
      const formatted = formattedValue(column, value, this.lookupName);
      if (formatted !== undefined && wants("OData.Community.Display.V1.FormattedValue")) {
        out[`${key}@OData.Community.Display.V1.FormattedValue`] = formatted;
      }
      if (column.type === "Lookup") {
        // A polymorphic lookup names the table (and navigation property) of the row it points at now.
        const target = this.store.lookupTarget(column, String(value))?.logicalName ?? column.target;
        const navigation = lookupRelationships(column).find((r) => r.target === target)?.navigation ?? column.navigation;
        if (navigation && wants("Microsoft.Dynamics.CRM.associatednavigationproperty")) {
          out[`${key}@Microsoft.Dynamics.CRM.associatednavigationproperty`] = navigation;
        }
        if (wants("Microsoft.Dynamics.CRM.lookuplogicalname")) out[`${key}@Microsoft.Dynamics.CRM.lookuplogicalname`] = target;
      }
    }
    out[key] = value;
  }
}
