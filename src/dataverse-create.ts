/** Create a row. msg.rowId = the new id; msg.payload = the created row when "return row" is on. */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-create", {
    defaults: { row: { value: "payload", type: "msg" } },
    async run({ client, input, config, signal }) {
      return client.create(await input("table"), await input("row"), {
        returnRow: config.returnRow === true,
        requestOptions: await readRequestOptions(input),
        signal,
      });
    },
    output(msg, result, config) {
      if (result.rowId) msg.rowId = result.rowId;
      if (config.returnRow === true) msg.payload = result.row;
    },
  });
};
