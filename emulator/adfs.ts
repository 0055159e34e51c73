// On-premises AD FS (2019) on the login server under /adfs/: the OpenID discovery document and the
// client-credentials token endpoint a server application of an AD FS application group uses. Errors
// come as AD FS sends them: HTTP 400 with {error, error_description: "MSIS…: …"}.
import type { EmulatorCore } from "./core";
import { findAdfsClient } from "./identities";
import { clientCredentials, parseForm } from "./login";
import type { EmuRequest, EmuResponse } from "./server";

const DISCOVERY = /^\/adfs\/\.well-known\/openid-configuration\/?$/i;
const TOKEN = /^\/adfs\/oauth2\/token\/?$/i;
const KEYS = /^\/adfs\/discovery\/keys\/?$/i;

export const isAdfsPath = (path: string): boolean => /^\/adfs(\/|$)/i.test(path);
export const isAdfsTokenRequest = (req: EmuRequest): boolean => req.method === "POST" && TOKEN.test(req.path);
export const isAdfsDiscovery = (req: EmuRequest): boolean => req.method === "GET" && DISCOVERY.test(req.path);

function json(status: number, body: unknown): EmuResponse {
  return { status, headers: { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", Pragma: "no-cache" }, body: JSON.stringify(body) };
}

const adfsError = (error: string, description: string) => json(400, { error, error_description: description });

function discovery(core: EmulatorCore): unknown {
  const base = `https://${core.authorityHost}/adfs`;
  return {
    issuer: base,
    authorization_endpoint: `${base}/oauth2/authorize/`,
    token_endpoint: `${base}/oauth2/token/`,
    jwks_uri: `${base}/discovery/keys`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic", "private_key_jwt", "windows_client_authentication"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token", "code token", "code id_token token"],
    response_modes_supported: ["query", "fragment", "form_post"],
    grant_types_supported: [
      "authorization_code",
      "refresh_token",
      "client_credentials",
      "urn:ietf:params:oauth:grant-type:jwt-bearer",
      "implicit",
      "password",
      "srv_challenge",
      "urn:ietf:params:oauth:grant-type:device_code",
      "device_code",
    ],
    subject_types_supported: ["pairwise"],
    scopes_supported: ["openid", "profile", "email", "allatclaims", "user_impersonation", "vpn_cert", "aza", "logon_cert", "winhello_cert"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_signing_alg_values_supported: ["RS256"],
    access_token_issuer: `http://${core.authorityHost}/adfs/services/trust`,
    claims_supported: [
      "aud",
      "iss",
      "iat",
      "exp",
      "auth_time",
      "nonce",
      "at_hash",
      "c_hash",
      "sub",
      "upn",
      "unique_name",
      "pwd_url",
      "pwd_exp",
      "mfa_auth_time",
      "sid",
      "nbf",
    ],
    microsoft_multi_refresh_token: true,
    userinfo_endpoint: `${base}/userinfo`,
    capabilities: [],
    end_session_endpoint: `${base}/oauth2/logout`,
    as_access_token_token_binding_supported: true,
    as_refresh_token_token_binding_supported: true,
    resource_access_token_token_binding_supported: true,
    op_id_token_token_binding_supported: true,
    rp_id_token_token_binding_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    device_authorization_endpoint: `${base}/oauth2/devicecode`,
  };
}

const sameResource = (a: string, b: string) => a.trim().replace(/\/+$/, "").toLowerCase() === b.trim().replace(/\/+$/, "").toLowerCase();

/**
 * The resource a request names: the `resource` parameter (AD FS 2016 and later), or embedded in the
 * scope as <resource>/<scope value> (AD FS 2019, what msal sends: https://org.contoso.com/.default).
 */
function requestedResource(form: Map<string, string>): string | undefined {
  const resource = form.get("resource");
  if (resource) return resource;
  const scoped = (form.get("scope") ?? "").split(/\s+/).find((s) => /^https?:\/\/.+\/[^/]+$/i.test(s));
  return scoped?.slice(0, scoped.lastIndexOf("/"));
}

async function token(core: EmulatorCore, req: EmuRequest): Promise<EmuResponse> {
  await core.timers.sleep(core.config.tokenLatencyMs);
  const form = parseForm(req.body);
  const grantType = form.get("grant_type");
  if (!grantType) return adfsError("invalid_request", "MSIS9609: The 'grant_type' parameter is missing in the request.");
  if (grantType !== "client_credentials") {
    return adfsError(
      "unsupported_grant_type",
      `MSIS9611: The authorization server does not support the requested 'grant_type'. The authorization server only supports 'authorization_code' or 'refresh_token' or 'client_credentials' as the grant type.`,
    );
  }
  const { clientId, secret } = clientCredentials(req, form);
  const client = clientId ? findAdfsClient(clientId) : undefined;
  if (!client) {
    return adfsError("invalid_client", "MSIS9607: The 'client_id' parameter in the request is invalid. No registered client is found with this identifier.");
  }
  if (secret !== client.clientSecret) {
    return adfsError("invalid_client", "MSIS9622: Client authentication failed. Please verify the credential provided for client authentication is valid.");
  }
  const resource = requestedResource(form);
  if (!resource || !sameResource(resource, core.dataverseUrl)) {
    return adfsError(
      "invalid_resource",
      "MSIS9602: The received 'resource' parameter is invalid. The authorization server can not find a registered resource with the specified identifier.",
    );
  }
  if (!client.permitted) return adfsError("invalid_grant", "MSIS9605: The client is not allowed to access the requested resource.");
  const lifetime = core.config.tokenLifetimeSeconds;
  const issued = core.tokens.issue(client, core.dataverseUrl, lifetime, `http://${core.authorityHost}/adfs/services/trust`);
  // AD FS spells the token type in lower case and gives no expires_on.
  return json(200, { access_token: issued.token, token_type: "bearer", expires_in: lifetime });
}

/** A request under /adfs/ on the login server. */
export async function handleAdfs(core: EmulatorCore, req: EmuRequest): Promise<EmuResponse> {
  if (DISCOVERY.test(req.path)) return json(200, discovery(core));
  if (TOKEN.test(req.path)) {
    if (req.method !== "POST") return adfsError("invalid_request", "MSIS9604: An error occurred. The request to the token endpoint must be a POST.");
    return token(core, req);
  }
  // Signing keys are not published: the emulator's tokens are checked by lookup, not by signature.
  if (KEYS.test(req.path)) return json(200, { keys: [] });
  return { status: 404, headers: { "Content-Type": "text/html" }, body: "<html><body><h2>404 - File or directory not found.</h2></body></html>" };
}
