/**
 * Which proxy a connection's HTTPS traffic (sign-in and Web API) goes through: the connection's
 * `proxy` setting, else the environment read the way Node-RED's http request node reads it, with
 * NO_PROXY honoured either way. HTTPS goes through an HTTP CONNECT tunnel (hpagent), with
 * the connection's TLS options applied to the target, not to the proxy.
 */
import { STATUS_CODES, type ClientRequestArgs } from "node:http";
import type { Duplex } from "node:stream";
import { HttpsProxyAgent } from "hpagent";
import { connectionError, ProxyFailure } from "./errors";
import type { TlsOptions } from "./transport";

export interface ProxySettings {
  /** http:// or https:// proxy URL; empty means the environment (HTTPS_PROXY, NO_PROXY). */
  proxy?: string;
  proxyUsername?: string;
  proxyPassword?: string;
}

/** The variables read for an https:// target, in Node-RED's order (each as lower case, then UPPER CASE). */
const PROXY_VARIABLES = ["npm_config_https_proxy", "https_proxy", "npm_config_proxy", "all_proxy"];
const NO_PROXY_VARIABLES = ["npm_config_no_proxy", "no_proxy"];
/** Every environment variable that can choose a proxy here, for callers that must start without them. */
export const PROXY_ENVIRONMENT: readonly string[] = [...PROXY_VARIABLES, ...NO_PROXY_VARIABLES].flatMap((name) => [name, name.toUpperCase()]);

export interface ProxyRoute {
  /** The proxy's URL, without credentials. */
  url: URL;
  /** How errors name the proxy: host and port, and the variable it came from; never the credentials. */
  label: string;
  /** Basic credentials for the CONNECT, when there are any. */
  authorization?: string;
  /** NO_PROXY, lower case ("" when unset). */
  noProxy: string;
}

/** The proxy for this connection, or undefined when there is none; a bad proxy URL is a connection error. */
export function proxyRoute(settings: ProxySettings, env: NodeJS.ProcessEnv = process.env): ProxyRoute | undefined {
  const configured = settings.proxy?.trim();
  const fromEnv = configured ? undefined : firstVariable(PROXY_VARIABLES, env);
  const value = configured || fromEnv?.value;
  if (!value) return undefined;
  const url = parseProxyUrl(value, fromEnv?.name);
  if (configured && (url.username || url.password)) {
    throw connectionError(
      "proxy",
      `The proxy URL must not hold a user name or password: it is saved and exported with the flow. Put them in the connection's proxy user and proxy password, and set the proxy to ${url.protocol}//${url.host}`,
    );
  }
  // Credentials in HTTPS_PROXY are the environment's; the connection's own credentials win over them.
  const username = settings.proxyUsername || decodeURIComponent(url.username);
  const password = settings.proxyPassword || decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  return {
    url,
    label: `${url.host}${fromEnv ? ` (from ${fromEnv.name})` : ""}`,
    authorization: username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` : undefined,
    noProxy: (firstVariable(NO_PROXY_VARIABLES, env)?.value ?? "").toLowerCase(),
  };
}

function parseProxyUrl(value: string, variable: string | undefined): URL {
  const where = variable ? `The proxy in ${variable}` : "Proxy";
  const example = "a URL such as http://proxy.contoso.com:8080";
  let url: URL;
  try {
    // No scheme means a plain HTTP proxy, as curl reads it.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw connectionError("proxy", `${where} must be ${example}, not '${withoutCredentials(value)}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw connectionError("proxy", `${where} must be an http:// or https:// proxy (${example}), not ${url.protocol}//`);
  }
  if (!url.hostname) throw connectionError("proxy", `${where} must be ${example}, not '${withoutCredentials(value)}'`);
  return url;
}

/** Node-RED's getEnv: the lower-case name first, then the upper-case one. */
function firstVariable(names: string[], env: NodeJS.ProcessEnv): { name: string; value: string } | undefined {
  for (const lower of names) {
    for (const name of [lower, lower.toUpperCase()]) {
      const value = env[name];
      if (value) return { name, value };
    }
  }
  return undefined;
}

/** A proxy URL as it may be shown: the user name and password dropped. */
export function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, "$1");
}

/**
 * Whether NO_PROXY sends this host straight, as Node-RED's http request node decides: `*` for every
 * host; entries split by commas or spaces; `host` an exact match, `.contoso.com` or `*.contoso.com`
 * a domain suffix; `:port` only for that port.
 */
export function bypassesProxy(noProxy: string, hostname: string, port: number): boolean {
  if (!noProxy) return false;
  if (noProxy === "*") return true;
  const host = hostname.toLowerCase();
  return noProxy.split(/[,\s]/).some((entry) => {
    if (!entry) return false;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    if (withPort && Number(withPort[2]) !== port) return false;
    const pattern = withPort ? withPort[1] : entry;
    if (!/^[.*]/.test(pattern)) return host === pattern;
    return host.endsWith(pattern.startsWith("*") ? pattern.slice(1) : pattern);
  });
}

/** Whether a request to this URL goes through the proxy: HTTPS targets that NO_PROXY leaves to it. */
export function goesThroughProxy(route: ProxyRoute, target: URL): boolean {
  if (target.protocol !== "https:") return false;
  return !bypassesProxy(route.noProxy, target.hostname, Number(target.port) || 443);
}

/**
 * Tunnels through the proxy with CONNECT (hpagent, the agent Node-RED's http request node uses), keeps
 * the tunnels alive like any socket, and turns a refused proxy or a CONNECT answered 407 or 502 into
 * errors that name the proxy.
 */
export class ProxyTunnelAgent extends HttpsProxyAgent {
  constructor(
    private readonly route: ProxyRoute,
    tls: TlsOptions,
  ) {
    // The connection's TLS options (a private CA, a client certificate) are for the target behind the tunnel.
    const headers = route.authorization ? { "proxy-authorization": route.authorization } : {};
    super({ keepAlive: true, ...tls, proxy: route.url, proxyRequestOptions: { headers } });
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const target = `${options.host}:${options.port}`;
    return super.createConnection(options, (err, stream) => callback?.(err ? proxyFailure(this.route, err, target) : null, stream));
  }
}

/** hpagent reports a CONNECT answered with anything but 200 as "Bad response: <status>". */
function proxyFailure(route: ProxyRoute, err: Error, target: string): ProxyFailure {
  const status = /^Bad response: (\d+)$/.exec(err.message)?.[1];
  return status ? tunnelRefused(route, Number(status), target) : unreachableProxy(route, err);
}

function unreachableProxy(route: ProxyRoute, err: unknown): ProxyFailure {
  const { code = "ProxyUnreachable", message = "" } = (err ?? {}) as { code?: string; message?: string };
  const why =
    code === "ECONNREFUSED"
      ? "the connection was refused. Check the proxy's host and port, and that the proxy is running"
      : code === "ENOTFOUND"
        ? "its host name was not found. Check the proxy setting for typos"
        : message || code;
  return new ProxyFailure(`Cannot reach the proxy ${route.label}: ${why}`, code);
}

function tunnelRefused(route: ProxyRoute, statusCode: number, target: string): ProxyFailure {
  const status = `HTTP ${statusCode}${STATUS_CODES[statusCode] ? ` ${STATUS_CODES[statusCode]}` : ""}`;
  if (statusCode === 407) {
    const message = route.authorization
      ? `The proxy ${route.label} did not accept the proxy user name and password (${status}). Check the connection's proxy user and proxy password`
      : `The proxy ${route.label} asks for a user name and password (${status}). Fill in the connection's proxy user and proxy password`;
    return new ProxyFailure(message, "ProxyAuthenticationRequired");
  }
  return new ProxyFailure(
    `The proxy ${route.label} could not open a connection to ${target} (${status}). Check that the proxy allows HTTPS to this host, and the URL`,
    "ProxyTunnelFailed",
  );
}
