/** The Dataverse client: usable without Node-RED. */
export { DataverseClient, checkConnectionSettings } from "./client";
export type { ColumnInfo, ConnectionSettings, DataverseResult, TableInfo, UpdateMode, WhoAmI } from "./client";
export { DataverseError, ErrorCodes, asDataverseError } from "./errors";
export { CLOUDS } from "./clouds";
export type { Cloud } from "./clouds";
export type { TlsOptions } from "./transport";
export type { AlternateKey, KeyValue, Row, RowRef } from "./validate";
