/**
 * The request options every node that talks to Dataverse for a message offers (callerObjectId,
 * bypassPlugins, bypassBusinessLogic, suppressDuplicateDetection, tag): TypedInput properties read
 * against the message. A flow saved before they existed has none of them: each is then off.
 */
import type { RequestOptionsInput } from "../client/operations/request-options";
import { REQUEST_OPTION_NAMES } from "../client/operations/request-options";
import type { ReadInput } from "./action-node";

/** Reads every request option of the node; the client checks them before anything is sent. */
export async function readRequestOptions(input: ReadInput): Promise<RequestOptionsInput> {
  const options: RequestOptionsInput = {};
  for (const name of REQUEST_OPTION_NAMES) options[name] = await input(name);
  return options;
}
