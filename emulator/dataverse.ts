// The Dataverse server: which web server answers, authentication, service protection, simulated
// latency, routing of /api/data/v8.0/ to v9.2/ (also for each request of a $batch), and the headers every
// response carries.
import type { EmulatorCore } from "./core";
import { handleMetadataDocument, handleOperation } from "./actions";
import { apiContext, errorResponse, isApiPath, JSON_CONTENT_TYPE, json, type DvContext } from "./context";
import { handleBatch } from "./batch";
import { handleBulkAction } from "./bulk";
import { CODES, DataverseError, methodNotAllowed, unknownSegment } from "./errors";
import { htmlFaultResponse, type FaultRuleState } from "./faults";
import { BUSINESS_UNIT_ID, ORGANIZATION_ID, TENANT_ID, type AppRegistration } from "./identities";
import { requestLimitMessage, retryAfterSeconds } from "./limits";
import { fileColumnOf, handleFile } from "./files";
import { handleEntityDefinitions } from "./metadata";
import { parseSegment } from "./odata";
import { handleTable } from "./records";
import { addTally, type RanAs } from "./requestlog";
import { callerOf, type Caller } from "./callers";
import { handleSdkMessageFilters } from "./sdkmessages";
import type { EmuRequest, EmuResponse, Site } from "./server";
import { TABLES, tableBySet } from "./tables";
import { newGuid } from "./util";
import type { WebServer } from "./webservers";

/** Where a request went: the web server, and the cookie pinning the client to it when it was not pinned yet. */
interface Routed {
  server: WebServer;
  setCookie?: string;
}

/**
 * Headers of every Dataverse response, including throttled and injected ones. Like the real service,
 * two `x-ms-service-request-id` lines (two GUIDs, which HTTP clients join with ", "), and `REQ_ID`
 * equal to the second; the remaining-requests header is the answering web server's.
 */
function fromWebServer(core: EmulatorCore, routed: Routed, r: EmuResponse): EmuResponse {
  const requestIds = [newGuid(), newGuid()];
  const headers: NonNullable<EmuResponse["headers"]> = {
    "OData-Version": "4.0",
    "x-ms-service-request-id": requestIds,
    REQ_ID: requestIds[1],
    "x-ms-ratelimit-burst-remaining-xrm-requests": routed.server.limits.remainingRequests(),
    ...r.headers,
  };
  if (core.config.dopHint !== null) headers["x-ms-dop-hint"] = core.config.dopHint;
  if (routed.setCookie) headers["Set-Cookie"] = routed.setCookie;
  return { ...r, headers, log: { ...r.log, webServer: routed.server.index } };
}

const trimSlash = (url: string) => url.replace(/\/+$/, "").toLowerCase();

/** The 401 challenge: where to get a token, and for which resource. */
const challenge = (core: EmulatorCore) => ({
  "WWW-Authenticate": `Bearer authorization_uri=https://${core.authorityHost}/${TENANT_ID}/oauth2/authorize, resource_id=${core.dataverseUrl}/`,
});

/** 401 (no valid token for this environment) or 403 (app without application user), else the calling app. */
function authenticate(core: EmulatorCore, req: EmuRequest): EmuResponse | AppRegistration {
  const token = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const issued = token === undefined ? undefined : core.tokens.validate(token);
  if (!issued || trimSlash(issued.audience) !== trimSlash(core.dataverseUrl)) {
    return { status: 401, headers: challenge(core), body: "" };
  }
  if (!issued.app.hasApplicationUser) {
    return errorResponse(new DataverseError(403, CODES.notMember, "The user is not a member of the organization."));
  }
  return issued.app;
}

/** What the request log keeps of a request's caller (no app object: the log goes out as JSON). */
function ranAs(caller: Caller | undefined): RanAs | undefined {
  if (!caller) return undefined;
  const { app: _app, ...rest } = caller;
  return rest;
}

/** The names of the service document: entity sets, plus the other collections clients may ask for. */
const SERVICE_DOCUMENT_NAMES = [...TABLES.map((t) => t.entitySetName), "EntityDefinitions", "sdkmessagefilters"];

/** Answers one Web API request; `$batch` calls it again for each of its requests. */
function route(ctx: DvContext): EmuResponse {
  const segments = ctx.resourcePath.split("/");
  if (segments.length > 1 && segments[segments.length - 1] === "") segments.pop();
  if (segments[0] === "") {
    if (ctx.req.method !== "GET") throw methodNotAllowed(ctx.req.method, ["GET"]);
    return json(200, {
      "@odata.context": `${ctx.base}/$metadata`,
      value: SERVICE_DOCUMENT_NAMES.map((name) => ({ name, kind: "EntitySet", url: name })),
    });
  }
  const first = parseSegment(segments[0]);
  switch (first.name) {
    case "$metadata":
      return handleMetadataDocument(ctx, segments);
    case "$batch":
      if (segments.length > 1) throw unknownSegment(parseSegment(segments[1]).name);
      if (ctx.req.method !== "POST") throw methodNotAllowed(ctx.req.method, ["POST"]);
      return handleBatch(ctx, route);
    case "WhoAmI":
      if (segments.length > 1) throw unknownSegment(parseSegment(segments[1]).name);
      if (first.args !== undefined && first.args.trim() !== "") throw unknownSegment(segments[0]);
      if (ctx.req.method !== "GET") throw methodNotAllowed(ctx.req.method, ["GET"]);
      return json(200, {
        "@odata.context": `${ctx.base}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: BUSINESS_UNIT_ID,
        // The user the request runs as: the one it acts for (CallerObjectId), else the app's own.
        UserId: ctx.caller?.userId,
        OrganizationId: ORGANIZATION_ID,
      });
    case "EntityDefinitions":
      return handleEntityDefinitions(ctx, first.args, segments);
    case "sdkmessagefilters":
      return handleSdkMessageFilters(ctx, first.args, segments);
    default: {
      const operation = handleOperation(ctx, segments);
      if (operation) return operation;
      const table = tableBySet(first.name);
      if (!table) throw unknownSegment(first.name);
      // Bound actions on the collection: accounts/Microsoft.Dynamics.CRM.CreateMultiple.
      if (first.args === undefined && segments.length === 2 && parseSegment(segments[1]).name.startsWith("Microsoft.Dynamics.CRM.")) {
        return handleBulkAction(ctx, table, parseSegment(segments[1]).name);
      }
      if (first.args !== undefined && segments.length > 1 && fileColumnOf(table, parseSegment(segments[1]).name)) {
        return handleFile(ctx, table, first.args, segments);
      }
      return handleTable(ctx, table, segments, first.args);
    }
  }
}

async function handle(core: EmulatorCore, server: WebServer, req: EmuRequest): Promise<EmuResponse> {
  if (!isApiPath(req.path)) {
    if (req.method === "GET" && req.path === "/") {
      return {
        status: 200,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
        body: `Dataverse Web API emulator. Service root: ${core.dataverseUrl}/api/data/v9.2/\n`,
      };
    }
    return errorResponse(unknownSegment(req.path));
  }
  const app = authenticate(core, req);
  if ("status" in app) return app;

  server.requests++;
  let done: ReturnType<WebServer["limits"]["admit"]>;
  try {
    done = server.limits.admit();
  } catch (e) {
    if (!(e instanceof DataverseError)) throw e;
    server.throttled++;
    return errorResponse(e);
  }
  core.stats.enter();
  let ctx: DvContext | undefined;
  try {
    await core.timers.sleep(core.config.latencyMs);
    ctx = apiContext(core, req);
    ctx.caller = callerOf(app, req.headers, ctx.query);
    return { ...route(ctx), log: { operations: ctx.usage.operations, ranAs: ranAs(ctx.caller) } };
  } catch (e) {
    if (e instanceof DataverseError) return { ...errorResponse(e), log: { operations: ctx?.usage.operations ?? 1 } };
    throw e;
  } finally {
    if (ctx) addTally(core.stats.rows, ctx.writes);
    core.stats.leave();
    done(ctx?.usage ?? { operations: 1 });
  }
}

const GATEWAY_PAGES: Record<number, string> = {
  502: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
  503: '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n',
  504: "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>",
};

const DEFAULT_FAULT_ERRORS: Record<number, [string, string]> = {
  400: [CODES.badRequest, "Bad Request"],
  403: ["0x80040220", "Principal user is missing a privilege required for this operation."],
  404: [CODES.unknownSegment, "Resource not found."],
  412: [CODES.versionMismatch, "The version of the existing record doesn't match the RowVersion property provided."],
  500: [CODES.unexpected, "An unexpected error occurred."],
};

/** What an injected Dataverse fault answers: throttling JSON, gateway HTML, or a JSON error. */
function faultResponse(core: EmulatorCore, rule: FaultRuleState): EmuResponse {
  const status = rule.status ?? 200;
  const headers: Record<string, string> = {};
  const retryAfter = rule.retryAfter ?? (status === 429 ? retryAfterSeconds(core.config) : undefined);
  if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  if (rule.action === "invalid-json") {
    return { status, headers: { ...headers, "Content-Type": JSON_CONTENT_TYPE }, body: '{"@odata.context":"truncated","value":[{"name":' };
  }
  if (rule.action === "html") return htmlFaultResponse(status, headers);
  if (status === 401 && !rule.code && !rule.message) return { status, headers: { ...headers, ...challenge(core) }, body: "" };
  if (GATEWAY_PAGES[status] && !rule.code && !rule.message) {
    return { status, headers: { ...headers, "Content-Type": "text/html; charset=us-ascii" }, body: GATEWAY_PAGES[status] };
  }
  const [code, message] =
    status === 429 ? [CODES.tooManyRequests, requestLimitMessage(core.config)] : (DEFAULT_FAULT_ERRORS[status] ?? ["", `Injected fault (HTTP ${status}).`]);
  const body = JSON.stringify({ error: { code: rule.code ?? code, message: rule.message ?? message } });
  return { status, headers: { ...headers, "Content-Type": JSON_CONTENT_TYPE }, body };
}

export function dataverseSite(core: EmulatorCore, control: (req: EmuRequest) => Promise<EmuResponse>): Site {
  return {
    server: "dataverse",
    bypass: (req) => (req.path === "/_emulator" || req.path.startsWith("/_emulator/") ? control(req) : undefined),
    count: () => {
      core.stats.dataverseRequests++;
    },
    handle: async (req) => {
      const routed = core.webServers.route(req.headers.cookie);
      return fromWebServer(core, routed, await handle(core, routed.server, req));
    },
    faultResponse: (rule, req) => fromWebServer(core, core.webServers.route(req.headers.cookie), faultResponse(core, rule)),
  };
}
