/**
 * A Dataverse connection: settings checked once, one transport, one token provider, and the Web API
 * operations the nodes offer. Plain TypeScript with no Node-RED import, usable on its own.
 */
import { randomUUID } from "node:crypto";
import type { AxiosResponse } from "axios";
import { checkTenant, resolveAuthority } from "./clouds";
import { asDataverseError, connectionError, DataverseError, ErrorCodes, fromDataverseResponse, fromNetworkError, inputError } from "./errors";
import { RequestScheduler, type AttemptOutcome } from "./scheduler";
import { API_PATH, cleanRow, etagOf, idFromEntityId, JSON_CONTENT_TYPE, ODATA_HEADERS, queryString, retryAfterSeconds, rowPath } from "./odata";
import { TokenProvider } from "./tokens";
import { createTransport, flattenHeaders, msalNetworkClient, type TlsOptions, type Transport } from "./transport";
import { checkEnvironmentUrl, checkEtag, checkExpand, checkRow, checkRowId, checkSelect, checkTable, isGuid, type Row } from "./validate";

export interface ConnectionSettings {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com */
  url: string;
  /** Directory (tenant) ID or domain. */
  tenant: string;
  /** public (default), gcc, gcchigh, dod, china or custom. */
  cloud?: string;
  /** Sign-in host when cloud is custom, e.g. login.example.com or https://login.example.com:8443 */
  authority?: string;
  /** Only "secret" (client secret) for now. */
  authType?: string;
  clientId: string;
  clientSecret: string;
  tls?: TlsOptions;
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
}

export interface ClientHooks {
  /** The connection paused for service protection until `resumeAt`, or resumed (undefined). */
  onPause?: (resumeAt: number | undefined) => void;
}

/** Options every operation takes. */
export interface CallOptions {
  /** Withdraws the call: a call still waiting ends at once, unsent. */
  signal?: AbortSignal;
}

export interface DataverseResult<T = Row> {
  status: number;
  row?: T;
  rowId?: string;
  etag?: string;
  requestId?: string;
}

export interface WhoAmI {
  UserId: string;
  BusinessUnitId: string;
  OrganizationId: string;
}

export type UpdateMode = "update" | "upsert";

export interface TableInfo {
  logicalName: string;
  entitySetName: string;
  displayName: string;
  primaryIdAttribute?: string;
  primaryNameAttribute?: string;
}

export interface ColumnInfo {
  logicalName: string;
  type: string;
  displayName: string;
}

interface ApiRequest {
  method: "GET" | "POST" | "PATCH";
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  table?: string;
  /** Sending it twice leaves the same result, so it may be retried after an unanswered attempt. */
  idempotent: boolean;
  /**
   * A 412 after an unanswered attempt may be that attempt's own success (a create with our id):
   * this checks, and returns the response to use instead.
   */
  confirmAfter412?: (token: string, signal: AbortSignal) => Promise<ApiResponse | undefined>;
}

/** Network failures where the request cannot have reached Dataverse. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);
const GATEWAY_STATUS = new Set([502, 503, 504]);

interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Checks settings without building anything; throws the first problem as a DataverseError. */
export function checkConnectionSettings(settings: Partial<ConnectionSettings>): void {
  checkEnvironmentUrl(settings.url);
  const tenant = checkTenant(settings.tenant);
  resolveAuthority(settings.cloud, tenant, settings.authority);
  if (settings.authType && settings.authType !== "secret") {
    throw connectionError("authType", `Authentication type '${settings.authType}' is not supported; use secret (client secret)`);
  }
  const clientId = settings.clientId?.trim();
  if (!clientId)
    throw connectionError("clientId", "The connection has no client ID: set the Application (client) ID from the app registration's Overview page");
  if (!isGuid(clientId)) throw connectionError("clientId", "The client ID must be the app registration's Application (client) ID, a GUID");
  if (!settings.clientSecret)
    throw connectionError(
      "clientSecret",
      "The connection has no client secret: create one under the app registration's Certificates & secrets and paste its Value",
    );
  checkRange("concurrency", settings.concurrency, 1, 52, "Concurrent requests");
  checkRange("queueLimit", settings.queueLimit, 1, 10_000_000, "Queue limit");
  checkRange("maxRetries", settings.maxRetries, 0, 20, "Retries");
  checkRange("maxThrottleWait", settings.maxThrottleWaitMs, 0, 24 * 3_600_000, "Maximum throttle wait", 1000);
  checkRange("timeout", settings.timeoutMs, 1000, 3_600_000, "Timeout", 1000);
}

function checkRange(field: string, value: number | undefined, min: number, max: number, label: string, unit = 1): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    const what = unit === 1 ? `a whole number from ${min} to ${max}` : `a number of seconds from ${min / unit} to ${max / unit}`;
    throw connectionError(field, `${label} must be ${what}, not ${Number.isNaN(value) ? "text" : value / unit}`);
  }
}

export class DataverseClient {
  readonly environmentUrl: string;
  private readonly apiBase: string;
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly transport: Transport;
  private readonly tokens: TokenProvider;
  private readonly scheduler: RequestScheduler;
  private readonly primaryIdAttributes = new Map<string, Promise<string | undefined>>();
  private closed = false;

  constructor(settings: ConnectionSettings, hooks: ClientHooks = {}) {
    checkConnectionSettings(settings);
    this.environmentUrl = checkEnvironmentUrl(settings.url);
    this.apiBase = this.environmentUrl + API_PATH;
    this.clientId = settings.clientId.trim();
    this.timeoutMs = settings.timeoutMs ?? 60_000;
    this.closeGraceMs = settings.closeGraceMs ?? 5_000;
    const tenant = checkTenant(settings.tenant);
    const authority = resolveAuthority(settings.cloud, tenant, settings.authority);
    this.transport = createTransport(settings.tls, this.timeoutMs);
    this.tokens = new TokenProvider({
      clientId: this.clientId,
      clientSecret: settings.clientSecret,
      authority: authority.authority,
      knownAuthorities: authority.knownAuthorities,
      scope: `${this.environmentUrl}/.default`,
      signIn: { clientId: this.clientId, tenant, url: this.environmentUrl, authorityHost: authority.host },
      networkClient: (observer) => msalNetworkClient(this.transport.http, observer),
    });
    this.scheduler = new RequestScheduler({
      concurrency: settings.concurrency ?? 8,
      queueLimit: settings.queueLimit ?? 10_000,
      maxThrottleWaitMs: settings.maxThrottleWaitMs ?? 5 * 60_000,
      maxRetries: settings.maxRetries ?? 5,
      onPause: hooks.onPause,
    });
  }

  async whoAmI(options: CallOptions = {}): Promise<DataverseResult<WhoAmI>> {
    const res = await this.send({ method: "GET", path: "WhoAmI", idempotent: true }, options.signal);
    const body = (res.body ?? {}) as Partial<WhoAmI>;
    return {
      ...meta(res),
      row: { UserId: String(body.UserId), BusinessUnitId: String(body.BusinessUnitId), OrganizationId: String(body.OrganizationId) },
    };
  }

  async retrieve(table: unknown, rowId: unknown, options: CallOptions & { select?: unknown; expand?: unknown } = {}): Promise<DataverseResult> {
    const set = checkTable(table);
    const ref = checkRowId(rowId);
    const query = queryString({ select: checkSelect(options.select), expand: checkExpand(options.expand) });
    const res = await this.send({ method: "GET", path: rowPath(set, ref) + query, table: set, idempotent: true }, options.signal);
    const row = cleanRow(asRow(res.body));
    return { ...meta(res), row, rowId: "id" in ref ? ref.id : await this.idOfRow(set, row, options.signal), etag: etagOf(res.body, res.headers.etag) };
  }

  /**
   * Creates a row. The row gets an id chosen here (unless it has one), so that retrying a create whose
   * answer was lost cannot make a second row: the retry meets its own row (412), which is then confirmed.
   */
  async create(table: unknown, row: unknown, options: CallOptions & { returnRow?: boolean } = {}): Promise<DataverseResult> {
    const set = checkTable(table);
    let body = checkRow(row);
    const idColumn = await this.primaryIdAttribute(set, options.signal);
    let id: string | undefined;
    if (idColumn) {
      const given = body[idColumn];
      if (given === undefined) {
        id = randomUUID();
        body = { ...body, [idColumn]: id };
      } else if (typeof given === "string" && isGuid(given)) {
        id = given.toLowerCase();
      }
    }
    const res = await this.send(
      {
        method: "POST",
        path: set,
        body,
        table: set,
        headers: preferReturn(options.returnRow),
        idempotent: id !== undefined,
        confirmAfter412: id ? (token, signal) => this.confirmCreated(set, id, options.returnRow === true, token, signal) : undefined,
      },
      options.signal,
    );
    return this.writeResult(set, res, id, options.signal);
  }

  async update(
    table: unknown,
    rowId: unknown,
    row: unknown,
    options: CallOptions & { mode?: unknown; etag?: unknown; returnRow?: boolean } = {},
  ): Promise<DataverseResult> {
    const set = checkTable(table);
    const ref = checkRowId(rowId);
    const body = checkRow(row);
    const mode = options.mode ?? "update";
    if (mode !== "update" && mode !== "upsert") throw inputError("mode", `mode must be update or upsert, not '${String(mode)}'`);
    const etag = checkEtag(options.etag);
    // update-only: If-Match * makes a missing row a 404 instead of creating it; an etag makes it conditional.
    const condition = etag ? { "If-Match": etag } : mode === "update" ? { "If-Match": "*" } : undefined;
    // Repeating an upsert or an update-if-exists leaves the same row; an etag-conditional write does not.
    const res = await this.send(
      { method: "PATCH", path: rowPath(set, ref), body, table: set, headers: { ...condition, ...preferReturn(options.returnRow) }, idempotent: !etag },
      options.signal,
    );
    return this.writeResult(set, res, "id" in ref ? ref.id : undefined, options.signal);
  }

  /** The environment's tables that have an entity set (what the table field takes), by display name. */
  async listTables(): Promise<TableInfo[]> {
    const res = await this.send({
      method: "GET",
      path: "EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute",
      idempotent: true,
    });
    const tables = valuesOf(res.body)
      .filter((t) => typeof t.EntitySetName === "string" && t.EntitySetName)
      .map((t) => ({
        logicalName: String(t.LogicalName),
        entitySetName: String(t.EntitySetName),
        displayName: labelOf(t.DisplayName) || String(t.LogicalName),
        ...(t.PrimaryIdAttribute ? { primaryIdAttribute: String(t.PrimaryIdAttribute) } : {}),
        ...(t.PrimaryNameAttribute ? { primaryNameAttribute: String(t.PrimaryNameAttribute) } : {}),
      }));
    return tables.sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /** The columns of a table given by its entity set name, by logical name. */
  async listColumns(table: unknown): Promise<ColumnInfo[]> {
    const set = checkTable(table);
    const found = await this.send({
      method: "GET",
      path: `EntityDefinitions?$select=LogicalName&$filter=EntitySetName eq '${set}'`,
      table: set,
      idempotent: true,
    });
    const logicalName = valuesOf(found.body)[0]?.LogicalName;
    if (typeof logicalName !== "string") {
      throw new DataverseError({
        message: `Table '${set}' does not exist. Use the entity set name (plural, for example accounts)`,
        status: 404,
        code: "0x8006088a",
      });
    }
    const res = await this.send({
      method: "GET",
      path: `EntityDefinitions(LogicalName='${logicalName}')/Attributes?$select=LogicalName,AttributeType,DisplayName`,
      table: set,
      idempotent: true,
    });
    return valuesOf(res.body)
      .map((a) => ({ logicalName: String(a.LogicalName), type: String(a.AttributeType ?? ""), displayName: labelOf(a.DisplayName) || String(a.LogicalName) }))
      .sort((a, b) => a.logicalName.localeCompare(b.logicalName));
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

  private async writeResult(table: string, res: ApiResponse, knownId: string | undefined, signal?: AbortSignal): Promise<DataverseResult> {
    const idFromHeader = idFromEntityId(res.headers["odata-entityid"]);
    if (res.status === 204) return { ...meta(res), rowId: knownId ?? idFromHeader };
    const row = cleanRow(asRow(res.body));
    return { ...meta(res), row, rowId: knownId ?? idFromHeader ?? (await this.idOfRow(table, row, signal)), etag: etagOf(res.body, res.headers.etag) };
  }

  /** After an unanswered create, a 412 for our own id means that create went through: fetch what it made. */
  private async confirmCreated(table: string, id: string, returnRow: boolean, token: string, signal: AbortSignal): Promise<ApiResponse | undefined> {
    const found = await this.exchange({ method: "GET", path: rowPath(table, { id }), idempotent: true }, token, signal);
    if (found.status !== 200) return undefined;
    const entityId = `${this.apiBase}${rowPath(table, { id })}`;
    return returnRow
      ? { status: 201, headers: { ...found.headers, "odata-entityid": entityId }, body: found.body }
      : { status: 204, headers: { ...found.headers, "odata-entityid": entityId }, body: "" };
  }

  /** A returned row's id, through the table's primary id column. */
  private async idOfRow(table: string, row: Row, signal?: AbortSignal): Promise<string | undefined> {
    const name = await this.primaryIdAttribute(table, signal);
    const id = name ? row[name] : undefined;
    return typeof id === "string" ? id : undefined;
  }

  /** The table's primary id column, looked up once per table; undefined when metadata cannot be read. */
  private primaryIdAttribute(table: string, signal?: AbortSignal): Promise<string | undefined> {
    let attribute = this.primaryIdAttributes.get(table);
    if (!attribute) {
      attribute = this.send(
        { method: "GET", path: `EntityDefinitions?$select=PrimaryIdAttribute&$filter=EntitySetName eq '${table}'`, idempotent: true },
        signal,
      ).then(
        (res) => valuesOf(res.body)[0]?.PrimaryIdAttribute as string | undefined,
        () => {
          this.primaryIdAttributes.delete(table); // ask again next time
          return undefined;
        },
      );
      this.primaryIdAttributes.set(table, attribute);
    }
    return attribute;
  }

  /** Runs a request through the connection's scheduler; resolves with a 2xx answer or throws a DataverseError. */
  private send(req: ApiRequest, signal?: AbortSignal): Promise<ApiResponse> {
    if (this.closed) return Promise.reject(closedError());
    let unanswered = false; // an earlier attempt may have reached Dataverse without us seeing the answer
    return this.scheduler.run<ApiResponse>(async (abort): Promise<AttemptOutcome<ApiResponse>> => {
      let token: string;
      try {
        token = await this.tokens.getToken();
      } catch (err) {
        const error = asDataverseError(err);
        if (error.retryable) return { transient: error };
        throw error;
      }
      let res: ApiResponse;
      try {
        res = await this.exchange(req, token, abort);
        if (res.status === 401) {
          // The token was revoked or expired early: one new token, one more try.
          this.tokens.invalidate(token);
          token = await this.tokens.getToken();
          res = await this.exchange(req, token, abort);
        }
      } catch (err) {
        const error = asDataverseError(err);
        if (!error.retryable) throw error;
        if (!NOT_SENT.has(error.code)) {
          if (!req.idempotent) throw error;
          unanswered = true;
        }
        return { transient: error };
      }
      const hint = Number(res.headers["x-ms-dop-hint"]);
      if (hint) this.scheduler.setDopHint(hint);
      if (res.status === 412 && unanswered && req.confirmAfter412) {
        const confirmed = await req.confirmAfter412(token, abort);
        if (confirmed) return { ok: confirmed };
      }
      if (res.status < 400) return { ok: res };
      const retryAfter = retryAfterSeconds(res.headers["retry-after"]);
      const error = fromDataverseResponse({
        status: res.status,
        body: res.body,
        requestId: requestIdOf(res.headers),
        retryAfterSeconds: retryAfter,
        table: req.table,
        clientId: this.clientId,
      });
      if (res.status === 429) return { throttled: error, retryAfterMs: (retryAfter ?? 0) * 1000 };
      if (GATEWAY_STATUS.has(res.status)) {
        // 503 means not processed; a gateway's 502/504 may come after Dataverse did the work.
        if (res.status !== 503) {
          if (!req.idempotent) throw error;
          unanswered = true;
        }
        return { transient: error, retryAfterMs: retryAfter === undefined ? undefined : retryAfter * 1000 };
      }
      throw error;
    }, signal);
  }

  private async exchange(req: ApiRequest, token: string, signal: AbortSignal): Promise<ApiResponse> {
    let response: AxiosResponse;
    try {
      response = await this.transport.http.request({
        method: req.method,
        url: this.apiBase + req.path,
        headers: {
          ...ODATA_HEADERS,
          Authorization: `Bearer ${token}`,
          ...(req.body !== undefined ? { "Content-Type": JSON_CONTENT_TYPE } : {}),
          ...req.headers,
        },
        data: req.body === undefined ? undefined : JSON.stringify(req.body),
        responseType: "text",
        signal,
      });
    } catch (err) {
      throw fromNetworkError(err, new URL(this.environmentUrl).host, this.timeoutMs);
    }
    return { status: response.status, headers: flattenHeaders(response.headers), body: response.data };
  }
}

function preferReturn(returnRow: boolean | undefined): Record<string, string> {
  return returnRow ? { Prefer: "return=representation" } : {};
}

function valuesOf(body: unknown): Array<Record<string, unknown>> {
  const value = (body as { value?: unknown } | undefined)?.value;
  return Array.isArray(value) ? value : [];
}

/** Metadata labels: {"UserLocalizedLabel": {"Label": "Account"}}. */
function labelOf(label: unknown): string {
  const text = (label as { UserLocalizedLabel?: { Label?: unknown } } | undefined)?.UserLocalizedLabel?.Label;
  return typeof text === "string" ? text : "";
}

function asRow(body: unknown): Row {
  return body && typeof body === "object" && !Array.isArray(body) ? (body as Row) : {};
}

function requestIdOf(headers: Record<string, string>): string | undefined {
  return headers["x-ms-service-request-id"] || headers["req_id"] || undefined;
}

function meta(res: ApiResponse): DataverseResult<never> {
  const requestId = requestIdOf(res.headers);
  return { status: res.status, ...(requestId ? { requestId } : {}) };
}

function closedError(): DataverseError {
  return new DataverseError({ message: "The Dataverse connection was closed (flows stopped or redeployed)", code: ErrorCodes.closed, retryable: true });
}
