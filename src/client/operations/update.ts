/**
 * Update (a missing row is an error) or upsert (a missing row is created) one row by id or alternate
 * key; an etag makes the write conditional.
 */
import { rowPath } from "../odata";
import type { DataverseResult } from "../response";
import { checkEtag, checkRow, checkRowId } from "../validate";
import { inputError } from "../errors";
import { bindRowLookups } from "../lookups";
import { resolveTable, type CallOptions, type OperationContext } from "./context";
import { bulkWrite, preferReturn, writeResult } from "./write";

export type UpdateMode = "update" | "upsert";

export interface UpdateOptions extends CallOptions {
  mode?: unknown;
  etag?: unknown;
  returnRow?: boolean;
}

export async function update(ctx: OperationContext, table: unknown, rowId: unknown, row: unknown, options: UpdateOptions = {}): Promise<DataverseResult> {
  const ref = checkRowId(rowId);
  const given = checkRow(row);
  const mode = options.mode ?? "update";
  if (mode !== "update" && mode !== "upsert") throw inputError("mode", `mode must be update or upsert, not '${String(mode)}'`);
  const etag = checkEtag(options.etag);
  const { set, info } = await resolveTable(ctx, table);
  const body = await bindRowLookups(ctx, info, given);
  // update-only: If-Match * makes a missing row a 404 instead of creating it; an etag makes it conditional.
  const condition = etag ? { "If-Match": etag } : mode === "update" ? { "If-Match": "*" } : undefined;
  // Addressed by key, Dataverse answers with the key, not the id: ask for just the id column instead.
  const idOnly = "key" in ref && !options.returnRow && info?.primaryIdAttribute !== undefined;
  // Upserts, and updates of an existing row by id, may go together; conditional writes go alone.
  const combinable = !etag && !options.returnRow && (mode === "upsert" || "id" in ref);
  const bulk = combinable
    ? await bulkWrite(ctx, info, mode === "upsert" ? "UpsertMultiple" : "UpdateMultiple", body, "id" in ref ? { id: ref.id } : { key: ref.key })
    : undefined;
  const res = await ctx.send(
    {
      method: "PATCH",
      bulk,
      path: rowPath(set, ref) + (idOnly ? `?$select=${info!.primaryIdAttribute}` : ""),
      body,
      table: set,
      headers: { ...condition, ...preferReturn(options.returnRow || idOnly) },
      expect: options.returnRow || idOnly ? "json" : "any",
      // Repeating an upsert or an update-if-exists leaves the same row; an etag-conditional write does not.
      idempotent: !etag,
    },
    options.signal,
  );
  const result = writeResult(res, info, "id" in ref ? ref.id : undefined);
  if (idOnly) delete result.row;
  return { ...result, rowId: result.rowId ?? ("key" in ref ? ref.key : undefined) };
}
