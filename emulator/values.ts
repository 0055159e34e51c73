// Column values: checking and normalising what clients send, and the display strings that
// `OData.Community.Display.V1.FormattedValue` annotations carry.
import { badRequest, CODES } from "./errors";
import type { ColumnDef, TableDef } from "./tables";
import { isGuid, isoSeconds } from "./util";

export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;

const EDM_TYPE: Record<ColumnDef["type"], string> = {
  Uniqueidentifier: "Edm.Guid",
  Lookup: "Edm.Guid",
  String: "Edm.String",
  Memo: "Edm.String",
  Money: "Edm.Decimal",
  Decimal: "Edm.Decimal",
  Integer: "Edm.Int32",
  Picklist: "Edm.Int32",
  BigInt: "Edm.Int64",
  Boolean: "Edm.Boolean",
  DateTime: "Edm.DateTimeOffset",
};

export const edmType = (c: ColumnDef): string => EDM_TYPE[c.type];

const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/** Parses an OData date or date-time; a value without zone is UTC (as Dataverse stores it). */
export function parseDateTime(text: string): number | undefined {
  if (!ISO_DATE_RE.test(text)) return undefined;
  const withZone = /T/i.test(text) && !/(Z|[+-]\d{2}:\d{2})$/i.test(text) ? `${text}Z` : text;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The wording of the real service for a value the OData reader cannot convert. */
function payloadError(table: TableDef, inner: string) {
  return badRequest(
    `Error identified in Payload provided by the user for Entity :'${table.logicalName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: ${inner}`,
    CODES.payload,
  );
}

/** Converts a JSON value sent by a client for `column`, enforcing type, length and range. */
export function coerceValue(table: TableDef, column: ColumnDef, raw: unknown): Value {
  if (raw === null) return null;
  const edm = edmType(column);
  const literal = () => payloadError(table, `Cannot convert the literal '${String(raw)}' to the expected type '${edm}'.`);
  const primitive = () => payloadError(table, `Cannot convert a primitive value to the expected type '${edm}'. See the inner exception for more details.`);
  if (typeof raw === "object") {
    throw payloadError(
      table,
      `A node of type '${Array.isArray(raw) ? "StartArray" : "StartObject"}' was read from the JSON reader when trying to read a value of a property; however, a 'PrimitiveValue' node was expected.`,
    );
  }

  switch (column.type) {
    case "String":
    case "Memo": {
      if (typeof raw !== "string") throw primitive();
      if (column.maxLength !== undefined && raw.length > column.maxLength) {
        throw badRequest(
          `A validation error occurred.  The length of the '${column.name}' attribute of the '${table.logicalName}' entity exceeded the maximum allowed length of '${column.maxLength}'.`,
          CODES.validation,
        );
      }
      return raw;
    }
    case "Integer":
    case "BigInt":
    case "Picklist": {
      if (typeof raw !== "number") throw typeof raw === "string" ? literal() : primitive();
      if (!Number.isInteger(raw)) throw literal();
      if (column.options && !column.options.some((o) => o.value === raw)) {
        throw badRequest(
          `A validation error occurred.  The value ${raw} of '${column.name}' on record of type '${table.logicalName}' is outside the valid range. Accepted Values: ${column.options.map((o) => o.value).join(",")}`,
          CODES.picklistRange,
        );
      }
      return checkRange(table, column, raw);
    }
    case "Money":
    case "Decimal": {
      if (typeof raw !== "number") throw typeof raw === "string" ? literal() : primitive();
      const factor = 10 ** (column.precision ?? 2);
      return checkRange(table, column, Math.round(raw * factor) / factor);
    }
    case "Boolean":
      if (typeof raw !== "boolean") throw typeof raw === "string" ? literal() : primitive();
      return raw;
    case "DateTime": {
      if (typeof raw !== "string") throw primitive();
      const ms = parseDateTime(raw);
      if (ms === undefined) throw literal();
      return isoSeconds(ms);
    }
    case "Uniqueidentifier":
    case "Lookup":
      if (typeof raw !== "string") throw primitive();
      if (!isGuid(raw)) throw literal();
      return raw.toLowerCase();
  }
}

function checkRange(table: TableDef, column: ColumnDef, value: number): number {
  if ((column.min !== undefined && value < column.min) || (column.max !== undefined && value > column.max)) {
    throw badRequest(
      `A validation error occurred.  The value ${value} of '${column.name}' on record of type '${table.logicalName}' is outside the valid range. Accepted range: ${column.min} to ${column.max}`,
      CODES.validation,
    );
  }
  return value;
}

/** Display string of a value as the service formats it for an en-US user in UTC. */
export function formattedValue(column: ColumnDef, value: Value, lookupName: (c: ColumnDef, id: string) => string | undefined): string | undefined {
  if (value === null) return undefined;
  switch (column.type) {
    case "Boolean":
      return value ? "Yes" : "No";
    case "Picklist":
      return column.options?.find((o) => o.value === value)?.label;
    case "Money":
      return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(value as number);
    case "Integer":
      return new Intl.NumberFormat("en-US").format(value as number);
    case "Decimal": {
      const digits = column.precision ?? 2;
      return new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value as number);
    }
    case "DateTime":
      return new Intl.DateTimeFormat("en-US", {
        timeZone: "UTC",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "2-digit",
      })
        .format(new Date(value as string))
        .replace(",", "")
        .replace(/\u202f/g, " ");
    case "Lookup":
      return lookupName(column, value as string);
    default:
      return undefined;
  }
}
