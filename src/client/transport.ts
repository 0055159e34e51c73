/**
 * The one HTTP transport of a connection: an axios instance on keep-alive agents, used for the Web API
 * and, through msalNetworkClient, for the token endpoint too, so TLS trust and the proxy are set in one place.
 */
import http from "node:http";
import https from "node:https";
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { goesThroughProxy, ProxyTunnelAgent, type ProxyRoute } from "./proxy";

export interface TlsOptions {
  /** PEM certificate authorities to trust instead of the default ones (a private CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface Transport {
  http: AxiosInstance;
  close(): void;
}

export function createTransport(tls: TlsOptions = {}, timeoutMs = 60_000, proxy?: ProxyRoute): Transport {
  const httpsAgent = new https.Agent({ keepAlive: true, ...tls });
  const httpAgent = new http.Agent({ keepAlive: true });
  const tunnelAgent = proxy && new ProxyTunnelAgent(proxy, tls);
  const instance = axios.create({
    httpAgent,
    httpsAgent,
    timeout: timeoutMs,
    // axios's own proxy option does not tunnel HTTPS with CONNECT: the proxy is the tunnel agent's job.
    proxy: false,
    // Every status is an answer to interpret, not an exception.
    validateStatus: () => true,
    maxRedirects: 0,
    transitional: { clarifyTimeoutError: true },
    // Bodies go out as the JSON text we made, and come back parsed once, here: axios's default
    // transforms inspect every payload and header, a real cost at thousands of requests a second.
    transformRequest: [(data: unknown) => data],
    transformResponse: [parseJson],
  });
  if (proxy && tunnelAgent) useProxy(instance, proxy, tunnelAgent);
  return {
    http: instance,
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
      tunnelAgent?.destroy();
    },
  };
}

/** Each HTTPS request whose host NO_PROXY does not exempt goes through the tunnel agent (decided once per origin). */
function useProxy(instance: AxiosInstance, proxy: ProxyRoute, tunnelAgent: https.Agent): void {
  const decided = new Map<string, boolean>();
  instance.interceptors.request.use(
    (config) => {
      if (!config.url) return config;
      const target = new URL(config.url);
      let proxied = decided.get(target.origin);
      if (proxied === undefined) decided.set(target.origin, (proxied = goesThroughProxy(proxy, target)));
      if (proxied) config.httpsAgent = tunnelAgent;
      return config;
    },
    undefined,
    { synchronous: true },
  );
}

/** JSON when it is JSON (Dataverse's bodies), the text otherwise (an HTML error page), nothing when empty. */
function parseJson(data: unknown): unknown {
  if (typeof data !== "string" || data === "") return data || undefined;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

export function flattenHeaders(headers: AxiosResponse["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

/** What msal-node would otherwise hide: a transport failure, or an error answer it reduces to a generic code. */
export interface NetworkObserver {
  onTransportError(err: unknown): void;
  onErrorResponse(status: number, body: unknown): void;
}

/**
 * msal-node's network module on our transport. msal turns a thrown error into a bare "network_error",
 * and an error answer to its metadata request into "endpoints_resolution_error", so both are reported
 * to the observer first.
 */
export function msalNetworkClient(http: AxiosInstance, observer: NetworkObserver): INetworkModule {
  async function send<T>(method: "GET" | "POST", url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    try {
      const response = await http.request({
        method,
        url,
        headers: options?.headers,
        data: options?.body,
        timeout,
        responseType: "text",
        transformResponse: (data: unknown) => data,
      });
      const body = parseTokenBody(response);
      if (response.status < 400) return { status: response.status, headers: flattenHeaders(response.headers), body: body as T };
      observer.onErrorResponse(response.status, body);
      // For a 429 or 5xx msal would remember a throttle and fail every request client-side for up to
      // 60 s; our scheduler does the backing off, so msal sees a plain error (the real status was reported).
      const throttling = response.status === 429 || response.status >= 500;
      const { "retry-after": _retryAfter, ...headers } = flattenHeaders(response.headers);
      return { status: throttling ? 400 : response.status, headers: throttling ? headers : flattenHeaders(response.headers), body: body as T };
    } catch (err) {
      observer.onTransportError(err);
      throw err;
    }
  }
  return {
    sendGetRequestAsync: (url, options, timeout) => send("GET", url, options, timeout),
    sendPostRequestAsync: (url, options) => send("POST", url, options),
  };
}

/** msal needs a parsed object; an HTML error page becomes an OAuth-style error it can report. */
function parseTokenBody(response: AxiosResponse): unknown {
  const text = typeof response.data === "string" ? response.data : "";
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object") return parsed;
  } catch {
    // fall through
  }
  return {
    error: response.status >= 500 || response.status === 429 ? "temporarily_unavailable" : "invalid_response",
    error_description: `The sign-in endpoint answered HTTP ${response.status} without a JSON body`,
  };
}
