/**
 * Create a row. The row gets an id chosen here (unless it has one), so that retrying a create whose
 * answer was lost cannot make a second row: the retry meets its own row (412), which is then confirmed.
 */
import { randomUUID } from "node:crypto";
import { rowPath } from "../odata";
import type { ApiRequest, ApiResponse } from "../request";
import type { DataverseResult } from "../response";
import { bindRowLookups } from "../lookups";
import { checkRow, isGuid } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";
import { bulkWrite, preferReturn, writeResult } from "./write";

export interface CreateOptions extends CallOptions {
  returnRow?: boolean;
}

export async function create(ctx: OperationContext, table: unknown, row: unknown, options: CreateOptions = {}): Promise<DataverseResult> {
  let body = checkRow(row);
  const { set, info } = await resolveTable(ctx, table);
  body = await bindRowLookups(ctx, info, body);
  const idColumn = info?.primaryIdAttribute;
  let id: string | undefined;
  let generatedId = false;
  if (idColumn) {
    const given = body[idColumn];
    if (given === undefined) {
      id = randomUUID();
      generatedId = true;
      body = { ...body, [idColumn]: id };
    } else if (typeof given === "string" && isGuid(given)) {
      id = given.toLowerCase();
    }
  }
  // Without an id of our own a bulk create could not be retried safely, so it goes alone.
  const bulk = id && !options.returnRow ? await bulkWrite(ctx, info, "CreateMultiple", body, { id, generatedId }) : undefined;
  const res = await ctx.send(
    {
      method: "POST",
      path: set,
      bulk,
      body,
      table: set,
      headers: preferReturn(options.returnRow),
      expect: options.returnRow ? "json" : "any",
      idempotent: id !== undefined,
      afterLostAnswer: id ? (answer, exchange) => confirmCreated(ctx, answer, exchange, set, id, options.returnRow === true) : undefined,
    },
    options.signal,
  );
  return writeResult(res, info, id);
}

/** After an unanswered create, a 412 for our own id means that create went through: fetch what it made. */
async function confirmCreated(
  ctx: OperationContext,
  answer: ApiResponse,
  exchange: (req: ApiRequest) => Promise<ApiResponse>,
  set: string,
  id: string,
  returnRow: boolean,
): Promise<ApiResponse | undefined> {
  if (answer.status !== 412) return undefined;
  const found = await exchange({ method: "GET", path: rowPath(set, { id }), idempotent: true });
  // A busy or failing check is answered as such, so the create is tried (and checked) again.
  if (found.status === 429 || found.status >= 500) return found;
  if (found.status !== 200) return undefined;
  const headers = { ...found.headers, "odata-entityid": `${ctx.apiBase}${rowPath(set, { id })}` };
  return returnRow ? { status: 201, headers, body: found.body } : { status: 204, headers, body: undefined };
}
