// Dataverse Web API errors: HTTP status + platform error code + message, serialised as
// {"error":{"code":"0x...","message":"..."}} like the real service.
import { odataType, type TableDef } from "./tables";

export const CODES = {
  /** OData URI / payload error (bad property, syntax). */
  badRequest: "0x80060888",
  /** Payload value cannot be converted to the column type. */
  payload: "0x80048d19",
  /** Validation (length, range). */
  validation: "0x80044331",
  /** Choice value outside the option set. */
  picklistRange: "0x8004431a",
  notFoundById: "0x80040217",
  notFoundByKey: "0x80048d02",
  unknownSegment: "0x8006088a",
  duplicate: "0x80040237",
  versionMismatch: "0x80060882",
  notMember: "0x80072560",
  /** A privilege the caller lacks (SecLib::CheckPrivilege). */
  missingPrivilege: "0x80040220",
  unexpected: "0x80040216",
  /** Invalid argument (a request the platform refuses as a whole). */
  invalidArgument: "0x80040203",
  /** The message does not support the table (`The 'X' method does not support entities of type 'y'`). */
  messageNotSupported: "0x80040800",
  /** ChangeTrackingNotEnabledForEntity: `Entity x isn't enabled for change tracking.` */
  changeTrackingNotEnabled: "0x80072491",
  /** ExpiredVersionStamp: a change-tracking token older than ExpireChangeTrackingInDays. */
  expiredVersionStamp: "0x80044352",
  tooManyRequests: "0x80072322",
  executionTime: "0x80072321",
  concurrency: "0x80072326",
} as const;

export class DataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message } });
  }
}

export const badRequest = (message: string, code: string = CODES.badRequest): DataverseError => new DataverseError(400, code, message);

export const unknownProperty = (table: TableDef | string, name: string): DataverseError =>
  badRequest(`Could not find a property named '${name}' on type '${typeof table === "string" ? table : odataType(table)}'.`);

export const unknownSegment = (segment: string): DataverseError =>
  new DataverseError(404, CODES.unknownSegment, `Resource not found for the segment '${segment}'.`);

export const notFoundById = (table: TableDef, id: string): DataverseError =>
  new DataverseError(404, CODES.notFoundById, `${table.logicalName} With Id = ${id} Does Not Exist`);

export const notFoundByKey = (table: TableDef): DataverseError =>
  new DataverseError(404, CODES.notFoundByKey, `A record with the specified key values does not exist in ${table.logicalName} entity`);

export const duplicateRecord = (message = "A record with matching key values already exists."): DataverseError =>
  new DataverseError(412, CODES.duplicate, message);

export const versionMismatch = (): DataverseError =>
  new DataverseError(412, CODES.versionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");

export const methodNotAllowed = (method: string, allowed: string[]): DataverseError =>
  new DataverseError(405, CODES.badRequest, `The requested resource does not support http method '${method}'.`, {
    Allow: allowed.join(", "),
  });

/** Something real Dataverse does that this emulator deliberately leaves out. */
export const notImplemented = (what: string): DataverseError =>
  new DataverseError(501, CODES.badRequest, `${what} is not supported by the Dataverse emulator.`);
