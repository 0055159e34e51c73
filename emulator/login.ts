// The Entra ID (login) server: OIDC discovery documents and the client-credentials token
// endpoints (v2.0 and v1), validating requests in the order the real service does; AD FS under /adfs/.
import { checkClientAssertion } from "./assertions";
import { handleAdfs, isAdfsDiscovery, isAdfsPath, isAdfsTokenRequest } from "./adfs";
import type { EmulatorCore } from "./core";
import { htmlFaultResponse, type FaultRuleState } from "./faults";
import { findApp, isKnownTenant, TENANT_ID } from "./identities";
import type { EmuRequest, EmuResponse, Site } from "./server";
import { aadTimestamp, newGuid } from "./util";

/** The directory name the real service puts into its messages. */
const TENANT_NAME = "Contoso";

const TOKEN_V2 = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/i;
const TOKEN_V1 = /^\/([^/]+)\/oauth2\/token\/?$/i;
const OPENID_V2 = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration\/?$/i;
const OPENID_V1 = /^\/([^/]+)\/\.well-known\/openid-configuration\/?$/i;
const KEYS = /^\/([^/]+)\/discovery\/(?:v2\.0\/)?keys\/?$/i;
const INSTANCE_DISCOVERY = /^\/common\/discovery\/instance\/?$/i;

const NO_CACHE = {
  "Cache-Control": "no-store, no-cache",
  Pragma: "no-cache",
  Expires: "-1",
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
};

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** Form body parser that tolerates values msal leaves unencoded (`retry-after, h429`). */
export function parseForm(body: string): Map<string, string> {
  const form = new Map<string, string>();
  const dec = (s: string) => safeDecode(s.replace(/\+/g, " "));
  for (const part of body.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    form.set(dec(eq < 0 ? part : part.slice(0, eq)), dec(eq < 0 ? "" : part.slice(eq + 1)));
  }
  return form;
}

/** The client id and secret: in the form, or as HTTP Basic auth (form-encoded id and secret). */
export function clientCredentials(req: EmuRequest, form: Map<string, string>): { clientId?: string; secret?: string } {
  let clientId = form.get("client_id");
  let secret = form.get("client_secret");
  const basic = req.headers.authorization?.match(/^Basic\s+(\S+)/i)?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      clientId ??= safeDecode(decoded.slice(0, colon));
      secret ??= safeDecode(decoded.slice(colon + 1));
    }
  }
  return { clientId, secret };
}

/** An Entra ID error body: `AADSTS<code>: ...` plus trace/correlation ids and timestamps. */
export function aadError(
  status: number,
  error: string,
  code: number | undefined,
  description: string,
  correlationId: string = newGuid(),
  extraHeaders: Record<string, string> = {},
): EmuResponse {
  const traceId = newGuid();
  const timestamp = aadTimestamp();
  const prefix = code === undefined ? "" : `AADSTS${code}: `;
  return jsonResponse(
    status,
    {
      error,
      error_description: `${prefix}${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: code === undefined ? [] : [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      ...(code === undefined ? {} : { error_uri: `https://login.microsoftonline.com/error?code=${code}` }),
    },
    { ...NO_CACHE, "x-ms-request-id": traceId, "client-request-id": correlationId, ...extraHeaders },
  );
}

const tenantNotFound = (tenant: string, error: string, correlationId?: string) =>
  aadError(
    400,
    error,
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    correlationId,
  );

function openIdConfiguration(core: EmulatorCore, v2: boolean): unknown {
  const base = `https://${core.authorityHost}/${TENANT_ID}`;
  const common = {
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    request_uri_parameter_supported: false,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    tenant_region_scope: "NA",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
  if (!v2) {
    return {
      token_endpoint: `${base}/oauth2/token`,
      jwks_uri: `https://${core.authorityHost}/common/discovery/keys`,
      issuer: `https://sts.windows.net/${TENANT_ID}/`,
      authorization_endpoint: `${base}/oauth2/authorize`,
      end_session_endpoint: `${base}/oauth2/logout`,
      device_authorization_endpoint: `${base}/oauth2/devicecode`,
      userinfo_endpoint: `https://${core.authorityHost}/${TENANT_ID}/openid/userinfo`,
      scopes_supported: ["openid"],
      ...common,
    };
  }
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    issuer: `${base}/v2.0`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    kerberos_endpoint: `${base}/kerberos`,
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    ...common,
  };
}

const normalizeResource = (r: string) => r.trim().replace(/\/+$/, "").toLowerCase();

/** POST /{tenant}/oauth2/v2.0/token and /{tenant}/oauth2/token (v1). */
function token(core: EmulatorCore, req: EmuRequest, tenant: string, v2: boolean): EmuResponse {
  const form = parseForm(req.body);
  const query = parseForm(req.query);
  const correlationId = query.get("client-request-id") ?? form.get("client-request-id") ?? req.headers["client-request-id"] ?? newGuid();
  const fail = (status: number, error: string, code: number, description: string) => aadError(status, error, code, description, correlationId);

  if (req.method !== "POST") {
    return fail(400, "invalid_request", 900561, `The endpoint only accepts POST, OPTIONS requests. Received a ${req.method} request.`);
  }
  if (!isKnownTenant(tenant)) return tenantNotFound(tenant, "invalid_request", correlationId);

  const grantType = form.get("grant_type");
  if (!grantType) return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
  if (grantType !== "client_credentials") {
    return fail(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType}'.`);
  }

  const { clientId, secret } = clientCredentials(req, form);
  if (!clientId) return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = findApp(clientId);
  if (!app) {
    return fail(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${TENANT_NAME}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  if ((secret === undefined || secret === "") && form.get("client_assertion")) {
    const refused = checkClientAssertion({ assertions: core.assertions, config: core.config, authorityHost: core.authorityHost, app, fail }, form);
    if (refused) return refused;
  } else if (secret === undefined || secret === "") {
    return fail(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  } else if (app.secretExpired) {
    return fail(
      401,
      "invalid_client",
      7000222,
      `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
  } else if (secret !== app.clientSecret) {
    return fail(
      401,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }

  let resource: string;
  if (v2) {
    const scopes = (form.get("scope") ?? "").split(/\s+/).filter((s) => s && !["openid", "profile", "offline_access"].includes(s));
    if (scopes.length === 0) {
      return fail(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter.");
    }
    const bad = scopes.find((s) => !s.endsWith("/.default"));
    if (bad !== undefined || new Set(scopes.map((s) => normalizeResource(s.slice(0, -"/.default".length)))).size > 1) {
      return fail(
        400,
        "invalid_scope",
        70011,
        `The provided value for the input parameter 'scope' is not valid. The scope ${scopes.join(" ")} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    resource = scopes[0].slice(0, -"/.default".length);
  } else {
    const r = form.get("resource");
    if (!r) return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.");
    resource = r;
  }
  if (normalizeResource(resource) !== normalizeResource(core.dataverseUrl)) {
    return fail(
      400,
      "invalid_resource",
      500011,
      `The resource principal named ${resource.replace(/\/+$/, "")} was not found in the tenant named ${TENANT_NAME}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }

  const lifetime = core.config.tokenLifetimeSeconds;
  const issued = core.tokens.issue(app, core.dataverseUrl, lifetime);
  const refreshIn = core.config.tokenRefreshInSeconds;
  const headers = { ...NO_CACHE, "x-ms-request-id": newGuid(), "client-request-id": correlationId };
  if (v2) {
    return jsonResponse(
      200,
      {
        token_type: "Bearer",
        expires_in: lifetime,
        ext_expires_in: lifetime,
        ...(refreshIn === null ? {} : { refresh_in: refreshIn }),
        access_token: issued.token,
      },
      headers,
    );
  }
  // v1 answers with strings for every number, plus expires_on / not_before / resource.
  return jsonResponse(
    200,
    {
      token_type: "Bearer",
      expires_in: String(lifetime),
      ext_expires_in: String(lifetime),
      expires_on: String(issued.expiresOn),
      not_before: String(issued.issuedAt),
      resource,
      access_token: issued.token,
    },
    headers,
  );
}

async function handle(core: EmulatorCore, req: EmuRequest): Promise<EmuResponse> {
  if (isAdfsPath(req.path)) return handleAdfs(core, req);
  let m: RegExpMatchArray | null;
  if ((m = req.path.match(TOKEN_V2)) || (m = req.path.match(TOKEN_V1))) {
    if (req.method === "POST") await core.timers.sleep(core.config.tokenLatencyMs);
    return token(core, req, safeDecode(m[1]), TOKEN_V2.test(req.path));
  }
  if ((m = req.path.match(OPENID_V2)) || (m = req.path.match(OPENID_V1))) {
    const tenant = safeDecode(m[1]);
    if (!isKnownTenant(tenant)) return tenantNotFound(tenant, "invalid_tenant");
    return jsonResponse(200, openIdConfiguration(core, OPENID_V2.test(req.path)), {
      "Cache-Control": "max-age=86400, private",
      "Access-Control-Allow-Origin": "*",
    });
  }
  if (INSTANCE_DISCOVERY.test(req.path)) {
    const host = core.authorityHost;
    return jsonResponse(200, {
      tenant_discovery_endpoint: `https://${host}/{tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }
  if (KEYS.test(req.path)) {
    // Tokens are HMAC-signed with a per-start secret, so there is no public key to publish.
    return jsonResponse(200, { keys: [] });
  }
  return jsonResponse(404, { error: "not_found", error_description: `The emulated Entra ID has no endpoint at ${req.path}.` });
}

function faultResponse(core: EmulatorCore, rule: FaultRuleState): EmuResponse {
  const status = rule.status ?? 200;
  const retryAfter = rule.retryAfter ?? (status === 429 ? core.config.retryAfterSeconds : undefined);
  const headers: Record<string, string> = retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) };
  if (rule.action === "invalid-json") {
    return { status, headers: { ...headers, "Content-Type": "application/json; charset=utf-8" }, body: '{"token_type":"Bearer","expires_in":35' };
  }
  if (rule.action === "html") return htmlFaultResponse(status, headers);
  const error = rule.code ?? (status === 429 || status === 503 ? "temporarily_unavailable" : status >= 500 ? "server_error" : "invalid_request");
  const message = rule.message ?? (status === 429 ? "Too many requests. Retry later." : `The service returned HTTP ${status} (injected fault).`);
  return aadError(status, error, undefined, message, undefined, headers);
}

export function loginSite(core: EmulatorCore): Site {
  return {
    server: "login",
    count: (req) => {
      if (isAdfsPath(req.path)) {
        if (isAdfsTokenRequest(req)) core.stats.tokenRequests++;
        if (isAdfsDiscovery(req)) core.stats.openidConfigRequests++;
        return;
      }
      if (req.method === "POST" && (TOKEN_V2.test(req.path) || TOKEN_V1.test(req.path))) core.stats.tokenRequests++;
      if (req.method === "GET" && (OPENID_V2.test(req.path) || OPENID_V1.test(req.path))) core.stats.openidConfigRequests++;
    },
    handle: (req) => handle(core, req),
    faultResponse: (rule) => faultResponse(core, rule),
  };
}
