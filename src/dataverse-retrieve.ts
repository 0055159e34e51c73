/** Retrieve one row by id or alternate key. msg.payload = the row. */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-retrieve", {
    defaults: { rowId: { value: "rowId", type: "msg" } },
    async run({ client, input, signal }) {
      return client.retrieve(await input("table"), await input("rowId"), {
        select: await input("select"),
        expand: await input("expand"),
        requestOptions: await readRequestOptions(input),
        signal,
      });
    },
    output(msg, result) {
      msg.payload = result.row;
    },
  });
};
