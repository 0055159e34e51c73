/** WhoAmI: who the connection signs in as. msg.payload = {UserId, BusinessUnitId, OrganizationId}. */
import type { NodeAPI } from "node-red";
import { registerActionNode } from "./shared/action-node";

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-whoami", {
    run: ({ client, signal }) => client.whoAmI({ signal }),
    output(msg, result) {
      msg.payload = result.row;
    },
  });
};
