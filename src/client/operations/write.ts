/** What create, update and upsert answer: the row's id, and the row itself when it was asked for. */
import type { TableInfo } from "../metadata";
import type { ApiResponse } from "../request";
import { asRow, cleanRow, etagOf, idFromEntityId, meta, type DataverseResult } from "../response";

export function preferReturn(returnRow: boolean | undefined): Record<string, string> {
  return returnRow ? { Prefer: "return=representation" } : {};
}

export function writeResult(res: ApiResponse, info: TableInfo | undefined, knownId?: string): DataverseResult {
  const idFromHeader = idFromEntityId(res.headers["odata-entityid"]);
  if (res.status === 204) return { ...meta(res), rowId: knownId ?? idFromHeader };
  const row = cleanRow(asRow(res.body));
  const idFromRow = info?.primaryIdAttribute ? row[info.primaryIdAttribute] : undefined;
  return {
    ...meta(res),
    row,
    rowId: knownId ?? idFromHeader ?? (typeof idFromRow === "string" ? idFromRow : undefined),
    etag: etagOf(res.body, res.headers.etag),
  };
}
