/**
 * A Dataverse connection: settings checked once, one transport, one token provider, and the Web API
 * operations the nodes offer. Plain TypeScript with no Node-RED import, usable on its own.
 */
import type { AxiosResponse } from "axios";
import { checkTenant, resolveAuthority } from "./clouds";
import { connectionError, DataverseError, ErrorCodes, fromDataverseResponse, fromNetworkError, inputError } from "./errors";
import {
  API_PATH,
  cleanRow,
  etagOf,
  idFromEntityId,
  JSON_CONTENT_TYPE,
  ODATA_HEADERS,
  queryString,
  retryAfterSeconds,
  rowPath,
} from "./odata";
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
  /** Per-request timeout, default 60 s. */
  timeoutMs?: number;
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
}

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
  if (!clientId) throw connectionError("clientId", "The connection has no client ID: set the Application (client) ID from the app registration's Overview page");
  if (!isGuid(clientId)) throw connectionError("clientId", "The client ID must be the app registration's Application (client) ID, a GUID");
  if (!settings.clientSecret) throw connectionError("clientSecret", "The connection has no client secret: create one under the app registration's Certificates & secrets and paste its Value");
}

export class DataverseClient {
  readonly environmentUrl: string;
  private readonly apiBase: string;
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private readonly transport: Transport;
  private readonly tokens: TokenProvider;
  private readonly primaryIdAttributes = new Map<string, Promise<string | undefined>>();
  private closed = false;

  constructor(settings: ConnectionSettings) {
    checkConnectionSettings(settings);
    this.environmentUrl = checkEnvironmentUrl(settings.url);
    this.apiBase = this.environmentUrl + API_PATH;
    this.clientId = settings.clientId.trim();
    this.timeoutMs = settings.timeoutMs ?? 60_000;
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
  }

  /** Token requests made so far (one per token lifetime, whatever the load). */
  get tokenRequestCount(): number {
    return this.tokens.requestCount;
  }

  async whoAmI(): Promise<DataverseResult<WhoAmI>> {
    const res = await this.send({ method: "GET", path: "WhoAmI" });
    const body = (res.body ?? {}) as Partial<WhoAmI>;
    return {
      ...meta(res),
      row: { UserId: String(body.UserId), BusinessUnitId: String(body.BusinessUnitId), OrganizationId: String(body.OrganizationId) },
    };
  }

  async retrieve(table: unknown, rowId: unknown, options: { select?: unknown; expand?: unknown } = {}): Promise<DataverseResult> {
    const set = checkTable(table);
    const ref = checkRowId(rowId);
    const query = queryString({ select: checkSelect(options.select), expand: checkExpand(options.expand) });
    const res = await this.send({ method: "GET", path: rowPath(set, ref) + query, table: set });
    const row = cleanRow(asRow(res.body));
    return { ...meta(res), row, rowId: "id" in ref ? ref.id : await this.idOfRow(set, row), etag: etagOf(res.body, res.headers.etag) };
  }

  async create(table: unknown, row: unknown, options: { returnRow?: boolean } = {}): Promise<DataverseResult> {
    const set = checkTable(table);
    const body = checkRow(row);
    const res = await this.send({ method: "POST", path: set, body, table: set, headers: preferReturn(options.returnRow) });
    return this.writeResult(set, res, undefined);
  }

  async update(
    table: unknown,
    rowId: unknown,
    row: unknown,
    options: { mode?: unknown; etag?: unknown; returnRow?: boolean } = {},
  ): Promise<DataverseResult> {
    const set = checkTable(table);
    const ref = checkRowId(rowId);
    const body = checkRow(row);
    const mode = options.mode ?? "update";
    if (mode !== "update" && mode !== "upsert") throw inputError("mode", `mode must be update or upsert, not '${String(mode)}'`);
    const etag = checkEtag(options.etag);
    // update-only: If-Match * makes a missing row a 404 instead of creating it; an etag makes it conditional.
    const condition = etag ? { "If-Match": etag } : mode === "update" ? { "If-Match": "*" } : undefined;
    const res = await this.send({
      method: "PATCH",
      path: rowPath(set, ref),
      body,
      table: set,
      headers: { ...condition, ...preferReturn(options.returnRow) },
    });
    return this.writeResult(set, res, "id" in ref ? ref.id : undefined);
  }

  /** The environment's tables that have an entity set (what the table field takes), by display name. */
  async listTables(): Promise<TableInfo[]> {
    const res = await this.send({
      method: "GET",
      path: "EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute",
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
    const found = await this.send({ method: "GET", path: `EntityDefinitions?$select=LogicalName&$filter=EntitySetName eq '${set}'`, table: set });
    const logicalName = valuesOf(found.body)[0]?.LogicalName;
    if (typeof logicalName !== "string") {
      throw new DataverseError({ message: `Table '${set}' does not exist. Use the entity set name (plural, for example accounts)`, status: 404, code: "0x8006088a" });
    }
    const res = await this.send({
      method: "GET",
      path: `EntityDefinitions(LogicalName='${logicalName}')/Attributes?$select=LogicalName,AttributeType,DisplayName`,
      table: set,
    });
    return valuesOf(res.body)
      .map((a) => ({ logicalName: String(a.LogicalName), type: String(a.AttributeType ?? ""), displayName: labelOf(a.DisplayName) || String(a.LogicalName) }))
      .sort((a, b) => a.logicalName.localeCompare(b.logicalName));
  }

  /** Stops all work: later calls fail with a clear error and keep-alive sockets are closed. */
  close(): void {
    this.closed = true;
    this.transport.close();
  }

  private async writeResult(table: string, res: ApiResponse, knownId: string | undefined): Promise<DataverseResult> {
    const idFromHeader = idFromEntityId(res.headers["odata-entityid"]);
    if (res.status === 204) return { ...meta(res), rowId: knownId ?? idFromHeader };
    const row = cleanRow(asRow(res.body));
    return { ...meta(res), row, rowId: knownId ?? idFromHeader ?? (await this.idOfRow(table, row)), etag: etagOf(res.body, res.headers.etag) };
  }

  /** A returned row's id, through the table's primary id column (looked up once per table). */
  private async idOfRow(table: string, row: Row): Promise<string | undefined> {
    let attribute = this.primaryIdAttributes.get(table);
    if (!attribute) {
      attribute = this.send({
        method: "GET",
        path: `EntityDefinitions?$select=PrimaryIdAttribute&$filter=EntitySetName eq '${table}'`,
      }).then(
        (res) => ((res.body as { value?: Array<{ PrimaryIdAttribute?: string }> })?.value ?? [])[0]?.PrimaryIdAttribute,
        () => undefined,
      );
      this.primaryIdAttributes.set(table, attribute);
    }
    const name = await attribute;
    const id = name ? row[name] : undefined;
    return typeof id === "string" ? id : undefined;
  }

  private async send(req: ApiRequest): Promise<ApiResponse> {
    let token = await this.token();
    let res = await this.exchange(req, token);
    if (res.status === 401) {
      // The token was revoked or expired early: one new token, one retry.
      this.tokens.invalidate(token);
      token = await this.token();
      res = await this.exchange(req, token);
    }
    if (res.status >= 400) {
      throw fromDataverseResponse({
        status: res.status,
        body: res.body,
        requestId: requestIdOf(res.headers),
        retryAfterSeconds: retryAfterSeconds(res.headers["retry-after"]),
        table: req.table,
        clientId: this.clientId,
      });
    }
    return res;
  }

  private token(): Promise<string> {
    if (this.closed) return Promise.reject(closedError());
    return this.tokens.getToken();
  }

  private async exchange(req: ApiRequest, token: string): Promise<ApiResponse> {
    if (this.closed) throw closedError();
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
        responseType: "json",
      });
    } catch (err) {
      throw this.closed ? closedError() : fromNetworkError(err, new URL(this.environmentUrl).host, this.timeoutMs);
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
