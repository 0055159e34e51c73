/** What every operation works with: the pipeline, the metadata cache, and the Web API root. */
import type { MetadataCache, TableInfo } from "../metadata";
import type { ApiRequest, ApiResponse } from "../request";
import { checkTable } from "../validate";
import type { RequestOptions, RequestOptionsInput } from "./request-options";

export interface OperationContext {
  send(req: ApiRequest, signal?: AbortSignal): Promise<ApiResponse>;
  metadata: MetadataCache;
  /** `https://org.crm.dynamics.com/api/data/v9.2/` */
  apiBase: string;
  /** Writes may go together as bulk requests when they wait (the connection's bulk setting). */
  bulk: boolean;
  /** This call's checked request options; send() already puts them on every request it sends. */
  requestOptions?: RequestOptions;
}

/** Options every operation takes. */
export interface CallOptions {
  /** Withdraws the call: a call still waiting ends at once, unsent. */
  signal?: AbortSignal;
  /** Per-message request options (impersonation, bypassing custom logic, tag); checked before sending. */
  requestOptions?: RequestOptionsInput;
}

export interface ResolvedTable {
  /** The entity set name to put in the URL. */
  set: string;
  /** Its metadata, when it could be read. */
  info?: TableInfo;
}

/** A table given by entity set name or logical name, as the entity set to address. */
export async function resolveTable(ctx: OperationContext, value: unknown): Promise<ResolvedTable> {
  const name = checkTable(value);
  const info = await ctx.metadata.table(name);
  return { set: info?.entitySetName ?? name, info };
}
