/**
 * Associate or disassociate rows through a 1:N or N:N relationship: the row in table + rowId with
 * one or several target rows. Rows that are already associated count as done.
 */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-relate", {
    defaults: {
      rowId: { value: "rowId", type: "msg" },
      targetId: { value: "targetId", type: "msg" },
    },
    async run({ client, input, config, signal }) {
      return client.relate(
        {
          action: config.action ?? "associate",
          table: await input("table"),
          rowId: await input("rowId"),
          relationship: await input("relationship"),
          targetTable: await input("targetTable"),
          targetId: await input("targetId"),
        },
        { requestOptions: await readRequestOptions(input), signal },
      );
    },
    output(msg, result) {
      msg.payload = result.row;
      msg.rowId = result.rowId;
    },
  });
};
