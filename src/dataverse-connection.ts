/**
 * The Dataverse connection (config node): holds the settings and credentials, and owns the one
 * DataverseClient (transport, tokens) that every node using this connection shares.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { checkConnectionSettings, DataverseClient, asDataverseError, type ConnectionSettings, type TlsOptions } from "./client";
import type { ConnectionNode } from "./shared/connection-node";

interface ConnectionConfig extends NodeDef {
  url: string;
  tenant: string;
  cloud: string;
  authority: string;
  authType: string;
  tls: string;
}

interface TlsConfigNode extends Node {
  addTLSOptions(options: Record<string, unknown>): Record<string, unknown>;
}

export = function (RED: NodeAPI): void {
  function DataverseConnectionNode(this: ConnectionNode, config: ConnectionConfig): void {
    RED.nodes.createNode(this, config);
    const settings: Partial<ConnectionSettings> = {
      url: config.url,
      tenant: config.tenant,
      cloud: config.cloud,
      authority: config.authority,
      authType: config.authType,
      clientId: this.credentials?.clientId,
      clientSecret: this.credentials?.clientSecret,
      tls: tlsOptions(config.tls),
    };
    try {
      checkConnectionSettings(settings);
      this.client = new DataverseClient(settings as ConnectionSettings);
    } catch (err) {
      this.problem = asDataverseError(err);
    }
    this.on("close", (_removed: boolean, done: () => void) => {
      this.client?.close();
      done();
    });
  }

  function tlsOptions(tlsNodeId: string | undefined): TlsOptions | undefined {
    const tlsNode = tlsNodeId ? (RED.nodes.getNode(tlsNodeId) as TlsConfigNode | null) : null;
    if (!tlsNode) return undefined;
    const { ca, cert, key, passphrase, servername, rejectUnauthorized } = tlsNode.addTLSOptions({}) as TlsOptions;
    return { ca, cert, key, passphrase, servername, rejectUnauthorized };
  }

  RED.nodes.registerType("dataverse-connection", DataverseConnectionNode as unknown as (this: Node, config: ConnectionConfig) => void, {
    credentials: { clientId: { type: "text" }, clientSecret: { type: "password" } },
  });
};
