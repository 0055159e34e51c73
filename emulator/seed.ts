// The rows every start (and every reset) begins with, and seeding rows through the control API.
import { payloadValues } from "./rows";
import type { Store } from "./store";
import { columnByProperty, propertyName, tableByLogicalName, tableBySet, type TableDef } from "./tables";
import type { Row } from "./values";
import { isGuid, newGuid } from "./util";

/** Ids of the default rows, for tests and examples. */
export const SEED_IDS = {
  contosoAccount: "a1b2c3d4-0001-4a00-8a00-000000000001",
  fabrikamAccount: "a1b2c3d4-0002-4a00-8a00-000000000002",
  northwindAccount: "a1b2c3d4-0003-4a00-8a00-000000000003",
  yvonneContact: "c1d2e3f4-0001-4c00-8c00-000000000001",
  susannaContact: "c1d2e3f4-0002-4c00-8c00-000000000002",
  boilerDevice: "d1e2f3a4-0001-4d00-8d00-000000000001",
} as const;

const at = (minute: number) => `2024-01-15T09:${String(minute).padStart(2, "0")}:00Z`;

/** Table entity set → rows, in insertion order (referenced rows first). */
const DEFAULT_ROWS: ReadonlyArray<[string, Array<Record<string, unknown>>]> = [
  [
    "accounts",
    [
      {
        accountid: SEED_IDS.contosoAccount,
        name: "Contoso Ltd",
        accountnumber: "ACC-001",
        telephone1: "+1 425 555 0100",
        emailaddress1: "info@contoso.example",
        address1_city: "Redmond",
        revenue: 1_500_000,
        numberofemployees: 250,
        description: "Seed account with a primary contact.",
        creditonhold: false,
        createdon: at(0),
      },
      {
        accountid: SEED_IDS.fabrikamAccount,
        name: "Fabrikam, Inc.",
        accountnumber: "ACC-002",
        telephone1: "+1 206 555 0150",
        emailaddress1: "hello@fabrikam.example",
        address1_city: "Seattle",
        revenue: 820_000,
        numberofemployees: 120,
        description: null,
        creditonhold: false,
        createdon: at(1),
      },
      {
        accountid: SEED_IDS.northwindAccount,
        name: "Northwind Traders",
        address1_city: "Portland",
        numberofemployees: 35,
        creditonhold: true,
        createdon: at(2),
      },
    ],
  ],
  [
    "contacts",
    [
      {
        contactid: SEED_IDS.yvonneContact,
        firstname: "Yvonne",
        lastname: "McKay",
        emailaddress1: "yvonne@contoso.example",
        telephone1: "+1 425 555 0101",
        jobtitle: "Purchasing Manager",
        "parentcustomerid_account@odata.bind": `/accounts(${SEED_IDS.contosoAccount})`,
        createdon: at(3),
      },
      {
        contactid: SEED_IDS.susannaContact,
        firstname: "Susanna",
        lastname: "Stubberod",
        emailaddress1: "susanna@fabrikam.example",
        jobtitle: "Operations Lead",
        "parentcustomerid_account@odata.bind": `/accounts(${SEED_IDS.fabrikamAccount})`,
        createdon: at(4),
      },
    ],
  ],
  [
    "dv_iotdevices",
    [
      {
        dv_iotdeviceid: SEED_IDS.boilerDevice,
        dv_name: "Boiler room sensor",
        dv_serialnumber: "SN-0001",
        dv_temperature: 21.5,
        dv_humidity: 45.25,
        dv_batterylevel: 87,
        dv_lastreadingon: "2024-01-15T08:55:00Z",
        dv_status: 100_000_000,
        "dv_accountid@odata.bind": `/accounts(${SEED_IDS.contosoAccount})`,
        createdon: at(5),
      },
    ],
  ],
];

/** Table by entity set name, or by logical name as a convenience. */
export function seedTable(name: string): TableDef | undefined {
  return tableBySet(name) ?? tableByLogicalName(name);
}

/**
 * Inserts rows as they are (no request pipeline). Rows without a primary key get one; a row
 * whose id exists replaces that row. Lookups may be given as `_x_value` or `nav@odata.bind`.
 */
export function seedRows(store: Store, table: TableDef, rows: ReadonlyArray<Record<string, unknown>>): string[] {
  return rows.map((input) => seedRow(store, table, input));
}

function seedRow(store: Store, table: TableDef, input: Record<string, unknown>): string {
  const rawId = input[table.primaryIdAttribute];
  if (rawId !== undefined && (typeof rawId !== "string" || !isGuid(rawId))) {
    throw new Error(`'${table.primaryIdAttribute}' must be a GUID`);
  }
  const id = (rawId as string | undefined)?.toLowerCase() ?? newGuid();
  const { values, times } = payloadValues(store, table, input, true);
  const existing = store.get(table, id);
  if (existing) {
    // Replace in place (keeps the row's position and the lookups pointing at it).
    const blank: Row = {};
    for (const c of table.columns) if (!c.readOnly || c.type === "Lookup") blank[propertyName(c)] = null;
    store.update(table, existing, { ...blank, ...values }, times);
  } else {
    store.insert(table, id, values, times);
  }
  return id;
}

/** Most rows a generated seed makes at once. */
const MAX_GENERATED_ROWS = 1_000_000;

const NUMERIC_TYPES = new Set(["Integer", "BigInt", "Picklist", "Money", "Decimal"]);

/**
 * Makes `count` new rows from `template`: in text values `{n}` becomes the row number (1 to count)
 * and `{n%K}` the row number modulo K; for a number column the result is a number
 * (`"dv_batterylevel": "{n%101}"`). Other values are copied as they are. Returns the ids in order.
 */
export function seedGenerated(store: Store, table: TableDef, count: number, template: Record<string, unknown>): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_GENERATED_ROWS) throw new Error(`'count' must be an integer from 1 to ${MAX_GENERATED_ROWS}`);
  if (typeof template !== "object" || template === null || Array.isArray(template)) throw new Error("'template' must be an object of column values");
  if (table.primaryIdAttribute in template) throw new Error(`a template can't set the primary key '${table.primaryIdAttribute}' (each row gets a new one)`);
  const entries = Object.entries(template).map(([key, value]) => ({ key, value, numeric: NUMERIC_TYPES.has(columnByProperty(table, key)?.type ?? "") }));
  const ids: string[] = [];
  for (let n = 1; n <= count; n++) {
    const row: Record<string, unknown> = {};
    for (const { key, value, numeric } of entries) {
      if (typeof value !== "string") row[key] = value;
      else {
        const text = value.replace(/\{n(?:%(\d+))?\}/g, (_m, mod?: string) => String(mod ? n % Number(mod) : n));
        row[key] = numeric && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      }
    }
    ids.push(seedRow(store, table, row));
  }
  return ids;
}

export function seedDefaults(store: Store): void {
  for (const [set, rows] of DEFAULT_ROWS) seedRows(store, tableBySet(set)!, rows);
  // Contoso's primary contact exists only now that the contacts are in.
  const accounts = tableBySet("accounts")!;
  const contoso = store.get(accounts, SEED_IDS.contosoAccount)!;
  store.update(accounts, contoso, { _primarycontactid_value: SEED_IDS.yvonneContact }, { modifiedon: at(6) });
}
