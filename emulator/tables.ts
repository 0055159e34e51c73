// Table definitions of the emulated environment. Everything the Web API routes do with a table
// (validation, $select, keys, lookups, metadata) is driven by these definitions.

export type AttributeType =
  "Uniqueidentifier" | "String" | "Memo" | "Money" | "Integer" | "BigInt" | "Decimal" | "Boolean" | "DateTime" | "Picklist" | "Lookup";

export interface ColumnDef {
  /** Attribute logical name. For lookups the Web API property is `_<name>_value`. */
  name: string;
  type: AttributeType;
  displayName: string;
  /** Set by the platform; silently ignored when a client sends it (like the real service). */
  readOnly?: boolean;
  maxLength?: number;
  min?: number;
  max?: number;
  /** Digits after the decimal point (Decimal, Money); values are rounded on write. */
  precision?: number;
  /** Choice values (Picklist). */
  options?: ReadonlyArray<{ value: number; label: string }>;
  /** Lookups: logical name of the referenced table. */
  target?: string;
  /** Lookups: single-valued navigation property used by `@odata.bind` and `$expand`. */
  navigation?: string;
}

export interface AlternateKeyDef {
  name: string;
  displayName: string;
  columns: readonly string[];
}

/** Bulk messages a table may support; UpsertMultiple comes with both (see `supportsBulk`). */
export type BulkMessage = "CreateMultiple" | "UpdateMultiple" | "UpsertMultiple";

export interface TableDef {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  displayName: string;
  displayCollectionName: string;
  metadataId: string;
  objectTypeCode: number;
  isCustomEntity: boolean;
  columns: readonly ColumnDef[];
  alternateKeys: readonly AlternateKeyDef[];
  /**
   * CreateMultiple / UpdateMultiple support. Dataverse supports them on custom and many, not all,
   * standard tables; clients ask `sdkmessagefilters` and fall back to `$batch` where they are missing.
   */
  bulkMessages: ReadonlyArray<"CreateMultiple" | "UpdateMultiple">;
  /** Change tracking is on: `Prefer: odata.track-changes` gets a delta link (the table's "Track changes" setting). */
  changeTracking: boolean;
  /** Recomputes derived columns after a write (e.g. a contact's fullname). */
  compute?: (row: Record<string, unknown>) => void;
}

/** Columns every table has; the platform maintains them. */
const systemColumns = (): ColumnDef[] => [
  { name: "createdon", type: "DateTime", displayName: "Created On", readOnly: true },
  { name: "modifiedon", type: "DateTime", displayName: "Modified On", readOnly: true },
  { name: "versionnumber", type: "BigInt", displayName: "Version Number", readOnly: true },
];

const account: TableDef = {
  logicalName: "account",
  schemaName: "Account",
  entitySetName: "accounts",
  primaryIdAttribute: "accountid",
  primaryNameAttribute: "name",
  displayName: "Account",
  displayCollectionName: "Accounts",
  metadataId: "70816501-edb9-4740-a16c-6a5efbc05d84",
  objectTypeCode: 1,
  isCustomEntity: false,
  columns: [
    { name: "accountid", type: "Uniqueidentifier", displayName: "Account" },
    { name: "name", type: "String", displayName: "Account Name", maxLength: 160 },
    { name: "accountnumber", type: "String", displayName: "Account Number", maxLength: 20 },
    { name: "telephone1", type: "String", displayName: "Main Phone", maxLength: 50 },
    { name: "emailaddress1", type: "String", displayName: "Email", maxLength: 100 },
    { name: "address1_city", type: "String", displayName: "Address 1: City", maxLength: 80 },
    { name: "revenue", type: "Money", displayName: "Annual Revenue", min: 0, max: 100_000_000_000_000, precision: 2 },
    { name: "numberofemployees", type: "Integer", displayName: "Number of Employees", min: 0, max: 1_000_000_000 },
    { name: "description", type: "Memo", displayName: "Description", maxLength: 2000 },
    { name: "creditonhold", type: "Boolean", displayName: "Credit Hold" },
    {
      name: "primarycontactid",
      type: "Lookup",
      displayName: "Primary Contact",
      target: "contact",
      navigation: "primarycontactid",
    },
    // Set by the platform when a money value is written; not navigable in the emulator.
    { name: "transactioncurrencyid", type: "Lookup", displayName: "Currency", target: "transactioncurrency", readOnly: true },
    ...systemColumns(),
  ],
  alternateKeys: [{ name: "accountnumber_key", displayName: "Account Number Key", columns: ["accountnumber"] }],
  bulkMessages: ["CreateMultiple", "UpdateMultiple"],
  changeTracking: true,
};

const contact: TableDef = {
  logicalName: "contact",
  schemaName: "Contact",
  entitySetName: "contacts",
  primaryIdAttribute: "contactid",
  primaryNameAttribute: "fullname",
  displayName: "Contact",
  displayCollectionName: "Contacts",
  metadataId: "608861bc-50a4-4c5f-a02c-21fe1943e2cf",
  objectTypeCode: 2,
  isCustomEntity: false,
  columns: [
    { name: "contactid", type: "Uniqueidentifier", displayName: "Contact" },
    { name: "firstname", type: "String", displayName: "First Name", maxLength: 50 },
    { name: "lastname", type: "String", displayName: "Last Name", maxLength: 50 },
    { name: "fullname", type: "String", displayName: "Full Name", maxLength: 160, readOnly: true },
    { name: "emailaddress1", type: "String", displayName: "Email", maxLength: 100 },
    { name: "telephone1", type: "String", displayName: "Business Phone", maxLength: 50 },
    { name: "jobtitle", type: "String", displayName: "Job Title", maxLength: 100 },
    {
      name: "parentcustomerid",
      type: "Lookup",
      displayName: "Company Name",
      target: "account",
      navigation: "parentcustomerid_account",
    },
    ...systemColumns(),
  ],
  alternateKeys: [{ name: "contact_name_email_key", displayName: "First Name and Email Key", columns: ["firstname", "emailaddress1"] }],
  // Without bulk messages here, so clients exercise their `$batch` fallback.
  bulkMessages: [],
  changeTracking: true,
  compute(row) {
    const parts = [row.firstname, row.lastname].filter((p): p is string => typeof p === "string" && p !== "");
    row.fullname = parts.length ? parts.join(" ") : null;
  },
};

const iotDevice: TableDef = {
  logicalName: "dv_iotdevice",
  schemaName: "dv_IoTDevice",
  entitySetName: "dv_iotdevices",
  primaryIdAttribute: "dv_iotdeviceid",
  primaryNameAttribute: "dv_name",
  displayName: "IoT Device",
  displayCollectionName: "IoT Devices",
  metadataId: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
  objectTypeCode: 10_042,
  isCustomEntity: true,
  columns: [
    { name: "dv_iotdeviceid", type: "Uniqueidentifier", displayName: "IoT Device" },
    { name: "dv_name", type: "String", displayName: "Name", maxLength: 100 },
    { name: "dv_serialnumber", type: "String", displayName: "Serial Number", maxLength: 100 },
    { name: "dv_temperature", type: "Decimal", displayName: "Temperature (°C)", min: -100, max: 1000, precision: 2 },
    { name: "dv_humidity", type: "Decimal", displayName: "Humidity (%)", min: 0, max: 100, precision: 2 },
    { name: "dv_batterylevel", type: "Integer", displayName: "Battery Level (%)", min: 0, max: 100 },
    { name: "dv_lastreadingon", type: "DateTime", displayName: "Last Reading On" },
    {
      name: "dv_status",
      type: "Picklist",
      displayName: "Status",
      options: [
        { value: 100_000_000, label: "Online" },
        { value: 100_000_001, label: "Offline" },
        { value: 100_000_002, label: "Maintenance" },
        { value: 100_000_003, label: "Fault" },
      ],
    },
    { name: "dv_accountid", type: "Lookup", displayName: "Account", target: "account", navigation: "dv_accountid" },
    ...systemColumns(),
  ],
  alternateKeys: [{ name: "dv_serialnumber_key", displayName: "Serial Number Key", columns: ["dv_serialnumber"] }],
  bulkMessages: ["CreateMultiple", "UpdateMultiple"],
  // Off, as on a new custom table: the table without change tracking.
  changeTracking: false,
};

export const TABLES: readonly TableDef[] = [account, contact, iotDevice];

export const tableBySet = (entitySetName: string): TableDef | undefined => TABLES.find((t) => t.entitySetName === entitySetName);

export const tableByLogicalName = (logicalName: string): TableDef | undefined => TABLES.find((t) => t.logicalName === logicalName);

/** Name of a column as a Web API property: lookups are `_<name>_value`. */
export const propertyName = (c: ColumnDef): string => (c.type === "Lookup" ? `_${c.name}_value` : c.name);

/** Column by Web API property name (`name`, `_primarycontactid_value`, ...). */
export function columnByProperty(table: TableDef, property: string): ColumnDef | undefined {
  return table.columns.find((c) => propertyName(c) === property);
}

export function lookupByNavigation(table: TableDef, navigation: string): ColumnDef | undefined {
  return table.columns.find((c) => c.type === "Lookup" && c.navigation === navigation);
}

export const odataType = (table: TableDef): string => `Microsoft.Dynamics.CRM.${table.logicalName}`;

/** UpsertMultiple works where both CreateMultiple and UpdateMultiple do (Microsoft's rule). */
export function supportsBulk(table: TableDef, message: BulkMessage): boolean {
  if (message === "UpsertMultiple") return table.bulkMessages.includes("CreateMultiple") && table.bulkMessages.includes("UpdateMultiple");
  return table.bulkMessages.includes(message);
}
