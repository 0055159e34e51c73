/** Reading what Dataverse answers: the result every node puts in msg.dataverse, rows, ids and etags. */
import { requestIdOf } from "./pipeline";
import type { ApiResponse } from "./request";
import type { Row } from "./validate";

export interface DataverseResult<T = Row> {
  status: number;
  row?: T;
  /** The row's id, or the alternate key it was addressed by when its id cannot be known. */
  rowId?: string | Record<string, unknown>;
  etag?: string;
  requestId?: string;
  /** Operation-specific facts for msg.dataverse (a delete's `deleted`). */
  details?: Record<string, unknown>;
}

export function meta(res: ApiResponse): DataverseResult<never> {
  const requestId = requestIdOf(res.headers);
  return { status: res.status, ...(requestId ? { requestId } : {}) };
}

export function asRow(body: unknown): Row {
  return body && typeof body === "object" && !Array.isArray(body) && !Buffer.isBuffer(body) ? (body as Row) : {};
}

/** Rows as a flow sees them: the OData context is transport detail, the etag stays. */
export function cleanRow<T extends Record<string, unknown>>(body: T): T {
  const { ["@odata.context"]: _context, ...row } = body;
  return row as T;
}

export function etagOf(body: unknown, header: string | undefined): string | undefined {
  const fromBody = body && typeof body === "object" ? (body as Record<string, unknown>)["@odata.etag"] : undefined;
  return typeof fromBody === "string" ? fromBody : header || undefined;
}

/** The id in `OData-EntityId: https://org/api/data/v9.2/accounts(7eb682f1-…)`; undefined for the key form. */
export function idFromEntityId(header: string | undefined): string | undefined {
  const match = header ? /\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$/.exec(header) : null;
  return match?.[1].toLowerCase();
}

export function valuesOf(body: unknown): Row[] {
  const value = (body as { value?: unknown } | undefined)?.value;
  return Array.isArray(value) ? value : [];
}
