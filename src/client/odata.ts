/** Building Web API requests: paths, key literals, query strings and headers. (Answers are read in response.ts.) */
import { isGuid, type AlternateKey, type KeyValue, type RowRef } from "./validate";

export const API_PATH = "/api/data/v9.2/";

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
