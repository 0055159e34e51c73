// The web servers behind the environment. Dataverse counts service protection limits per user and
// per web server; a load balancer spreads requests over the servers unless the ARRAffinity cookie
// of an earlier answer pins the client to one of them (which is why clients should not send it).
import { createHash } from "node:crypto";
import type { EmulatorConfig } from "./config";
import { ServiceProtection } from "./limits";

export const AFFINITY_COOKIE = "ARRAffinity";

export class WebServer {
  readonly limits: ServiceProtection;
  /** Stable per index, 64 hex digits like the real cookie value. */
  readonly id: string;
  /** Requests routed to this server (admitted or throttled by its limits). */
  requests = 0;
  /** 429s this server's limits answered. */
  throttled = 0;

  constructor(
    readonly index: number,
    config: EmulatorConfig,
  ) {
    this.limits = new ServiceProtection(config);
    this.id = createHash("sha256").update(`dataverse-emulator-web-server-${index}`).digest("hex");
  }

  resetCounters(): void {
    this.requests = 0;
    this.throttled = 0;
    this.limits.peak = this.limits.current;
  }
}

export interface WebServerStats {
  index: number;
  /** The ARRAffinity cookie value that pins a client to this server. */
  id: string;
  requests: number;
  throttled: number;
  currentConcurrency: number;
  peakConcurrency: number;
  /** Requests counted in the current window. */
  windowRequests: number;
  /** Execution time counted in the current window, emulated ms. */
  windowExecutionMs: number;
}

/** Value of one cookie in a `Cookie` header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class WebServers {
  private servers: WebServer[] = [];
  private next = 0;

  constructor(private readonly config: EmulatorConfig) {}

  /** The first `webServers` servers (created on first use, so the setting can change at run time). */
  list(): WebServer[] {
    while (this.servers.length < this.config.webServers) this.servers.push(new WebServer(this.servers.length, this.config));
    return this.servers.slice(0, this.config.webServers);
  }

  /**
   * The server a request goes to: the one its ARRAffinity cookie names, else the next in turn.
   * `setCookie` is the header pinning the client there, sent when the request was not pinned yet.
   */
  route(cookieHeader: string | undefined): { server: WebServer; setCookie?: string } {
    const servers = this.list();
    const pinned = cookieValue(cookieHeader, AFFINITY_COOKIE);
    const server = servers.find((s) => s.id === pinned);
    if (server) return { server };
    const chosen = servers[this.next++ % servers.length];
    return { server: chosen, setCookie: `${AFFINITY_COOKIE}=${chosen.id}; Path=/; HttpOnly; Secure` };
  }

  snapshot(): WebServerStats[] {
    return this.list().map((s) => {
      const window = s.limits.windowTotals();
      return {
        index: s.index,
        id: s.id,
        requests: s.requests,
        throttled: s.throttled,
        currentConcurrency: s.limits.current,
        peakConcurrency: s.limits.peak,
        windowRequests: window.requests,
        windowExecutionMs: window.executionMs,
      };
    });
  }

  resetCounters(): void {
    for (const s of this.servers) s.resetCounters();
  }

  /** Back to the state after start: windows, counters and the round-robin turn. */
  clear(): void {
    for (const s of this.servers) s.limits.clear();
    this.resetCounters();
    this.next = 0;
  }
}
