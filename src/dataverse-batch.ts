/**
 * Several operations in one $batch request. msg.payload = [{op, table, rowId?, row?, etag?, select?}];
 * the answer is msg.payload = one result per operation, in order.
 */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-batch", {
    defaults: { payload: { value: "payload", type: "msg" } },
    async run({ client, msg, input, config, signal }) {
      const outcome = await client.batch(msg.payload, { atomic: config.atomic === true, requestOptions: await readRequestOptions(input), signal });
      return { status: outcome.status, requestId: outcome.requestId, row: outcome.results, details: { failed: outcome.failed, batches: outcome.batches } };
    },
    output(msg, result) {
      msg.payload = result.row;
    },
  });
};
