/**
 * A Dataverse connection: settings checked once, one transport, one token provider, one request
 * pipeline and one metadata cache, and one-line entry points to the operations in operations/.
 * Plain TypeScript with no Node-RED import, usable on its own.
 */
import { withConnectionString } from "./connection-string-settings";
import { connectionError, DataverseError, ErrorCodes } from "./errors";
import { MetadataCache, type ColumnInfo, type TableInfo } from "./metadata";
import { OperationCatalog, type OperationInfo } from "./operation-catalog";
import { callOperation, type OperationOptions } from "./operations/action";
import { apiPath, checkApiVersion } from "./odata";
import { runBatch, type BatchOutcome } from "./operations/batch";
import { checkChangesInput, readChanges, type ChangeBatch, type ChangesInput } from "./operations/changes";
import { create, type CreateOptions } from "./operations/create";
import type { CallOptions, OperationContext } from "./operations/context";
import { deleteRow, type DeleteOptions } from "./operations/delete";
import { fetchXmlQuery } from "./operations/fetchxml";
import { deleteFile, downloadFile, uploadFile, type FileResult } from "./operations/file";
import { checkQueryOptions, odataQuery, type ODataQuery } from "./operations/query";
import { relate, type RelateInput, type RelateTargetResult } from "./operations/relate";
import { retrieve, type RetrieveOptions } from "./operations/retrieve";
import { checkRequestOptions, hasRequestOptions } from "./operations/request-options";
import { update, type UpdateOptions } from "./operations/update";
import { whoAmI, type WhoAmI } from "./operations/whoami";
import { BulkSizer } from "./bulk";
import { RequestPipeline } from "./pipeline";
import { proxyRoute } from "./proxy";
import type { ApiRequest, ApiResponse, Page } from "./request";
import type { DataverseResult } from "./response";
import { RequestScheduler } from "./scheduler";
import { signInMethod, type SignInSettings } from "./signin";
import { TokenProvider } from "./tokens";
import { createTransport, msalNetworkClient, type TlsOptions, type Transport } from "./transport";
import { checkEnvironmentUrl, checkTable } from "./validate";

export interface ConnectionSettings extends SignInSettings {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com */
  url: string;
  /** Directory (tenant) ID or domain. */
  tenant?: string;
  /** public (default), gcc, gcchigh, dod, china or custom. */
  cloud?: string;
  /** Sign-in host when cloud is custom, e.g. login.example.com or https://login.example.com:8443 */
  authority?: string;
  /** How the connection signs in: secret (default); see signin/. */
  authType?: string;
  clientId?: string;
  clientSecret?: string;
  tls?: TlsOptions;
  /** Web API version of the path /api/data/v<apiVersion>/, default 9.2 (on-premises servers run older ones). */
  apiVersion?: string;
  /** Proxy URL for sign-in and the Web API; empty means HTTPS_PROXY / NO_PROXY. */
  proxy?: string;
  proxyUsername?: string;
  proxyPassword?: string;
  /** A .NET connection string (AuthType=ClientSecret;Url=…); its values fill the settings left empty. */
  connectionString?: string;
  /** Per-request timeout, default 60 s: a request that takes longer is aborted and retried as transient. */
  timeoutMs?: number;
  /** Requests in flight at once, default 8 (Dataverse allows 52 per user; x-ms-dop-hint lowers it). */
  concurrency?: number;
  /** Messages that may wait for their turn, default 10,000; one more fails at once with "queue full". */
  queueLimit?: number;
  /** How long a message may wait on service protection (429) pauses before failing, default 5 minutes. */
  maxThrottleWaitMs?: number;
  /** Retries of transient failures (502/503/504, resets, timeouts), default 5. */
  maxRetries?: number;
  /** On close, how long requests in flight may take to finish before they are aborted, default 5 s. */
  closeGraceMs?: number;
  /** auto (default): waiting writes of one kind and table go as one bulk request; off: each alone. */
  bulk?: string;
  /** Writes per bulk request at most, 1 to 1,000, default 100. */
  bulkSize?: number;
}

export interface ClientHooks {
  /** The connection paused for service protection until `resumeAt`, or resumed (undefined). */
  onPause?: (resumeAt: number | undefined) => void;
}

/** Checks settings without building anything; throws the first problem as a DataverseError. */
export function checkConnectionSettings(settings: Partial<ConnectionSettings>): void {
  checkEnvironmentUrl(settings.url);
  signInMethod(settings).check(settings);
  checkApiVersion(settings.apiVersion);
  proxyRoute(settings); // a bad proxy URL, set or from the environment, fails here
  checkRange("concurrency", settings.concurrency, 1, 52, "Concurrent requests");
  checkRange("queueLimit", settings.queueLimit, 1, 10_000_000, "Queue limit");
  checkRange("maxRetries", settings.maxRetries, 0, 20, "Retries");
  checkRange("maxThrottleWait", settings.maxThrottleWaitMs, 0, 24 * 3_600_000, "Maximum throttle wait", 1000);
  checkRange("timeout", settings.timeoutMs, 1000, 3_600_000, "Timeout", 1000);
  if (settings.bulk !== undefined && settings.bulk !== "" && settings.bulk !== "auto" && settings.bulk !== "off") {
    throw connectionError("bulk", `Bulk writes must be auto or off, not '${settings.bulk}'`);
  }
  checkRange("bulkSize", settings.bulkSize, 1, 1000, "Bulk size");
}

function checkRange(field: string, value: number | undefined, min: number, max: number, label: string, unit = 1): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    const what = unit === 1 ? `a whole number from ${min} to ${max}` : `a number of seconds from ${min / unit} to ${max / unit}`;
    throw connectionError(field, `${label} must be ${what}, not ${Number.isNaN(value) ? "text" : value / unit}`);
  }
}

/** What a query node asks for: OData or FetchXML, how many rows, and where to resume. */
export interface QueryInput extends ODataQuery {
  queryType?: unknown;
  fetchXml?: unknown;
  pageSize?: unknown;
  maxRows?: unknown;
  count?: unknown;
  formattedValues?: unknown;
  /** Resume an OData query at this @odata.nextLink. */
  nextLink?: unknown;
  /** Resume a FetchXML query at this paging cookie and page. */
  pagingCookie?: unknown;
  page?: unknown;
}

/** Lookups that writes wait on answer within this, or the writes go on without them. */
const MAX_LOOKUP_TIMEOUT_MS = 10_000;

export class DataverseClient {
  readonly environmentUrl: string;
  private readonly closeGraceMs: number;
  private readonly transport: Transport;
  private readonly scheduler: RequestScheduler;
  private readonly pipeline: RequestPipeline;
  /** Tables and columns of this environment, shared by every operation and the editor. */
  readonly metadata: MetadataCache;
  private readonly context: OperationContext;
  /** The environment's actions and functions, read from $metadata only when the editor asks. */
  private readonly operations: OperationCatalog;
  private closed = false;

  constructor(given: ConnectionSettings, hooks: ClientHooks = {}) {
    const settings = withConnectionString(given);
    checkConnectionSettings(settings);
    this.environmentUrl = checkEnvironmentUrl(settings.url);
    const apiBase = this.environmentUrl + apiPath(checkApiVersion(settings.apiVersion));
    const timeoutMs = settings.timeoutMs ?? 60_000;
    this.closeGraceMs = settings.closeGraceMs ?? 5_000;
    this.transport = createTransport(settings.tls, timeoutMs, proxyRoute(settings));
    const environmentUrl = this.environmentUrl;
    const tokens = new TokenProvider({
      credential: (networkClient) => signInMethod(settings).create(settings, { environmentUrl, networkClient }),
      networkClient: (observer) => msalNetworkClient(this.transport.http, observer),
    });
    const sizer = new BulkSizer(settings.bulkSize ?? 100);
    this.scheduler = new RequestScheduler({
      concurrency: settings.concurrency ?? 8,
      queueLimit: settings.queueLimit ?? 10_000,
      maxThrottleWaitMs: settings.maxThrottleWaitMs ?? 5 * 60_000,
      maxRetries: settings.maxRetries ?? 5,
      onPause: hooks.onPause,
      combine: (items, signal) => this.pipeline.combine(items as ApiRequest[], signal, sizer),
      groupSize: () => sizer.size,
    });
    this.pipeline = new RequestPipeline({
      apiBase,
      clientId: settings.clientId?.trim() ?? "",
      timeoutMs,
      transport: this.transport,
      tokens,
      scheduler: this.scheduler,
    });
    const send = (req: ApiRequest, signal?: AbortSignal): Promise<ApiResponse> =>
      this.closed ? Promise.reject(closedError()) : this.pipeline.send(req, signal);
    // Half the request timeout, so a write that waited on a lookup still ends within twice its timeout.
    this.metadata = new MetadataCache(send, Math.min(MAX_LOOKUP_TIMEOUT_MS, Math.ceil(timeoutMs / 2)));
    this.context = { send, metadata: this.metadata, apiBase, bulk: settings.bulk !== "off" };
    this.operations = new OperationCatalog(send);
  }

  async whoAmI(options: CallOptions = {}): Promise<DataverseResult<WhoAmI>> {
    return whoAmI(this.contextFor(options), options);
  }

  async retrieve(table: unknown, rowId: unknown, options: RetrieveOptions = {}): Promise<DataverseResult> {
    return retrieve(this.contextFor(options), table, rowId, options);
  }

  async create(table: unknown, row: unknown, options: CreateOptions = {}): Promise<DataverseResult> {
    return create(this.contextFor(options), table, row, options);
  }

  async update(table: unknown, rowId: unknown, row: unknown, options: UpdateOptions = {}): Promise<DataverseResult> {
    return update(this.contextFor(options), table, rowId, row, options);
  }

  async delete(table: unknown, rowId: unknown, options: DeleteOptions = {}): Promise<DataverseResult> {
    return deleteRow(this.contextFor(options), table, rowId, options);
  }

  /** Associates or disassociates rows through a 1:N or N:N relationship. */
  async relate(input: RelateInput, options: CallOptions = {}): Promise<DataverseResult<RelateTargetResult[]>> {
    return relate(this.contextFor(options), input, options);
  }

  /** An action (POST, a write) or a function (GET, a read), unbound or bound to options.table / options.rowId. */
  async callOperation(kind: unknown, operation: unknown, parameters: unknown, options: OperationOptions = {}): Promise<DataverseResult<unknown>> {
    return callOperation(this.contextFor(options), kind, operation, parameters, options);
  }

  /** Puts a file into a row's file or image column (in chunks when it is over 4 MB). */
  async uploadFile(table: unknown, rowId: unknown, column: unknown, content: unknown, fileName: unknown, options: CallOptions = {}): Promise<FileResult> {
    return uploadFile(this.contextFor(options), table, rowId, column, content, fileName, options);
  }

  /** The file in a row's file or image column (images at full size), in `file`. */
  async downloadFile(table: unknown, rowId: unknown, column: unknown, options: CallOptions = {}): Promise<FileResult> {
    return downloadFile(this.contextFor(options), table, rowId, column, options);
  }

  async deleteFile(table: unknown, rowId: unknown, column: unknown, options: CallOptions = {}): Promise<FileResult> {
    return deleteFile(this.contextFor(options), table, rowId, column, options);
  }

  /** Several operations in one $batch request (atomic: all or nothing). */
  async batch(operations: unknown, options: CallOptions & { atomic?: boolean } = {}): Promise<BatchOutcome> {
    return runBatch(this.contextFor(options), operations, options);
  }

  /**
   * The pages of a query, fetched one at a time as the caller asks for the next. Bad input rejects
   * before any request is sent.
   */
  async query(input: QueryInput, options: CallOptions = {}): Promise<AsyncGenerator<Page>> {
    const queryOptions = checkQueryOptions(input);
    const context = this.contextFor(options);
    if (input.queryType === "fetchxml") return fetchXmlQuery(context, input.fetchXml, queryOptions, options, input);
    if (input.queryType !== undefined && input.queryType !== "odata") {
      throw new DataverseError({
        message: `queryType must be odata or fetchxml, not '${String(input.queryType)}'`,
        code: ErrorCodes.invalidInput,
        field: "queryType",
      });
    }
    return odataQuery(context, input, queryOptions, options, input);
  }

  /**
   * The operation context of one call: its request options checked (a bad one rejects the call before
   * anything is sent) and put on every request the operation sends; metadata lookups go without them.
   */
  private contextFor(options: CallOptions): OperationContext {
    const requestOptions = checkRequestOptions(options.requestOptions);
    if (!hasRequestOptions(requestOptions)) return this.context;
    const send = this.context.send;
    return { ...this.context, requestOptions, send: (req, signal) => send({ ...req, options: requestOptions }, signal) };
  }

  /**
   * The changes to a table since `saved` (a ChangePosition of an earlier read), page by page; each page
   * says where the next read starts once its changes were sent on. Bad input throws at once.
   */
  changes(input: ChangesInput, saved?: unknown, options: CallOptions = {}): AsyncGenerator<ChangeBatch> {
    return readChanges(this.context, checkChangesInput(input), saved, options);
  }

  /** Messages of the caller with this signal that wait for their turn (not in flight). */
  waiting(signal: AbortSignal): number {
    return this.scheduler.waitingFor(signal);
  }

  /** The environment's tables that have an entity set (what the table field takes), by display name. */
  listTables(): Promise<TableInfo[]> {
    return this.metadata.tables();
  }

  /** The columns of a table given by its entity set name or logical name. */
  listColumns(table: unknown): Promise<ColumnInfo[]> {
    return this.metadata.columns(checkTable(table));
  }

  /** The environment's actions and functions (Microsoft's, custom process actions, custom APIs), by name. */
  listOperations(): Promise<OperationInfo[]> {
    return this.operations.list();
  }

  /**
   * Stops taking work and ends every call: waiting ones at once (unsent), in-flight ones when they
   * finish or after the close grace period; then closes the keep-alive sockets.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.close(this.closeGraceMs);
    this.transport.close();
  }
}

function closedError(): DataverseError {
  return new DataverseError({ message: "The Dataverse connection was closed (flows stopped or redeployed)", code: ErrorCodes.closed, retryable: true });
}
