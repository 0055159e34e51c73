/**
 * The $batch wire format (multipart/mixed): building a request of operations and change sets, and
 * reading the answer's parts back in order. Used by the batch node and by bulk writes' fallback.
 */
import { randomUUID } from "node:crypto";
import { JSON_CONTENT_TYPE } from "./odata";

export interface BatchOperation {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Relative to the Web API root (`accounts(…)`), or a Content-ID reference (`$1`). */
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A top-level operation, or a change set: operations applied all or nothing, numbered by Content-ID from 1. */
export type BatchItem = BatchOperation | { changeSet: BatchOperation[] };

export interface BatchPart {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  contentId?: string;
}

const CRLF = "\r\n";

export function buildBatch(apiPath: string, items: BatchItem[]): { contentType: string; text: string } {
  const boundary = `batch_${randomUUID()}`;
  const lines: string[] = [];
  let contentId = 0;
  for (const item of items) {
    lines.push(`--${boundary}`);
    if ("changeSet" in item) {
      const changeSet = `changeset_${randomUUID()}`;
      lines.push(`Content-Type: multipart/mixed; boundary=${changeSet}`, "");
      for (const op of item.changeSet) {
        lines.push(`--${changeSet}`, ...operationLines(apiPath, op, ++contentId));
      }
      lines.push(`--${changeSet}--`);
    } else {
      lines.push(...operationLines(apiPath, item));
    }
  }
  lines.push(`--${boundary}--`, "");
  return { contentType: `multipart/mixed; boundary=${boundary}`, text: lines.join(CRLF) };
}

function operationLines(apiPath: string, op: BatchOperation, contentId?: number): string[] {
  const url = op.path.startsWith("$") ? op.path : `${apiPath}${op.path}`;
  const body = op.body === undefined ? undefined : JSON.stringify(op.body);
  const headers = {
    ...(body !== undefined ? { "Content-Type": `${JSON_CONTENT_TYPE}`, "Content-Length": String(Buffer.byteLength(body)) } : {}),
    ...op.headers,
  };
  return [
    "Content-Type: application/http",
    "Content-Transfer-Encoding: binary",
    ...(contentId === undefined ? [] : [`Content-ID: ${contentId}`]),
    "",
    `${op.method} ${url} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    body ?? "",
  ];
}

/** The answer's parts in request order; change-set parts carry their Content-ID. */
export function parseBatchResponse(contentType: string | undefined, text: string): BatchPart[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error(`the $batch answer is not multipart (${contentType ?? "no content type"})`);
  const parts: BatchPart[] = [];
  for (const raw of splitParts(text, boundary)) {
    const { headers, body } = splitHead(raw);
    const inner = boundaryOf(headers["content-type"]);
    if (inner) {
      for (const nested of splitParts(body, inner)) parts.push(httpPart(splitHead(nested)));
    } else {
      parts.push(httpPart({ headers, body }));
    }
  }
  return parts;
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/mixed/i.test(contentType)) return undefined;
  return /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
}

function splitParts(text: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const sections = text.split(delimiter);
  // Before the first delimiter is the preamble; from the closing `--boundary--` on, the epilogue.
  const parts: string[] = [];
  for (const section of sections.slice(1)) {
    if (section.startsWith("--")) break;
    parts.push(section.replace(/^\r?\n/, "").replace(/\r?\n$/, ""));
  }
  return parts;
}

function splitHead(raw: string): { headers: Record<string, string>; body: string; startLine?: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : "";
  const lines = head.split(/\r?\n/);
  const headers: Record<string, string> = {};
  let startLine: string | undefined;
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (/^HTTP\/\d/.test(line)) startLine = line;
    else if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body, startLine };
}

/** An application/http part: its MIME headers, then the inner HTTP answer. */
function httpPart(mime: { headers: Record<string, string>; body: string }): BatchPart {
  const answer = splitHead(mime.body);
  const status = Number(/^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(answer.startLine ?? "")?.[1] ?? 0);
  const text = answer.body.trim();
  let body: unknown = text === "" ? undefined : text;
  if (text.startsWith("{")) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { status, headers: answer.headers, body, ...(mime.headers["content-id"] ? { contentId: mime.headers["content-id"] } : {}) };
}
