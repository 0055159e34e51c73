/**
 * Delete one row by id or alternate key. Deleting is safe to repeat: a retry after a lost answer that
 * meets no row means the first try deleted it.
 */
import { DataverseError, UNKNOWN_CALLER } from "../errors";
import { rowPath } from "../odata";
import { meta, type DataverseResult } from "../response";
import { checkEtag, checkRowId } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";

export interface DeleteOptions extends CallOptions {
  etag?: unknown;
  /** A missing row is a success with `deleted: false` instead of a 404. */
  missingOk?: boolean;
}

const NOT_FOUND_CODES = new Set(["0x80040217", "0x80048d02"]);

export async function deleteRow(ctx: OperationContext, table: unknown, rowId: unknown, options: DeleteOptions = {}): Promise<DataverseResult> {
  const ref = checkRowId(rowId);
  const etag = checkEtag(options.etag);
  const { set } = await resolveTable(ctx, table);
  const given = "id" in ref ? ref.id : ref.key;
  try {
    const res = await ctx.send(
      {
        method: "DELETE",
        path: rowPath(set, ref),
        table: set,
        headers: etag ? { "If-Match": etag } : undefined,
        expect: "any",
        idempotent: true,
        afterLostAnswer: async (answer) => (answer.status === 404 ? { status: 204, headers: answer.headers, body: undefined } : undefined),
      },
      options.signal,
    );
    return { ...meta(res), rowId: given, details: { deleted: true } };
  } catch (err) {
    if (options.missingOk && err instanceof DataverseError && err.status === 404 && NOT_FOUND_CODES.has(err.code.toLowerCase()) && !unknownCaller(err)) {
      return { status: 404, rowId: given, requestId: err.requestId, details: { deleted: false } };
    }
    throw err;
  }
}

/** The user named by callerObjectId is missing, not the row. */
function unknownCaller(err: DataverseError): boolean {
  return UNKNOWN_CALLER.test(err.message);
}
