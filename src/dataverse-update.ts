/**
 * Update (a missing row is an error) or upsert (a missing row is created) one row by id or alternate
 * key. msg.etag, when set, makes the write conditional (If-Match). msg.rowId = the row's id.
 */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-update", {
    defaults: { rowId: { value: "rowId", type: "msg" }, row: { value: "payload", type: "msg" } },
    async run({ client, msg, input, config, signal }) {
      return client.update(await input("table"), await input("rowId"), await input("row"), {
        mode: config.mode || "update",
        etag: msg.etag,
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
