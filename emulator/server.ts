// The HTTPS plumbing both servers share: reading requests, the request log, fault injection,
// writing responses, and closing without waiting for hung or keep-alive connections.
import { createServer as createPlainServer, type IncomingMessage, type Server as PlainServer, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { faultAction, type FaultInjector, type FaultRuleState } from "./faults";
import type { RequestLog, RequestLogEntry, ServerName, Stats } from "./requestlog";
import { EmulatorClosedError, headerValue, preciseNow, type Timers } from "./util";

export interface EmuRequest {
  server: ServerName;
  method: string;
  /** Raw path (percent-encoded as received), without the query. */
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: Record<string, string>;
  body: string;
  /** The body as received, for binary bodies (file uploads). */
  bytes?: Buffer;
}

export interface EmuResponse {
  status: number;
  /** A list value is sent as one header line per item. */
  headers?: Record<string, string | number | string[]>;
  /** Text, or bytes (file downloads). */
  body?: string | Buffer;
  /** Not sent: facts the request log keeps about the request. */
  log?: Pick<RequestLogEntry, "operations" | "webServer" | "ranAs">;
}

/** One server's behaviour, plugged into the shared pipeline. */
export interface Site {
  server: ServerName;
  /** Answers requests that bypass logging, faults and limits (the control API); undefined = not one of those. */
  bypass?(req: EmuRequest): Promise<EmuResponse> | undefined;
  /** Updates the counters for a request that has just arrived. */
  count(req: EmuRequest): void;
  handle(req: EmuRequest): Promise<EmuResponse>;
  /** The answer of a "respond" / "invalid-json" fault rule. */
  faultResponse(rule: FaultRuleState, req: EmuRequest): EmuResponse;
}

export interface PipelineDeps {
  log: RequestLog;
  stats: Stats;
  faults: FaultInjector;
  timers: Timers;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, r: EmuResponse): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number | string[]> = { ...r.headers };
  const noBody = r.status === 204 || r.status === 304;
  if (!noBody) headers["Content-Length"] = Buffer.byteLength(r.body ?? "");
  res.writeHead(r.status, headers);
  res.end(noBody ? undefined : r.body);
}

/** Request listener running `site` behind the shared log / fault pipeline. */
export function pipeline(site: Site, deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    run(req, res).catch((err) => {
      if (err instanceof EmulatorClosedError) {
        res.destroy();
        return;
      }
      if (!res.headersSent && !res.destroyed) {
        const message = err instanceof Error ? err.message : String(err);
        send(res, {
          status: 500,
          headers: { "Content-Type": "application/json; charset=utf-8" },
          body: JSON.stringify({ error: { code: "0x80040216", message: `Unexpected emulator error: ${message}` } }),
        });
      } else res.destroy();
    });
  };

  async function run(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = preciseNow();
    const url = raw.url ?? "/";
    const q = url.indexOf("?");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers)) if (v !== undefined) headers[k] = headerValue(v)!;
    let bytes: Buffer;
    try {
      bytes = await readBody(raw);
    } catch {
      res.destroy();
      return;
    }
    const binary = /^application\/octet-stream/i.test(headers["content-type"] ?? "");
    const req: EmuRequest = {
      server: site.server,
      method: (raw.method ?? "GET").toUpperCase(),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? "" : url.slice(q + 1),
      headers,
      // File bytes are read as bytes only, and not kept in the log (a benchmark's uploads would fill memory).
      body: binary ? "" : bytes.toString("utf8"),
      bytes,
    };
    const body = binary ? `<${bytes.length} bytes>` : req.body;

    const bypassed = site.bypass?.(req);
    if (bypassed) {
      send(res, await bypassed);
      return;
    }

    site.count(req);
    const entry = deps.log.add({
      time: Math.floor(startedAt),
      server: site.server,
      method: req.method,
      path: req.path,
      query: req.query,
      headers,
      ...(body ? { body } : {}),
      status: 0,
      durationMs: null,
      startedAt,
      endedAt: null,
    });
    res.on("close", () => {
      entry.endedAt = preciseNow();
      entry.durationMs = entry.endedAt - startedAt;
      entry.status = res.writableFinished ? res.statusCode : 0;
      if (entry.status === 429) deps.stats.throttled++;
    });

    const rule = deps.faults.match(site.server, req.method, req.path);
    if (rule?.latencyMs) await deps.timers.sleep(rule.latencyMs);
    const action = rule ? faultAction(rule) : "pass";
    switch (action) {
      case "reset-before":
        raw.socket.destroy();
        return;
      case "hang":
        await deps.timers.forever();
        return;
      case "respond":
      case "invalid-json":
      case "html": {
        const faulted = site.faultResponse(rule!, req);
        Object.assign(entry, faulted.log);
        send(res, faulted);
        return;
      }
    }
    const response = await site.handle(req);
    Object.assign(entry, response.log);
    if (action === "reset-after") raw.socket.destroy();
    else send(res, response);
  }
}

export interface ServerHandle {
  server: Server | PlainServer;
  close(): Promise<void>;
}

/** An HTTPS server that remembers its connections so close() can cut them. */
export function createHttpsServer(tls: { key: string; cert: string }, listener: (req: IncomingMessage, res: ServerResponse) => void): ServerHandle {
  // Dataverse takes GET URLs up to about 32 KB (long FetchXML queries); Node's default stops at 16 KB.
  return tracked(createServer({ key: tls.key, cert: tls.cert, maxHeaderSize: 64 * 1024 }, listener));
}

/** A plain HTTP server, as the local managed identity endpoint of App Service is (http://localhost:…). */
export function createHttpServer(listener: (req: IncomingMessage, res: ServerResponse) => void): ServerHandle {
  return tracked(createPlainServer(listener));
}

function tracked(server: Server | PlainServer): ServerHandle {
  // Longer than typical client idle timeouts, so the client, not the server, ends idle keep-alive sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // TLS handshake failures (e.g. a client that does not trust the CA) are the client's problem.
  server.on("tlsClientError", () => undefined);
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

export function listen(server: Server | PlainServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
