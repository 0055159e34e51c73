/** What create, update and upsert answer: the row's id, and the row itself when it was asked for. */
import type { TableInfo } from "../metadata";
import type { ApiResponse, BulkMessage, BulkWrite } from "../request";
import type { AlternateKey, Row } from "../validate";
import type { OperationContext } from "./context";
import { asRow, cleanRow, etagOf, idFromEntityId, meta, type DataverseResult } from "../response";

export function preferReturn(returnRow: boolean | undefined): Record<string, string> {
  return returnRow ? { Prefer: "return=representation" } : {};
}

export function writeResult(res: ApiResponse, info: TableInfo | undefined, knownId?: string): DataverseResult {
  const idFromHeader = idFromEntityId(res.headers["odata-entityid"]);
  const details = res.bulk ? { details: { bulk: res.bulk } } : {};
  if (res.status === 204) return { ...meta(res), rowId: knownId ?? idFromHeader, ...details };
  const row = cleanRow(asRow(res.body));
  const idFromRow = info?.primaryIdAttribute ? row[info.primaryIdAttribute] : undefined;
  return {
    ...meta(res),
    row,
    rowId: knownId ?? idFromHeader ?? (typeof idFromRow === "string" ? idFromRow : undefined),
    etag: etagOf(res.body, res.headers.etag),
    ...details,
  };
}

/**
 * How a write may go together with others of its kind (automatic bulk): as the table's bulk message,
 * or in a $batch where the table lacks it. Undefined when it must go alone.
 */
export async function bulkWrite(
  ctx: OperationContext,
  info: TableInfo | undefined,
  message: BulkMessage,
  row: Row,
  address: { id?: string; key?: AlternateKey; generatedId?: boolean },
): Promise<BulkWrite | undefined> {
  if (!ctx.bulk || !info?.primaryIdAttribute) return undefined;
  // sdkmessagefilters lists no UpsertMultiple: it works where both CreateMultiple and UpdateMultiple do.
  const needs = message === "UpsertMultiple" ? ["CreateMultiple", "UpdateMultiple"] : [message];
  const supported = (await Promise.all(needs.map((m) => ctx.metadata.supports(info.logicalName, m)))).every(Boolean);
  return {
    via: supported ? message : "$batch",
    message,
    set: info.entitySetName,
    logicalName: info.logicalName,
    row,
    idColumn: info.primaryIdAttribute,
    ...address,
  };
}
