/**
 * What every action node does the same way: find its connection, read TypedInput properties, show
 * status, and end every message with send + done() or done(err) — never with an escaped rejection,
 * which would take the whole Node-RED process down.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from "node-red";
import { asDataverseError, DataverseError, ErrorCodes, type DataverseClient, type DataverseResult } from "../client";
import type { ConnectionNode } from "./connection-node";

export interface ActionNodeConfig extends NodeDef {
  connection: string;
  [property: string]: unknown;
}

export type Message = NodeMessageInFlow & Record<string, unknown>;

/** Reads one TypedInput property (`<name>` + `<name>Type`) against the message. */
export type ReadInput = (name: string) => Promise<unknown>;

export interface ActionNodeSpec {
  /** Where a TypedInput property reads from when the flow does not say (older or hand-written flows). */
  defaults?: Record<string, { value: string; type: string }>;
  run(client: DataverseClient, msg: Message, input: ReadInput, config: ActionNodeConfig, signal: AbortSignal): Promise<DataverseResult<unknown>>;
  /** Writes the result into the message (payload, rowId); msg.dataverse is written for every node. */
  output(msg: Message, result: DataverseResult<unknown>, config: ActionNodeConfig): void;
}

const CATALOGUE = "node-red-contrib-dataverse/dataverse-connection:dataverse-connection.status.";
/** How long a stopping node waits for its messages in flight before it lets Node-RED go on. */
const CLOSE_WAIT_MS = 10_000;

export function registerActionNode(RED: NodeAPI, type: string, spec: ActionNodeSpec): void {
  const text = (key: string) => RED._(CATALOGUE + key);

  function ActionNode(this: Node, config: ActionNodeConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const connection = RED.nodes.getNode(config.connection) as ConnectionNode | null;
    const unusable = connectionProblem(connection);
    node.status(unusable ? { fill: "grey", shape: "ring", text: text(connection ? "incomplete" : "noConnection") } : {});
    connection?.users?.add(node);
    // While the connection is paused by service protection, the connection's status text stays up.
    const showStatus = (status: NodeStatus) => connection?.pausedUntil || node.status(status);
    const stopping = new AbortController();
    const inFlight = new Set<Promise<void>>();

    const readInput: (msg: Message) => ReadInput = (msg) => (name) => evaluate(RED, node, sourceOf(config, name, spec.defaults), name, msg);

    node.on("input", (msg: Message, send: (msg: Message) => void, done: (err?: Error) => void) => {
      if (unusable) {
        msg.dataverse = unusable.toJSON();
        done(unusable);
        return;
      }
      // Status changes only when the node goes busy or idle: under load, a status per message would cost
      // more than the request (every change is published to the editor).
      if (inFlight.size === 0) showStatus({ fill: "blue", shape: "dot", text: text("requesting") });
      const handled = spec
        .run(connection!.client!, msg, readInput(msg), config, stopping.signal)
        .then(
          (result) => {
            spec.output(msg, result, config);
            msg.dataverse = resultSummary(result);
            if (inFlight.size === 1) showStatus({ fill: "green", shape: "dot", text: text("done") });
            send(msg);
            done();
          },
          (err: unknown) => {
            const error = withSource(asDataverseError(err), (name) => sourceOf(config, name, spec.defaults));
            msg.dataverse = error.toJSON();
            showStatus({ fill: "red", shape: "ring", text: `${text("error")} ${error.status || error.code}`.trim() });
            done(error);
          },
        )
        .catch((err: unknown) => done(asDataverseError(err)));
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
    });

    // Messages still waiting end at once ("not sent"); those in flight get a while to finish.
    node.on("close", (_removed: boolean, done: () => void) => {
      stopping.abort();
      connection?.users?.delete(node);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
      void Promise.race([Promise.allSettled([...inFlight]), waited]).then(() => {
        clearTimeout(timer);
        done();
      });
    });
  }

  function connectionProblem(connection: ConnectionNode | null): DataverseError | undefined {
    if (!connection) {
      return new DataverseError({
        message: "No Dataverse connection is selected: open this node and choose or add a connection",
        code: ErrorCodes.invalidConnection,
      });
    }
    if (connection.problem) {
      const name = connection.name ? ` '${connection.name}'` : "";
      return new DataverseError({
        message: `The Dataverse connection${name} is incomplete. ${connection.problem.message}`,
        code: ErrorCodes.invalidConnection,
      });
    }
    return undefined;
  }

  RED.nodes.registerType(type, ActionNode);
}

type PropertySource = { value: string; type: string };

/** Where a TypedInput property reads from: the node's settings, or the node type's default. */
function sourceOf(config: ActionNodeConfig, name: string, defaults: ActionNodeSpec["defaults"]): PropertySource {
  if (config[name] === undefined && config[`${name}Type`] === undefined) return defaults?.[name] ?? { value: "", type: "str" };
  return { value: String(config[name] ?? ""), type: String(config[`${name}Type`] ?? "str") };
}

function evaluate(RED: NodeAPI, node: Node, { value, type }: PropertySource, name: string, msg: Message): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err, result) => {
      if (err)
        reject(
          new DataverseError({
            message: `${name} could not be read from ${describeSource(type, value)}: ${err.message}`,
            code: ErrorCodes.invalidInput,
            field: name,
          }),
        );
      else resolve(result);
    });
  });
}

/** Input errors say where the node read the bad value from, so the flow builder knows what to fix. */
function withSource(error: DataverseError, sourceOfField: (name: string) => PropertySource): DataverseError {
  const field = error.field;
  if (error.code !== ErrorCodes.invalidInput || !field || field === "etag") return error;
  const { value, type } = sourceOfField(field);
  const source = describeSource(type, value);
  if (error.message.includes(source)) return error;
  return new DataverseError({ message: `${error.message} (${field} is read from ${source})`, code: error.code, field });
}

function describeSource(type: string, value: string): string {
  switch (type) {
    case "msg":
    case "flow":
    case "global":
      return `${type}.${value}`;
    case "env":
      return `environment variable ${value}`;
    case "jsonata":
      return "a JSONata expression";
    default:
      return "the node's settings";
  }
}

function resultSummary(result: DataverseResult<unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = { status: result.status };
  if (result.rowId) summary.rowId = result.rowId;
  if (result.etag) summary.etag = result.etag;
  if (result.requestId) summary.requestId = result.requestId;
  return summary;
}
