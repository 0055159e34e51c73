/** WhoAmI: who the connection signs in as. */
import { meta, type DataverseResult } from "../response";
import type { CallOptions, OperationContext } from "./context";

export interface WhoAmI {
  UserId: string;
  BusinessUnitId: string;
  OrganizationId: string;
}

export async function whoAmI(ctx: OperationContext, options: CallOptions = {}): Promise<DataverseResult<WhoAmI>> {
  const res = await ctx.send({ method: "GET", path: "WhoAmI", idempotent: true, expect: "json" }, options.signal);
  const body = res.body as Partial<WhoAmI>;
  return { ...meta(res), row: { UserId: String(body.UserId), BusinessUnitId: String(body.BusinessUnitId), OrganizationId: String(body.OrganizationId) } };
}
