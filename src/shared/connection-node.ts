import type { Node, NodeAPI } from "node-red";
import type { DataverseClient, DataverseError } from "../client";

/** The connection's credentials: stored apart from the flow, never exported. Text ones are shown in the dialog. */
export const CREDENTIALS = {
  clientId: { type: "text" },
  clientSecret: { type: "password" },
  certificate: { type: "text" },
  privateKey: { type: "password" },
  pfx: { type: "password" },
  passphrase: { type: "password" },
  proxyUsername: { type: "text" },
  proxyPassword: { type: "password" },
  connectionString: { type: "password" },
} as const;

export type ConnectionCredentials = { [name in keyof typeof CREDENTIALS]?: string };

/** The connection's text settings that go to the client as they are (empty means the default). */
export const TEXT_SETTINGS = ["url", "tenant", "cloud", "authority", "authType", "apiVersion", "tokenFile", "proxy"] as const;

/** A node that uses a connection: the connection redraws its status when a pause starts, ticks or ends. */
export interface ConnectionUser {
  renderStatus(): void;
}

/** What action nodes see of their dataverse-connection config node. */
export interface ConnectionNode extends Node<ConnectionCredentials> {
  /** Why this connection cannot be used (a missing or invalid setting), if so. */
  problem?: DataverseError;
  client?: DataverseClient;
  /** When the connection resumes after a service protection pause, while paused. */
  pausedUntil?: number;
  register(user: ConnectionUser): void;
  deregister(user: ConnectionUser): void;
}

/** The texts every dataverse node shows (status, errors) live in the connection's catalogue. */
export function connectionText(RED: NodeAPI): (key: string, args?: Record<string, string | number>) => string {
  return (key, args) => RED._(`node-red-contrib-dataverse/dataverse-connection:dataverse-connection.${key}`, args);
}
