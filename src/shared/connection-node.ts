import type { Node } from "node-red";
import type { DataverseClient, DataverseError } from "../client";

export interface ConnectionCredentials {
  clientId?: string;
  clientSecret?: string;
}

/** What action nodes see of their dataverse-connection config node. */
export interface ConnectionNode extends Node<ConnectionCredentials> {
  /** Why this connection cannot be used (a missing or invalid setting), if so. */
  problem?: DataverseError;
  client?: DataverseClient;
  /** When the connection resumes after a service protection pause, while paused. */
  pausedUntil?: number;
  /** Nodes using this connection, whose status shows the pause. */
  users: Set<Node>;
}
