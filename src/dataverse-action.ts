/**
 * Call an action or a function: Microsoft's, a custom process action or a custom API, unbound or
 * bound to a table (and row). msg.payload = the answer (undefined when there is none).
 */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-action", {
    defaults: { parameters: { value: "payload", type: "msg" }, rowId: { value: "", type: "str" } },
    async run({ client, input, config, signal }) {
      return client.callOperation(config.kind, await input("operation"), await input("parameters"), {
        table: await input("table"),
        rowId: await input("rowId"),
        requestOptions: await readRequestOptions(input),
        signal,
      });
    },
    output(msg, result) {
      msg.payload = result.row;
    },
  });
};
