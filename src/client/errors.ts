/**
 * The one error type the client throws. Every message is written for a flow builder: what went wrong,
 * and what to change. Nothing here ever holds a secret, a token or a raw HTTP client error (whose
 * config would carry the Authorization header).
 */
export interface DataverseErrorInit {
  message: string;
  /** HTTP status from Dataverse or the sign-in endpoint; 0 when no response was received (bad input, unreachable host). */
  status?: number;
  /** Dataverse hex code (0x80040217), AADSTS code (AADSTS7000215), network code (ECONNREFUSED) or one of ours. */
  code?: string;
  requestId?: string;
  retryable?: boolean;
  /** The input that was wrong, when the error is about an input (table, rowId, row, select, expand, etag, url…). */
  field?: string;
  /** More for msg.dataverse: where a query stopped, the sign-in's correlation id. */
  details?: Record<string, unknown>;
}

export class DataverseError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId?: string;
  readonly retryable: boolean;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(init: DataverseErrorInit) {
    super(init.message);
    this.name = "DataverseError";
    this.status = init.status ?? 0;
    this.code = init.code ?? "";
    this.retryable = init.retryable ?? false;
    if (init.requestId) this.requestId = init.requestId;
    if (init.field) this.field = init.field;
    if (init.details) this.details = init.details;
  }

  /** The same error with more for msg.dataverse. */
  with(details: Record<string, unknown>, message = this.message): DataverseError {
    return new DataverseError({ ...this.init(), message, details: { ...this.details, ...details } });
  }

  init(): DataverseErrorInit {
    return {
      message: this.message,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
      retryable: this.retryable,
      field: this.field,
      details: this.details,
    };
  }

  /** What a flow sees in msg.dataverse after a failure. */
  toJSON(): Record<string, unknown> & { status: number; code: string; message: string; retryable: boolean; requestId?: string } {
    return {
      status: this.status,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.requestId ? { requestId: this.requestId } : {}),
      ...this.details,
    };
  }
}

export const ErrorCodes = {
  invalidInput: "InvalidInput",
  invalidConnection: "InvalidConnection",
  closed: "ConnectionClosed",
  /** The answer to a write that is not safe to repeat was lost: it may or may not have been applied. */
  outcomeUnknown: "OutcomeUnknown",
  /** A 2xx answer that is not what Dataverse sends (a proxy's HTML page). */
  invalidResponse: "InvalidResponse",
  unexpected: "Unexpected",
} as const;

/** A lost answer after a write that is not safe to repeat: not retried, and said so. */
export function outcomeUnknown(cause: DataverseError): DataverseError {
  const what = cause.status ? `HTTP ${cause.status}${cause.code ? `, ${cause.code}` : ""}` : cause.code;
  return new DataverseError({
    message: `The answer to this write was lost (${what}): Dataverse may or may not have applied it. It was not sent again, because a second try could write twice. Check whether it was applied (for example, retrieve the row) before sending it again`,
    status: cause.status,
    code: ErrorCodes.outcomeUnknown,
    requestId: cause.requestId,
    retryable: false,
  });
}

export function inputError(field: string, message: string): DataverseError {
  return new DataverseError({ message, code: ErrorCodes.invalidInput, field });
}

export function connectionError(field: string, message: string): DataverseError {
  return new DataverseError({ message, code: ErrorCodes.invalidConnection, field });
}

/** Whatever was thrown, as a DataverseError, without carrying the original object along. */
export function asDataverseError(err: unknown): DataverseError {
  if (err instanceof DataverseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DataverseError({ message: `Unexpected error: ${message}`, code: ErrorCodes.unexpected });
}

// ---------------------------------------------------------------------------------------------
// Dataverse Web API errors

export interface ResponseErrorContext {
  status: number;
  body: unknown;
  requestId?: string;
  retryAfterSeconds?: number;
  table?: string;
  clientId?: string;
  method?: string;
  /** The JSON body sent, to name the lookup behind a missing related row. */
  requestBody?: unknown;
}

/** 400s about the payload itself, where column names and values are the thing to check. */
const PAYLOAD_CODES = new Set(["", "0x0", "0x80060888", "0x80048d19"]);
/** 500s with a Dataverse code are deterministic (duplicate detection, a plug-in's crash), except these. */
export const TRANSIENT_500_CODES: ReadonlySet<string> = new Set(["0x80044151" /* SQL timeout */]);

export function fromDataverseResponse(ctx: ResponseErrorContext): DataverseError {
  const { code, message: serverMessage } = readErrorBody(ctx.body);
  const lowerCode = code.toLowerCase();
  const detail = [`HTTP ${ctx.status}`, code].filter(Boolean).join(", ");
  const advice = adviceFor(ctx, lowerCode, serverMessage);
  let message: string;
  if (advice) message = `${advice} (${[detail, serverMessage].filter(Boolean).join(", ")})`;
  // The server's own words lead: a plug-in's or business rule's text is what the flow builder must read.
  else if (serverMessage) message = `Dataverse: ${serverMessage} (${detail})`;
  else message = `Dataverse request failed (${detail})`;
  return new DataverseError({ message, status: ctx.status, code, requestId: ctx.requestId, retryable: isRetryable(ctx.status, lowerCode) });
}

function isRetryable(status: number, code: string): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true;
  return status === 500 && (code === "" || TRANSIENT_500_CODES.has(code));
}

function readErrorBody(body: unknown): { code: string; message: string } {
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      code: typeof error?.code === "string" ? error.code : "",
      message: typeof error?.message === "string" ? error.message : "",
    };
  }
  // 503s can come back as HTML; never paste a whole page into an error.
  return { code: "", message: "" };
}

function adviceFor(ctx: ResponseErrorContext, code: string, serverMessage: string): string | undefined {
  const table = ctx.table ? `'${ctx.table}'` : "the table";
  const tableMissing = `Table ${table} does not exist. Use the entity set name (plural, for example accounts or contacts) or the logical name (account)`;
  switch (ctx.status) {
    case 401:
      return "Dataverse did not accept the access token even after signing in again. Check that the environment URL is the one the app registration has access to";
    case 403:
      if (code.toLowerCase() === "0x80072560" || /not a member of the organization/i.test(serverMessage)) {
        return `The app signed in, but it is not an application user in this environment. In the Power Platform admin center open the environment, Settings > Users + permissions > Application users, add the app${ctx.clientId ? ` (client ID ${ctx.clientId})` : ""} and give it a security role`;
      }
      return privilegeAdvice(serverMessage) ?? "The application user is not allowed to do this. Give its security role the missing privilege";
    case 404:
      if (code === "0x8006088a" || (code === "0x80060888" && /resource not found for the segment/i.test(serverMessage))) return tableMissing;
      if (code === "0x80048d02") return `No row in ${table} matches the alternate key in rowId`;
      if (code === "0x80040217" && UNKNOWN_CALLER.test(serverMessage)) return unknownCallerAdvice;
      if (code === "0x80040217") return missingRowAdvice(ctx, table, serverMessage);
      return undefined;
    case 412:
      if (code === "0x80060882" || /version of the existing record/i.test(serverMessage)) {
        return "The row was changed by someone else since msg.etag was read. Retrieve it again to get its current etag";
      }
      return "A row with the same id or alternate key already exists";
    case 429: {
      const wait = ctx.retryAfterSeconds !== undefined ? ` Dataverse asks to wait ${ctx.retryAfterSeconds} s.` : "";
      return `Dataverse service protection limit reached; slow down and try again later.${wait}`;
    }
    case 400:
      if (!PAYLOAD_CODES.has(code)) return undefined;
      return "Dataverse rejected the request. Check the column names (logical names, usually lowercase) and values";
    default:
      if (isRetryable(ctx.status, code)) return "Dataverse had a temporary problem; try again later";
      return undefined;
  }
}

/** A CallerObjectId that names no user of the environment: Dataverse says the systemuser does not exist. */
export const UNKNOWN_CALLER = /\bsystemuser With Id = /i;
const unknownCallerAdvice =
  "callerObjectId names no user of this environment. Use the Entra ID object id of a user who is a user (systemuser) of the environment";

/** The request options that need a privilege of their own say which option asked for it. */
const PRIVILEGE_ADVICE: Array<[RegExp, string]> = [
  [
    /prvActOnBehalfOfAnotherUser/i,
    "callerObjectId (acting for a user) needs the application user to hold prvActOnBehalfOfAnotherUser: give it the Delegate security role",
  ],
  [/prvBypassCustomBusinessLogic/i, "bypassBusinessLogic needs the application user to hold prvBypassCustomBusinessLogic (System Administrator has it)"],
  [/prvBypassCustomPlugins/i, "bypassPlugins needs the application user to hold prvBypassCustomPlugins (System Administrator has it)"],
];

function privilegeAdvice(serverMessage: string): string | undefined {
  return PRIVILEGE_ADVICE.find(([pattern]) => pattern.test(serverMessage))?.[1];
}

/**
 * A 404 "… With Id = x Does Not Exist" is about rowId only when the request addressed a row; a create
 * (or a write whose lookup points at a missing row) is about the row its lookup names.
 */
function missingRowAdvice(ctx: ResponseErrorContext, table: string, serverMessage: string): string {
  const missing = /^(?:Entity ')?(\w+)'? With Id = ([0-9a-f-]{36})/i.exec(serverMessage);
  const bound = missing ? lookupPointingAt(ctx.requestBody, missing[2]) : undefined;
  if (bound) return `The lookup ${bound} points at a ${missing![1]} row that does not exist. Check the id in ${bound}`;
  if (ctx.method === "POST")
    return `A row this create refers to does not exist${missing ? ` (a ${missing[1]})` : ""}. Check the lookups (…@odata.bind) in the row`;
  return `No row in ${table} has the id in rowId`;
}

function lookupPointingAt(body: unknown, id: string): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key.endsWith("@odata.bind") && typeof value === "string" && value.toLowerCase().includes(id.toLowerCase())) return key;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Sign-in (Entra ID token endpoint) errors

export interface SignInContext {
  clientId: string;
  tenant: string;
  url: string;
  authorityHost: string;
}

const AADSTS_ADVICE: Record<string, (ctx: SignInContext) => string> = {
  "7000215": (c) =>
    `Sign-in failed: the client secret is wrong for app ${c.clientId}. Copy the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page into the connection`,
  "7000222": (c) =>
    `Sign-in failed: the client secret of app ${c.clientId} has expired. Create a new client secret in the app registration's Certificates & secrets page and put its Value into the connection`,
  "7000218": () => "Sign-in failed: no client secret was sent. Fill in the connection's client secret",
  "700016": (c) =>
    `Sign-in failed: there is no app with client ID ${c.clientId} in tenant ${c.tenant}. Check the Application (client) ID and the tenant on the app registration's Overview page`,
  "90002": (c) =>
    `Sign-in failed: tenant '${c.tenant}' was not found at ${c.authorityHost}. Check the Directory (tenant) ID and that the cloud setting matches your tenant`,
  "500011": (c) =>
    `Sign-in failed: the environment ${c.url} was not found in tenant ${c.tenant}. Check the environment URL (for example https://yourorg.crm.dynamics.com) and that the environment belongs to this tenant`,
  "70011": (c) => `Sign-in failed: the scope ${c.url}/.default was not accepted. Check the environment URL`,
  // Certificates (client assertions signed by the app's key)
  "700027": (c) =>
    `Sign-in failed: the certificate is not registered on app ${c.clientId}, has expired there, or did not sign the assertion. Upload the certificate's public part under the app registration's Certificates & secrets (its thumbprint must match the connection's certificate)`,
  "700024": () =>
    "Sign-in failed: the client assertion is not within its valid time range. Check this computer's clock (it must be within a few minutes of the real time), or that the workload identity token file is refreshed",
  "700023": (c) => `Sign-in failed: the client assertion was made for another token endpoint than ${c.authorityHost}. Check the tenant and the cloud setting`,
  "700021": (c) => `Sign-in failed: the client assertion names another app than ${c.clientId}. Check the connection's client ID`,
  "50027": () => "Sign-in failed: the client assertion is not a valid JWT. For workload identity, check that the token file holds the federated token",
  "700030": (c) =>
    `Sign-in failed: the certificate's subject name is not trusted by app ${c.clientId}. Register the subject name and issuer on the app (trustedCertificateSubjects), or upload the certificate itself`,
  // Workload identity (federated credentials)
  "70021": (c) =>
    `Sign-in failed: app ${c.clientId} has no federated credential matching the token. Add one under the app registration's Certificates & secrets > Federated credentials with the cluster's issuer URL and the service account as subject`,
  "700211": (c) =>
    `Sign-in failed: no federated credential of app ${c.clientId} has the token's issuer. Set the credential's issuer to the cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl)`,
  "700212": (c) => `Sign-in failed: the federated token's audience is not accepted by app ${c.clientId}. Use the audience api://AzureADTokenExchange`,
  "700213": (c) =>
    `Sign-in failed: no federated credential of app ${c.clientId} has the token's subject. Set the credential's subject to system:serviceaccount:<namespace>:<service account>`,
  "50013": () => "Sign-in failed: the federated token's signature could not be verified. Check that the token file holds the token the platform wrote",
  "1002012": (c) => `Sign-in failed: the scope ${c.url}/.default was not accepted. Check the environment URL`,
};

/** AD FS token endpoint errors (its MSIS codes), for cloud adfs. */
const MSIS_ADVICE: Record<string, (ctx: SignInContext) => string> = {
  "9607": (c) =>
    `Sign-in failed: AD FS has no client with ID ${c.clientId}. Use the client identifier of the server application in the AD FS application group`,
  "9622": (c) =>
    `Sign-in failed: AD FS did not accept the client secret of ${c.clientId}. Reset the secret in the server application's properties (AD FS Management > Application Groups) and paste the new one`,
  "9602": (c) =>
    `Sign-in failed: AD FS has no resource named ${c.url}. Add the organization URL as an identifier of the Web API in the AD FS application group`,
  "9605": (c) =>
    `Sign-in failed: AD FS does not let client ${c.clientId} call ${c.url}. Grant it: Grant-AdfsApplicationPermission -ClientRoleIdentifier ${c.clientId} -ServerRoleIdentifier ${c.url}/`,
};

/**
 * Maps an error from msal-node. Its ServerError carries the token endpoint's AADSTS description; for
 * errors it reduces to a generic code, the last error answer seen on the wire says what happened.
 */
export function fromSignInError(err: unknown, ctx: SignInContext, lastErrorResponse?: { status: number; body: unknown }): DataverseError {
  // A credential's own check (a missing token file) already says what to do.
  if (err instanceof DataverseError) return err;
  const e = (err ?? {}) as { message?: string; errorCode?: string; errorMessage?: string; status?: number };
  const answered = (lastErrorResponse?.body ?? {}) as { error_description?: unknown };
  const described = typeof answered.error_description === "string" ? answered.error_description : "";
  const text = `${e.errorMessage ?? ""} ${e.message ?? ""} ${described}`;
  const aadsts = /AADSTS(\d+)/.exec(text)?.[1];
  // The status on the wire wins: the network client may show msal a 400 for a 429/5xx.
  const status = lastErrorResponse?.status ?? (typeof e.status === "number" ? e.status : 0);
  const retryable = status === 429 || status >= 500;
  const ids = supportIds(lastErrorResponse?.body, text);
  if (aadsts) {
    const advice = AADSTS_ADVICE[aadsts]?.(ctx) ?? `Sign-in failed: ${firstLine(text.slice(text.indexOf("AADSTS")))}`;
    return new DataverseError({ message: `${advice} (AADSTS${aadsts})`, status, code: `AADSTS${aadsts}`, retryable, ...ids });
  }
  const msis = /MSIS(\d+)/.exec(text)?.[1];
  if (msis) {
    const advice = MSIS_ADVICE[msis]?.(ctx) ?? `Sign-in at AD FS failed: ${firstLine(text.slice(text.indexOf("MSIS")))}`;
    return new DataverseError({ message: `${advice} (MSIS${msis})`, status, code: `MSIS${msis}`, retryable });
  }
  if (e.errorCode === "endpoints_resolution_error" && lastErrorResponse) {
    return new DataverseError({
      message: `Sign-in failed: ${ctx.authorityHost} answered HTTP ${lastErrorResponse.status} when asked for its OpenID configuration, so it is not the sign-in service the connection expects. Check the cloud and the authority URL${ctx.tenant === "adfs" ? " (for AD FS: https://<your AD FS host>/adfs)" : ""}`,
      status,
      code: e.errorCode,
      retryable,
    });
  }
  const what = e.errorCode ? `${e.errorCode}: ${firstLine(e.errorMessage || e.message || "")}` : firstLine(e.message || String(err));
  return new DataverseError({
    message: `Sign-in at ${ctx.authorityHost} failed (${what})`,
    status,
    code: e.errorCode || "SignInFailed",
    retryable,
    ...ids,
  });
}

/** The token endpoint's trace and correlation ids, which Microsoft support asks for. */
function supportIds(body: unknown, text: string): Pick<DataverseErrorInit, "requestId" | "details"> {
  const answered = (body ?? {}) as { trace_id?: unknown; correlation_id?: unknown };
  const traceId = typeof answered.trace_id === "string" ? answered.trace_id : /Trace ID: ([0-9a-f-]{36})/i.exec(text)?.[1];
  const correlationId = typeof answered.correlation_id === "string" ? answered.correlation_id : /Correlation ID: ([0-9a-f-]{36})/i.exec(text)?.[1];
  return { ...(traceId ? { requestId: traceId } : {}), ...(correlationId ? { details: { correlationId } } : {}) };
}

function firstLine(text: string): string {
  return text
    .split(/\r?\n/)[0]
    .replace(/\s+-\s+Timestamp:.*$/, "")
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Network errors (no HTTP response)

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);
// A refused connection is almost always a wrong host or port: it fails fast instead of being retried.
const TRANSIENT_CODES = new Set(["ECONNRESET", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "EPIPE", "ERR_SOCKET_CONNECTION_TIMEOUT"]);

/** A failure at the proxy (refused, 407, no tunnel to the target), thrown in the transport with its words already written. */
export class ProxyFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "ProxyFailure";
  }
}

/** The ProxyFailure behind an HTTP client error (axios keeps the agent's error as its cause). */
function proxyFailureIn(err: unknown): ProxyFailure | undefined {
  if (err instanceof ProxyFailure) return err;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof ProxyFailure ? cause : undefined;
}

export function fromNetworkError(err: unknown, host: string, timeoutMs?: number): DataverseError {
  const proxy = proxyFailureIn(err);
  if (proxy) return new DataverseError({ message: proxy.message, status: 0, code: proxy.code, retryable: TRANSIENT_CODES.has(proxy.code) });
  const e = (err ?? {}) as { code?: string; message?: string };
  const code = e.code || "ENETWORK";
  let message: string;
  if (code === "ECONNABORTED" || code === "ETIMEDOUT" || /timeout/i.test(e.message ?? "")) {
    message = `No answer from ${host}${timeoutMs ? ` within ${Math.round(timeoutMs / 1000)} s` : ""}; try again later`;
  } else if (code === "ENOTFOUND") {
    message = `Cannot reach ${host}: the host name was not found. Check the URL for typos`;
  } else if (code === "ECONNREFUSED") {
    message = `Cannot reach ${host}: the connection was refused. Check the URL and port, and that the service is running`;
  } else if (TLS_CODES.has(code)) {
    message = `Cannot trust the TLS certificate of ${host} (${code}). For a private certificate authority, set the connection's TLS config or NODE_EXTRA_CA_CERTS`;
  } else {
    message = `Cannot reach ${host}: ${e.message || code}`;
  }
  return new DataverseError({ message, status: 0, code, retryable: TRANSIENT_CODES.has(code) || /socket hang up/i.test(e.message ?? "") });
}
