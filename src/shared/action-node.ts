/**
 * What every action node does the same way: find its connection, read TypedInput properties, show
 * status, and end every message with send + done() or done(err) — never with an escaped rejection,
 * which would take the whole Node-RED process down.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { asDataverseError, DataverseError, ErrorCodes, type DataverseClient, type DataverseResult } from "../client";
import { connectionText, type ConnectionNode } from "./connection-node";
import { NodeStatusView } from "./node-status";

export interface ActionNodeConfig extends NodeDef {
  connection: string;
  [property: string]: unknown;
}

export type Message = NodeMessageInFlow & Record<string, unknown>;

/** Reads one TypedInput property (`<name>` + `<name>Type`) against the message. */
export type ReadInput = (name: string) => Promise<unknown>;

/** What a node's run() gets for one input message. */
export interface ActionContext {
  client: DataverseClient;
  msg: Message;
  input: ReadInput;
  config: ActionNodeConfig;
  /** Aborted when the node stops: work still waiting for its turn ends, unsent. */
  signal: AbortSignal;
  /** Sends one message on, for nodes that answer one input with several (query pages or rows). */
  send(msg: Message): void;
}

export interface ActionNodeSpec {
  /** Where a TypedInput property reads from when the flow does not say (older or hand-written flows). */
  defaults?: Record<string, { value: string; type: string }>;
  /**
   * Does the work for one message. A result is written into the message (output(), then
   * msg.dataverse) and sent on; run() that sends its own messages returns nothing.
   */
  run(ctx: ActionContext): Promise<DataverseResult<unknown> | void>;
  output?(msg: Message, result: DataverseResult<unknown>, config: ActionNodeConfig): void;
}

/** How long a stopping node waits for its messages in flight before it lets Node-RED go on. */
const CLOSE_WAIT_MS = 10_000;

export function registerActionNode(RED: NodeAPI, type: string, spec: ActionNodeSpec): void {
  const text = connectionText(RED);

  function ActionNode(this: Node, config: ActionNodeConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const connection = RED.nodes.getNode(config.connection) as ConnectionNode | null;
    const unusable = connectionProblem(connection);
    const stopping = new AbortController();
    const status = new NodeStatusView(node, connection, text, () => connection?.client?.waiting(stopping.signal) ?? 0);
    if (unusable) status.set({ fill: "grey", shape: "ring", text: text(connection ? "status.incomplete" : "status.noConnection") });
    connection?.register(status);
    const inFlight = new Set<Promise<void>>();
    // Counted where each message ends, not when its promise is cleaned up: many end in the same tick.
    let pending = 0;

    node.on("input", (msg: Message, send: (msg: Message) => void, done: (err?: Error) => void) => {
      if (unusable) {
        msg.dataverse = unusable.toJSON();
        done(unusable);
        return;
      }
      if (pending++ === 0) status.busy();
      const input: ReadInput = (name) => evaluate(RED, node, sourceOf(config, name, spec.defaults), name, msg);
      const ended = () => --pending === 0;
      const handled = spec
        .run({ client: connection!.client!, msg, input, config, signal: stopping.signal, send })
        .then(
          (result) => {
            const last = ended();
            if (result) {
              spec.output?.(msg, result, config);
              msg.dataverse = resultSummary(result);
              send(msg);
            }
            if (last) status.idle({ fill: "green", shape: "dot", text: text("status.done") });
            done();
          },
          (err: unknown) => {
            const last = ended();
            const error = withSource(asDataverseError(err), (name) => sourceOf(config, name, spec.defaults));
            msg.dataverse = error.toJSON();
            const errorStatus = { fill: "red", shape: "ring", text: `${text("status.error")} ${error.status || error.code}`.trim() } as const;
            if (last) status.idle(errorStatus);
            else status.set(errorStatus);
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
      connection?.deregister(status);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
      void Promise.race([Promise.allSettled([...inFlight]), waited]).then(() => {
        clearTimeout(timer);
        status.close();
        done();
      });
    });
  }

  RED.nodes.registerType(type, ActionNode);
}

/** Why a node cannot use its connection (none chosen, or incomplete), if so. */
export function connectionProblem(connection: ConnectionNode | null): DataverseError | undefined {
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
  if (error.code !== ErrorCodes.invalidInput || !field || MESSAGE_FIELDS.has(field)) return error;
  const source = describeSource(sourceOfField(field).type, sourceOfField(field).value);
  if (error.message.includes(source)) return error;
  return error.with({}, `${error.message} (${field} is read from ${source})`);
}

/** Inputs that always come from the message itself, whose errors already say so. */
const MESSAGE_FIELDS = new Set(["etag", "nextLink", "pagingCookie", "page"]);

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
  return { ...summary, ...result.details };
}
