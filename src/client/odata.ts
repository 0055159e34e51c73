/** Building Web API requests: paths, key literals, query strings and headers. (Answers are read in response.ts.) */
import { connectionError } from "./errors";
import { isGuid, type AlternateKey, type KeyValue, type RowRef } from "./validate";

/** Web API versions a connection may name: Dataverse answers on all; on-premises servers only up to their own. */
const API_VERSIONS = ["8.0", "8.1", "8.2", "9.0", "9.1", "9.2"] as const;
const DEFAULT_API_VERSION = "9.2";

/** The version to use (default 9.2; a leading "v" is forgiven); throws a connection error for any other. */
export function checkApiVersion(value: unknown): string {
  const text = typeof value === "string" ? value.trim().replace(/^v/i, "") : "";
  if (text === "") return DEFAULT_API_VERSION;
  if (!(API_VERSIONS as readonly string[]).includes(text)) {
    throw connectionError(
      "apiVersion",
      `Web API version '${String(value).trim()}' is not supported: use one of ${API_VERSIONS.join(", ")} (Dataverse online: 9.2; on-premises: your server's version, for example 9.0 or 9.1)`,
    );
  }
  return text;
}

/** The Web API path of a version: /api/data/v9.2/ */
export function apiPath(apiVersion: string): string {
  return `/api/data/v${apiVersion}/`;
}

/** Headers every Web API request carries. */
export const ODATA_HEADERS: Readonly<Record<string, string>> = {
  Accept: "application/json",
  "OData-MaxVersion": "4.0",
  "OData-Version": "4.0",
};
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * One key value as an OData literal: strings single-quoted with embedded quotes doubled, then
 * percent-encoded; numbers and booleans bare. A GUID on a lookup column (`_x_value`) is a GUID literal.
 */
export function keyLiteral(column: string, value: KeyValue): string {
  if (typeof value !== "string") return String(value);
  if (/^_\w+_value$/.test(column) && isGuid(value)) return value;
  return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
}

export function keySegment(key: AlternateKey): string {
  return Object.entries(key)
    .map(([column, value]) => `${column}=${keyLiteral(column, value)}`)
    .join(",");
}

export function rowPath(table: string, ref: RowRef): string {
  return "id" in ref ? `${table}(${ref.id})` : `${table}(${keySegment(ref.key)})`;
}

export function queryString(options: { select?: string[]; expand?: string }): string {
  const parts: string[] = [];
  if (options.select?.length) parts.push(`$select=${options.select.join(",")}`);
  if (options.expand) parts.push(`$expand=${encodeURIComponent(options.expand)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Retry-After is seconds or an HTTP date; returns seconds (never negative), or undefined. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
