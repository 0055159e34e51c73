// Plain HTTPS client for black-box tests of the emulator: trusts the emulator CA through an agent
// (never through NODE_EXTRA_CA_CERTS), and returns status, headers and body text as received.
import { after, before, beforeEach } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import path from "node:path";
import { startEmulator, type RunningEmulator } from "../../emulator";

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values as sent, one pair per line (repeated headers stay separate). */
  rawHeaders: string[];
  text: string;
  /** Body parsed as JSON (throws when it is not). */
  json(): any;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | object;
  timeoutMs?: number;
}

/** One shared CA folder per test run, like scripts/test.ts uses. */
export function startTestEmulator(): Promise<RunningEmulator> {
  const caDir = process.env.DATAVERSE_TEST_CA_DIR ?? path.resolve(__dirname, "..", "..", ".run", "test-ca");
  return startEmulator({ caDir, quiet: true });
}

/**
 * Starts one emulator and client for a test file, resets the emulator before each test, and hands
 * them to `use`. Pass `reset` to reset some other way (over the HTTP control API, say).
 */
export function useEmulator(use: (emu: RunningEmulator, client: Client) => void, reset?: (emu: RunningEmulator, client: Client) => unknown): void {
  let emu: RunningEmulator;
  let client: Client;
  before(async () => {
    emu = await startTestEmulator();
    client = new Client(emu);
    use(emu, client);
  });
  after(async () => {
    client.close();
    await emu.close();
  });
  beforeEach(async () => {
    await (reset ? reset(emu, client) : emu.control.reset());
    client.forgetToken();
  });
}

export class Client {
  readonly agent: https.Agent;
  constructor(readonly emu: RunningEmulator) {
    this.agent = new https.Agent({ ca: emu.caPem, keepAlive: true });
  }

  request(method: string, url: string, options: RequestOptions = {}): Promise<HttpResult> {
    const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["Content-Type"] = "application/json; charset=utf-8";
    }
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            text,
            json: () => JSON.parse(text),
          }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error("client timeout")));
      req.end(body);
    });
  }

  /** POST to the v2 token endpoint with a form body built from `params` (or a raw string). */
  token(params: Record<string, string> | string, tenant = this.emu.tenantId, headers: Record<string, string> = {}): Promise<HttpResult> {
    const body = typeof params === "string" ? params : new URLSearchParams(params).toString();
    return this.request("POST", `https://${this.emu.authorityHost}/${tenant}/oauth2/v2.0/token`, {
      headers: { "Content-Type": "application/x-www-form-urlencoded;charset=utf-8", ...headers },
      body,
    });
  }

  /** A fresh access token for the main app (or `app`). */
  async accessToken(app: { clientId: string; clientSecret: string } = this.emu): Promise<string> {
    const res = await this.token({
      grant_type: "client_credentials",
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: `${this.emu.dataverseUrl}/.default`,
    });
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
    return res.json().access_token;
  }

  /** A Web API call relative to the service root; `token` defaults to a cached main-app token. */
  async api(method: string, resource: string, options: RequestOptions & { token?: string | null } = {}): Promise<HttpResult> {
    const token = options.token === undefined ? (this.cachedToken ??= await this.accessToken()) : options.token;
    const headers: Record<string, string> = { Accept: "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0", ...options.headers };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    return this.request(method, `${this.emu.dataverseUrl}/api/data/v9.2/${resource}`, { ...options, headers });
  }

  /** `POST $batch` with a body built from `items`. */
  batch(items: BatchItem[], headers: Record<string, string> = {}): Promise<HttpResult> {
    const { contentType, body } = batchBody(items);
    return this.api("POST", "$batch", { headers: { "Content-Type": contentType, ...headers }, body });
  }

  /** The HTTP control API. */
  async control(method: string, route: string, body?: unknown): Promise<any> {
    const res = await this.request(method, `${this.emu.dataverseUrl}/_emulator/${route}`, { body: body as object });
    if (res.status >= 400) throw new Error(`control ${method} ${route}: ${res.status} ${res.text}`);
    return res.json();
  }

  /** Forget the cached token (after a reset or invalidation). */
  forgetToken(): void {
    this.cachedToken = undefined;
  }

  close(): void {
    this.agent.destroy();
  }

  private cachedToken?: string;
}

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The id in an OData-EntityId header. */
export function idFromEntityId(header: string | string[] | undefined): string {
  const m = String(header).match(/\(([0-9a-f-]{36})\)$/);
  if (!m) throw new Error(`no id in OData-EntityId '${header}'`);
  return m[1];
}

// ---------------------------------------------------------------------------------------------
// $batch bodies and answers, written and read here without the emulator's own multipart code.

export interface BatchRequest {
  method: string;
  /** As on the request line: `/api/data/v9.2/accounts`, an absolute URL, `$1`, … */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  contentId?: string;
}

export type BatchItem = BatchRequest | { changeSet: BatchRequest[] };

function requestPart(r: BatchRequest): string[] {
  const body = r.body === undefined ? undefined : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  const headers = { ...(body === undefined ? {} : { "Content-Type": "application/json; type=entry" }), ...r.headers };
  return [
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    ...(r.contentId === undefined ? [] : [`Content-ID: ${r.contentId}`]),
    "",
    `${r.method} ${r.url} HTTP/1.1`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "",
    body ?? "",
  ];
}

/** A `$batch` body with CRLF line ends and its Content-Type (boundary quoted, as Microsoft's samples write it). */
export function batchBody(items: BatchItem[], boundary = "batch_80dd1615"): { contentType: string; body: string } {
  const lines: string[] = [];
  items.forEach((item, i) => {
    lines.push(`--${boundary}`);
    if ("changeSet" in item) {
      const cs = `changeset_${i}`;
      lines.push(`Content-Type: multipart/mixed; boundary="${cs}"`, "");
      for (const r of item.changeSet) lines.push(`--${cs}`, ...requestPart(r));
      lines.push(`--${cs}--`, "");
    } else lines.push(...requestPart(item));
  });
  lines.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary="${boundary}"`, body: lines.join("\r\n") };
}

export interface BatchPart {
  status: number;
  /** Inner response headers, names lowercased. */
  headers: Record<string, string>;
  /** Part headers (Content-Type, Content-ID…), names lowercased. */
  partHeaders: Record<string, string>;
  body: string;
  json(): any;
}

function headerBlock(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
}

function splitMultipart(text: string, boundary: string): string[] {
  const end = text.indexOf(`\r\n--${boundary}--`);
  assert.ok(end >= 0, `closing delimiter --${boundary}-- missing`);
  return text
    .slice(0, end)
    .split(`--${boundary}\r\n`)
    .slice(1)
    .map((p) => p.replace(/\r\n$/, ""));
}

function readPart(part: string): BatchPart | BatchPart[] {
  const blank = part.indexOf("\r\n\r\n");
  const partHeaders = headerBlock(part.slice(0, blank).split("\r\n"));
  const content = part.slice(blank + 4);
  const nested = partHeaders["content-type"].match(/^multipart\/mixed; boundary=(changesetresponse_[0-9a-f-]{36})$/);
  if (nested) return splitMultipart(`${content}\r\n`, nested[1]).map((p) => readPart(p) as BatchPart);
  assert.equal(partHeaders["content-type"], "application/http");
  const innerBlank = content.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = content.slice(0, innerBlank).split("\r\n");
  const body = content.slice(innerBlank + 4);
  return { status: Number(statusLine.split(" ")[1]), headers: headerBlock(headerLines), partHeaders, body, json: () => JSON.parse(body) };
}

/** The parts of a `$batch` answer in order; a change set's answers come as an array. */
export function readBatchResponse(res: HttpResult): Array<BatchPart | BatchPart[]> {
  const boundary = String(res.headers["content-type"]).match(/^multipart\/mixed; boundary=(batchresponse_[0-9a-f-]{36})$/)?.[1];
  assert.ok(boundary, `not a batch answer: ${res.headers["content-type"]} ${res.text}`);
  assert.ok(!/[^\r]\n/.test(res.text), "every line ends with CRLF");
  return splitMultipart(res.text, boundary).map(readPart);
}
