/**
 * Upload, download or delete the file in a row's file or image column. Upload: msg.payload = the file
 * (a Buffer, or text as UTF-8), msg.filename = its name. Download: msg.payload = a Buffer,
 * msg.filename and msg.mimetype; image columns at full size.
 */
import type { NodeAPI } from "node-red";
import { DataverseError, ErrorCodes } from "./client";
import { registerActionNode } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

const ACTIONS = ["upload", "download", "delete"];

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-file", {
    defaults: { rowId: { value: "rowId", type: "msg" } },
    async run({ client, msg, input, config, signal }) {
      const action = config.action || "upload";
      const [table, rowId, column] = [await input("table"), await input("rowId"), await input("column")];
      const options = { requestOptions: await readRequestOptions(input), signal };
      if (action === "upload") return client.uploadFile(table, rowId, column, msg.payload, msg.filename, options);
      if (action === "delete") return client.deleteFile(table, rowId, column, options);
      if (action !== "download") {
        throw new DataverseError({
          message: `action must be one of ${ACTIONS.join(", ")}, not '${String(action)}'`,
          code: ErrorCodes.invalidInput,
          field: "action",
        });
      }
      const result = await client.downloadFile(table, rowId, column, options);
      msg.payload = result.file?.content;
      msg.filename = result.file?.fileName;
      msg.mimetype = result.file?.mimeType;
      return result;
    },
    output(msg, result) {
      msg.rowId = result.rowId;
    },
  });
};
