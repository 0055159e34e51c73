// multipart/mixed as `$batch` uses it: reading the request (parts, change sets, the HTTP requests
// inside) and writing the answer in the real service's layout (CRLF, part headers, inner status lines).
import { STATUS_CODES } from "node:http";
import { badRequest } from "./errors";

export interface MimePart {
  /** Header names lowercased. */
  headers: Map<string, string>;
  content: string;
}

export interface HttpRequestText {
  method: string;
  /** As written on the request line: absolute URL, `/api/data/…`, `$1/…` or relative. */
  url: string;
  /** Header names lowercased. */
  headers: Record<string, string>;
  body: string;
}

/** The boundary of a `multipart/mixed; boundary=…` content type (quoted or not); undefined when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  const [type, ...params] = (contentType ?? "").split(";");
  if (type.trim().toLowerCase() !== "multipart/mixed") return undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq > 0 && param.slice(0, eq).trim().toLowerCase() === "boundary") {
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      return value || undefined;
    }
  }
  return undefined;
}

/** `Name: value` lines up to the first empty line; returns the headers and the index after that line. */
function readHeaders(lines: string[], from: number): { headers: Map<string, string>; next: number } {
  const headers = new Map<string, string>();
  let i = from;
  for (; i < lines.length && lines[i].trim() !== ""; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) throw badRequest(`The batch request contains an invalid header line '${lines[i]}'.`);
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { headers, next: i + 1 };
}

/**
 * The parts of a multipart body. Line ends may be CRLF or LF (JSON bodies do not care); the line
 * end before a delimiter belongs to the delimiter, so a part's content never ends with it.
 */
export function readParts(body: string, boundary: string): MimePart[] {
  const lines = body.replace(/\r\n/g, "\n").split("\n");
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) {
        const { headers, next } = readHeaders(current, 0);
        parts.push({ headers, content: current.slice(next).join("\n") });
      }
      if (trimmed !== delimiter) return parts;
      current = [];
    } else current?.push(line);
  }
  throw badRequest(`The batch request does not end with the closing delimiter '${delimiter}--'.`);
}

/** The HTTP request inside an `application/http` part. */
export function readHttpRequest(content: string): HttpRequestText {
  const lines = content.split("\n");
  let first = 0;
  while (first < lines.length && lines[first].trim() === "") first++;
  // Lenient about spaces inside the URL (hand-written batches leave `$filter=name eq 'x'` unencoded).
  const requestLine = lines[first]?.trim().match(/^([A-Za-z]+)\s+(.+?)(?:\s+HTTP\/\d\.\d)?$/);
  if (!requestLine) throw badRequest(`The batch request contains an invalid request line '${lines[first] ?? ""}'.`);
  const { headers, next } = readHeaders(lines, first + 1);
  return {
    method: requestLine[1].toUpperCase(),
    url: requestLine[2],
    headers: Object.fromEntries(headers),
    body: lines.slice(next).join("\n").trim(),
  };
}

export type HeaderList = Array<[string, string]>;

const headerLines = (headers: HeaderList) => headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");

/** An `application/http` part holding one response. */
export function httpResponsePart(partHeaders: HeaderList, status: number, headers: HeaderList, body = ""): string {
  const message = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n${headerLines(headers)}\r\n${body}`;
  return `${headerLines([["Content-Type", "application/http"], ["Content-Transfer-Encoding", "binary"], ...partHeaders])}\r\n${message}`;
}

/** A part holding a nested multipart body (a change set's answers). */
export function multipartPart(boundary: string, parts: string[]): string {
  return `${headerLines([["Content-Type", `multipart/mixed; boundary=${boundary}`]])}\r\n${multipartBody(boundary, parts)}`;
}

/** `--b` + part for each part, then `--b--` (no line end after it: the enclosing part or the caller adds one). */
export function multipartBody(boundary: string, parts: string[]): string {
  return `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("")}--${boundary}--`;
}
