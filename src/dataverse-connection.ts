/**
 * The Dataverse connection (config node): holds the settings and credentials, and owns the one
 * DataverseClient (transport, tokens) that every node using this connection shares.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { DataverseClient, asDataverseError, type ConnectionSettings } from "./client";
import { registerAdminApi } from "./shared/admin-api";
import { CREDENTIALS, TEXT_SETTINGS, type ConnectionCredentials, type ConnectionNode, type ConnectionUser } from "./shared/connection-node";
import { tlsOptions } from "./shared/tls";

interface ConnectionConfig extends NodeDef, Partial<Record<(typeof TEXT_SETTINGS)[number], string>> {
  tls: string;
  sendX5c?: boolean | string;
  concurrency?: number | string;
  queueLimit?: number | string;
  maxThrottleWait?: number | string;
  maxRetries?: number | string;
  timeout?: number | string;
  bulk?: string;
  bulkSize?: number | string;
}

export = function (RED: NodeAPI): void {
  registerAdminApi(RED);
  function DataverseConnectionNode(this: ConnectionNode, config: ConnectionConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Set<ConnectionUser>();
    node.register = (user) => users.add(user);
    node.deregister = (user) => users.delete(user);
    let countdown: NodeJS.Timeout | undefined;
    const renderAll = () => users.forEach((user) => user.renderStatus());
    // Dataverse's limits are per user: one 429 pauses the whole connection, and every node shows it.
    const onPause = (resumeAt: number | undefined) => {
      node.pausedUntil = resumeAt;
      clearInterval(countdown);
      if (resumeAt) countdown = setInterval(renderAll, 1000);
      renderAll();
    };
    const settings: Partial<ConnectionSettings> = {
      ...textSettings(config),
      ...(this.credentials as ConnectionCredentials | undefined),
      sendX5c: config.sendX5c === true || config.sendX5c === "true",
      concurrency: optionalNumber(config.concurrency),
      queueLimit: optionalNumber(config.queueLimit),
      maxRetries: optionalNumber(config.maxRetries),
      maxThrottleWaitMs: optionalNumber(config.maxThrottleWait, 1000),
      timeoutMs: optionalNumber(config.timeout, 1000),
      bulk: config.bulk || undefined,
      bulkSize: optionalNumber(config.bulkSize),
    };
    try {
      settings.tls = tlsOptions(RED, config.tls);
      node.client = new DataverseClient(settings as ConnectionSettings, { onPause });
    } catch (err) {
      node.problem = asDataverseError(err);
    }
    node.on("close", (_removed: boolean, done: () => void) => {
      clearInterval(countdown);
      const closing = node.client?.close() ?? Promise.resolve();
      closing.then(
        () => done(),
        () => done(),
      );
    });
  }

  function textSettings(config: ConnectionConfig): Partial<ConnectionSettings> {
    return Object.fromEntries(TEXT_SETTINGS.map((name) => [name, config[name] || undefined]));
  }

  /** A number setting; empty means the default. `${ENV}` values arrive here already substituted. */
  function optionalNumber(value: unknown, scale = 1): number | undefined {
    if (value === undefined || value === null || String(value).trim() === "") return undefined;
    return Number(value) * scale;
  }

  RED.nodes.registerType("dataverse-connection", DataverseConnectionNode as unknown as (this: Node, config: ConnectionConfig) => void, {
    credentials: CREDENTIALS,
  });
};
