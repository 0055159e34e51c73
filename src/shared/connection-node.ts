import type { Node, NodeAPI } from "node-red";
import type { DataverseClient, DataverseError } from "../client";

export interface ConnectionCredentials {
  clientId?: string;
  clientSecret?: string;
}

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
