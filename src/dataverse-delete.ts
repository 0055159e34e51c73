/**
 * Delete one row by id or alternate key. msg.etag, when set, makes it conditional (If-Match). With
 * "missing is OK", a row that is already gone is a success with msg.dataverse.deleted = false.
 */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-delete", {
    defaults: { rowId: { value: "rowId", type: "msg" } },
    async run({ client, msg, input, config, signal }) {
      return client.delete(await input("table"), await input("rowId"), {
        etag: msg.etag,
        missingOk: config.missingOk === true,
        requestOptions: await readRequestOptions(input),
        signal,
      });
    },
    output(msg, result) {
      msg.rowId = result.rowId;
    },
  });
};
