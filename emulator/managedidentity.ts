// The managed identity endpoint of the emulated Azure resource, reached the App Service way: the
// process gets IDENTITY_ENDPOINT (plain http on the loopback address) and IDENTITY_HEADER, and asks
// GET <endpoint>?api-version=2019-08-01&resource=…[&client_id=…] with the header X-IDENTITY-HEADER.
import type { EmulatorCore } from "./core";
import { htmlFaultResponse, type FaultRuleState } from "./faults";
import { findManagedIdentity, MANAGED_IDENTITY_HEADER } from "./identities";
import { parseForm } from "./login";
import type { EmuRequest, EmuResponse, Site } from "./server";
import { aadTimestamp, newGuid } from "./util";

/** The path App Service's endpoint answers on (IDENTITY_ENDPOINT is http://localhost:<port>/msi/token). */
export const MANAGED_IDENTITY_PATH = "/msi/token";
const API_VERSION = "2019-08-01";

/** App Service's endpoint (Kestrel) answers errors as {statusCode, message, correlationId}. */
function endpointError(status: number, message: string): EmuResponse {
  const correlationId = newGuid();
  return {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", Server: "Kestrel", "X-CORRELATION-ID": correlationId },
    body: JSON.stringify({ statusCode: status, message, correlationId }),
  };
}

const sameResource = (a: string, b: string) => a.trim().replace(/\/+$/, "").toLowerCase() === b.trim().replace(/\/+$/, "").toLowerCase();

async function handle(core: EmulatorCore, req: EmuRequest): Promise<EmuResponse> {
  if (req.path !== MANAGED_IDENTITY_PATH) return endpointError(404, `No managed identity endpoint at ${req.path}.`);
  if (req.method !== "GET") return endpointError(405, `The managed identity endpoint only accepts GET requests. Received a ${req.method} request.`);
  if (req.headers["x-identity-header"] !== MANAGED_IDENTITY_HEADER) {
    return endpointError(401, "Unauthorized: the X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.");
  }
  const query = parseForm(req.query);
  if (query.get("api-version") !== API_VERSION) {
    return endpointError(400, `The api-version '${query.get("api-version") ?? ""}' is not supported; use ${API_VERSION}.`);
  }
  const resource = query.get("resource");
  if (!resource) return endpointError(400, "The request must contain the 'resource' query parameter.");
  await core.timers.sleep(core.config.tokenLatencyMs);
  const identity = findManagedIdentity(query.get("client_id"));
  if (!identity) return endpointError(400, "Unable to load the proper Managed Identity.");
  if (!sameResource(resource, core.dataverseUrl)) {
    // The endpoint passes Entra ID's refusal on.
    return endpointError(
      400,
      `AADSTS500011: The resource principal named ${resource.replace(/\/+$/, "")} was not found in the tenant named Contoso. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant. Trace ID: ${newGuid()} Correlation ID: ${newGuid()} Timestamp: ${aadTimestamp()}`,
    );
  }
  const issued = core.tokens.issue(identity, core.dataverseUrl, core.config.tokenLifetimeSeconds);
  return {
    status: 200,
    headers: { "Content-Type": "application/json; charset=utf-8", Server: "Kestrel" },
    // As App Service answers: expires_on in epoch seconds, as a string.
    body: JSON.stringify({
      access_token: issued.token,
      expires_on: String(issued.expiresOn),
      resource,
      token_type: "Bearer",
      client_id: identity.clientId.toUpperCase(),
    }),
  };
}

function faultResponse(rule: FaultRuleState): EmuResponse {
  const status = rule.status ?? 200;
  const headers: Record<string, string> = rule.retryAfter === undefined ? {} : { "Retry-After": String(rule.retryAfter) };
  if (rule.action === "html") return htmlFaultResponse(status, headers);
  if (rule.action === "invalid-json") return { status, headers: { "Content-Type": "application/json; charset=utf-8" }, body: '{"access_token":"ey' };
  const answer = endpointError(status, rule.message ?? `The service returned HTTP ${status} (injected fault).`);
  return { ...answer, headers: { ...answer.headers, ...headers } };
}

export function managedIdentitySite(core: EmulatorCore): Site {
  return {
    server: "identity",
    count: (req) => {
      if (req.method === "GET" && req.path === MANAGED_IDENTITY_PATH) core.stats.tokenRequests++;
    },
    handle: (req) => handle(core, req),
    faultResponse: (rule) => faultResponse(rule),
  };
}
