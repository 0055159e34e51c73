/** The Dataverse client: usable without Node-RED. */
export { DataverseClient, checkConnectionSettings } from "./client";
export type { ConnectionSettings, QueryInput } from "./client";
export type { ColumnInfo, TableInfo } from "./metadata";
export type { OperationInfo, OperationParameter } from "./operation-catalog";
export type { Page } from "./request";
export type { BatchOutcome, BatchResult } from "./operations/batch";
export type { DataverseResult } from "./response";
export type { FileResult } from "./operations/file";
export type { Change, ChangeBatch, ChangePosition, ChangesInput } from "./operations/changes";
export type { UpdateMode } from "./operations/update";
export type { RelateInput, RelateTargetResult } from "./operations/relate";
export type { WhoAmI } from "./operations/whoami";
export { DataverseError, ErrorCodes, asDataverseError } from "./errors";
export { CLOUDS } from "./clouds";
export type { Cloud } from "./clouds";
export type { TlsOptions } from "./transport";
export type { AlternateKey, KeyValue, Row, RowRef } from "./validate";
