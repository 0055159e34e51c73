/** Retrieve one row by id or alternate key. */
import { queryString, rowPath } from "../odata";
import { asRow, cleanRow, etagOf, meta, type DataverseResult } from "../response";
import { checkExpand, checkRowId, checkSelect } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";

export interface RetrieveOptions extends CallOptions {
  select?: unknown;
  expand?: unknown;
}

export async function retrieve(ctx: OperationContext, table: unknown, rowId: unknown, options: RetrieveOptions = {}): Promise<DataverseResult> {
  const ref = checkRowId(rowId);
  const query = queryString({ select: checkSelect(options.select), expand: checkExpand(options.expand) });
  const { set, info } = await resolveTable(ctx, table);
  const res = await ctx.send({ method: "GET", path: rowPath(set, ref) + query, table: set, idempotent: true, expect: "json" }, options.signal);
  const row = cleanRow(asRow(res.body));
  const id = "id" in ref ? ref.id : info?.primaryIdAttribute ? row[info.primaryIdAttribute] : undefined;
  return { ...meta(res), row, rowId: typeof id === "string" ? id : undefined, etag: etagOf(res.body, res.headers.etag) };
}
