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
  /**
   * Lookups with a navigation property: the relationship's schema name, which is also the
   * referenced table's collection-valued navigation property (`contact_customer_accounts`).
   */
  relationship?: string;
  /** Polymorphic lookups (customer, owner, regarding): the relationships to the other tables they accept. */
  moreTargets?: readonly LookupRelationship[];
}

/** One N:1 relationship of a lookup column: the table it points at, and its navigation properties. */
export interface LookupRelationship {
  target: string;
  navigation: string;
  relationship: string;
}

/** An N:N relationship: rows of two tables linked through an intersect table, no lookup column. */
export interface ManyToManyDef {
  schemaName: string;
  entity1: string;
  entity2: string;
  intersectEntity: string;
  /** For two different tables the real service names both navigation properties after the relationship. */
  navigation: string;
  metadataId: string;
}

/** A file or image column (AttributeType Virtual): its data is not a row value (see files.ts). */
export interface FileColumnDef {
  name: string;
  kind: "file" | "image";
  displayName: string;
  maxSizeInKB: number;
  /** Image columns: whether the full image is kept besides the thumbnail. */
  canStoreFullImage?: boolean;
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
  /** File and image columns. */
  files?: readonly FileColumnDef[];
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
  // Who wrote the row, and for whom an app acting for a user (CallerObjectId) wrote it. Not navigable here.
  { name: "createdby", type: "Lookup", displayName: "Created By", target: "systemuser", readOnly: true },
  { name: "createdonbehalfby", type: "Lookup", displayName: "Created By (Delegate)", target: "systemuser", readOnly: true },
  { name: "modifiedby", type: "Lookup", displayName: "Modified By", target: "systemuser", readOnly: true },
  { name: "modifiedonbehalfby", type: "Lookup", displayName: "Modified By (Delegate)", target: "systemuser", readOnly: true },
  { name: "owninguser", type: "Lookup", displayName: "Owning User", target: "systemuser", readOnly: true },
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
      relationship: "account_primary_contact",
    },
    // Set by the platform when a money value is written; not navigable in the emulator.
    { name: "transactioncurrencyid", type: "Lookup", displayName: "Currency", target: "transactioncurrency", readOnly: true },
    ...systemColumns(),
  ],
  files: [
    { name: "cr0a1_contract", kind: "file", displayName: "Contract", maxSizeInKB: 32 * 1024 },
    { name: "entityimage", kind: "image", displayName: "Default Image", maxSizeInKB: 10 * 1024, canStoreFullImage: true },
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
      relationship: "contact_customer_accounts",
      // A customer lookup: an account or a contact, one relationship (and navigation property) each.
      moreTargets: [{ target: "contact", navigation: "parentcustomerid_contact", relationship: "contact_customer_contacts" }],
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
    {
      name: "dv_accountid",
      type: "Lookup",
      displayName: "Account",
      target: "account",
      navigation: "dv_accountid",
      relationship: "dv_account_dv_iotdevice",
    },
    ...systemColumns(),
  ],
  alternateKeys: [{ name: "dv_serialnumber_key", displayName: "Serial Number Key", columns: ["dv_serialnumber"] }],
  bulkMessages: ["CreateMultiple", "UpdateMultiple"],
  // Off, as on a new custom table: the table without change tracking.
  changeTracking: false,
};

export const TABLES: readonly TableDef[] = [account, contact, iotDevice];

/** N:N relationships: contacts who look after IoT devices (a custom relationship, as a maker would add). */
export const MANY_TO_MANY: readonly ManyToManyDef[] = [
  {
    schemaName: "dv_iotdevice_contact",
    entity1: "dv_iotdevice",
    entity2: "contact",
    intersectEntity: "dv_iotdevice_contact",
    navigation: "dv_iotdevice_contact",
    metadataId: "5b0e7c1d-2f3a-4b6c-9d8e-7f6a5b4c3d2e",
  },
];

export const tableBySet = (entitySetName: string): TableDef | undefined => TABLES.find((t) => t.entitySetName === entitySetName);

export const tableByLogicalName = (logicalName: string): TableDef | undefined => TABLES.find((t) => t.logicalName === logicalName);

/** Name of a column as a Web API property: lookups are `_<name>_value`. */
export const propertyName = (c: ColumnDef): string => (c.type === "Lookup" ? `_${c.name}_value` : c.name);

/** Column by Web API property name (`name`, `_primarycontactid_value`, ...). */
export function columnByProperty(table: TableDef, property: string): ColumnDef | undefined {
  return table.columns.find((c) => propertyName(c) === property);
}

/** The N:1 relationships of a lookup column: one, or one per table a polymorphic lookup accepts. */
export function lookupRelationships(c: ColumnDef): LookupRelationship[] {
  if (c.type !== "Lookup" || !c.navigation || !c.relationship) return [];
  return [{ target: c.target!, navigation: c.navigation, relationship: c.relationship }, ...(c.moreTargets ?? [])];
}

/** The lookup column and relationship of a single-valued navigation property (case-sensitive, like the service). */
export function lookupNavigation(table: TableDef, navigation: string): { column: ColumnDef; relationship: LookupRelationship } | undefined {
  for (const column of table.columns) {
    const relationship = lookupRelationships(column).find((r) => r.navigation === navigation);
    if (relationship) return { column, relationship };
  }
  return undefined;
}

export function lookupByNavigation(table: TableDef, navigation: string): ColumnDef | undefined {
  return lookupNavigation(table, navigation)?.column;
}

/** Tables a lookup column may point at. */
export const lookupTargets = (c: ColumnDef): string[] => [c.target!, ...(c.moreTargets ?? []).map((r) => r.target)];

export const odataType = (table: TableDef): string => `Microsoft.Dynamics.CRM.${table.logicalName}`;

/** UpsertMultiple works where both CreateMultiple and UpdateMultiple do (Microsoft's rule). */
export function supportsBulk(table: TableDef, message: BulkMessage): boolean {
  if (message === "UpsertMultiple") return table.bulkMessages.includes("CreateMultiple") && table.bulkMessages.includes("UpdateMultiple");
  return table.bulkMessages.includes(message);
}
