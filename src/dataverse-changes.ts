/**
 * A trigger: polls a table's changes (Dataverse change tracking) every `interval` seconds and sends
 * one message per added, updated or deleted row. Where to read on from is kept in the node's context
 * (a persistent store when there is one), written right after the messages before it were sent, so a
 * restart neither loses a change nor sends one again.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { asDataverseError, type ChangeBatch, type ChangesInput, type DataverseError } from "./client";
import { checkWholeNumber } from "./client/operations/pages";
import { connectionProblem } from "./shared/action-node";
import { connectionText, type ConnectionNode } from "./shared/connection-node";
import { persistentStore, readContext, writeContext } from "./shared/context-store";
import { NodeStatusView } from "./shared/node-status";

interface ChangesConfig extends NodeDef {
  connection: string;
  table: string;
  select: string;
  interval: string | number;
  startFrom: string;
  fallback: string;
}

interface Waiting {
  msg: NodeMessageInFlow;
  done: (err?: Error) => void;
}

/** The context key of the read position (a ChangePosition). */
const POSITION_KEY = "dataverseChanges";
/** How long a stopping node waits for a poll in flight before it lets Node-RED go on. */
const CLOSE_WAIT_MS = 10_000;
const MAX_INTERVAL_S = 86_400;

export = function (RED: NodeAPI): void {
  const text = connectionText(RED);
  const own = (key: string, args?: Record<string, string | number>) => RED._(`node-red-contrib-dataverse/dataverse-changes:dataverse-changes.${key}`, args);

  function ChangesNode(this: Node, config: ChangesConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const connection = RED.nodes.getNode(config.connection) as ConnectionNode | null;
    const stopping = new AbortController();
    const status = new NodeStatusView(node, connection, text, () => connection?.client?.waiting(stopping.signal) ?? 0);
    connection?.register(status);
    const input: ChangesInput = { table: config.table, select: config.select, startFrom: config.startFrom, fallback: config.fallback };
    const store = persistentStore(RED);
    const waiting: Waiting[] = [];
    let intervalMs = 60_000;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let closed = false;
    /** Where the next poll starts: loaded from the context once, then kept here too. */
    let position: unknown;
    let loaded = false;
    let lastReported = "";

    let unusable: DataverseError | undefined = connectionProblem(connection);
    try {
      intervalMs = checkWholeNumber("interval", config.interval, 5, MAX_INTERVAL_S, 60) * 1000;
      connection?.client?.changes(input); // checks the settings once, before any request
    } catch (err) {
      unusable ??= asDataverseError(err);
    }
    if (unusable) {
      status.set({
        fill: "grey",
        shape: "ring",
        text: text(connection && !connection.problem ? "status.error" : connection ? "status.incomplete" : "status.noConnection"),
      });
      node.error(unusable.message);
    } else poll();

    node.on("input", (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
      if (unusable) return done(unusable);
      waiting.push({ msg, done });
      poll();
    });

    /** Starts a poll now, unless one is running (then the next starts when it ends). */
    function poll(): void {
      clearTimeout(timer);
      timer = undefined;
      if (closed || running) return;
      const inputs = waiting.splice(0);
      running = pollOnce(inputs).finally(() => {
        running = undefined;
        if (closed) return;
        if (waiting.length) poll();
        else timer = setTimeout(poll, intervalMs);
      });
    }

    async function pollOnce(inputs: Waiting[]): Promise<void> {
      status.busy();
      let sent = 0;
      let last: ChangeBatch | undefined;
      try {
        if (!loaded) {
          position = await readContext(node, POSITION_KEY, store);
          loaded = true;
        }
        for await (const batch of connection!.client!.changes(input, position, { signal: stopping.signal })) {
          if (stopping.signal.aborted) break;
          // Sent and saved in one go: nothing can stop the node between a change sent and its position saved.
          for (const change of batch.changes) node.send(changeMessage(batch, change));
          position = batch.position;
          writeContext(node, POSITION_KEY, position, store).catch((err: Error) => node.warn(own("error.save", { message: err.message })));
          sent += batch.changes.length;
          if (batch.tokenExpired) node.warn(own("warn.tokenExpired", { table: batch.table }));
          last = batch;
        }
        lastReported = "";
        status.idle(pollStatus(last, sent));
        for (const { done } of inputs) done();
      } catch (err) {
        if (stopping.signal.aborted) {
          for (const { done } of inputs) done();
          return;
        }
        report(asDataverseError(err), inputs);
      }
    }

    function pollStatus(last: ChangeBatch | undefined, sent: number) {
      const time = new Date().toTimeString().slice(0, 8);
      if (last?.tokenExpired) return { fill: "yellow", shape: "dot", text: own("status.tokenExpired", { time }) } as const;
      const shape = last?.byModifiedOn ? "ring" : "dot";
      return { fill: "green", shape, text: own(last?.byModifiedOn ? "status.polledByModifiedOn" : "status.polled", { count: sent, time }) } as const;
    }

    /**
     * A failed poll: to the Catch node with the input message that asked for it, else with a message of
     * its own, once until the error changes or a poll succeeds (a trigger would repeat it every interval).
     */
    function report(error: DataverseError, inputs: Waiting[]): void {
      status.idle({ fill: "red", shape: "ring", text: `${text("status.error")} ${error.status || error.code}`.trim() });
      for (const { msg, done } of inputs) {
        (msg as Record<string, unknown>).dataverse = error.toJSON();
        done(error);
      }
      if (inputs.length === 0 && error.message !== lastReported) node.error(error, { dataverse: error.toJSON() } as NodeMessage);
      lastReported = error.message;
    }

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      stopping.abort();
      connection?.deregister(status);
      for (const { done: inputDone } of waiting.splice(0)) inputDone();
      let wait: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (wait = setTimeout(resolve, CLOSE_WAIT_MS)));
      void Promise.race([running, waited]).then(() => {
        clearTimeout(wait);
        status.close();
        done();
      });
    });
  }

  function changeMessage(batch: ChangeBatch, change: ChangeBatch["changes"][number]): NodeMessage {
    const rowId = change.rowId === undefined ? {} : { rowId: change.rowId };
    const requestId = batch.requestId ? { requestId: batch.requestId } : {};
    return {
      payload: change.row,
      ...rowId,
      dataverse: { status: batch.status, change: change.change, table: batch.table, ...rowId, ...requestId },
    } as NodeMessage;
  }

  RED.nodes.registerType("dataverse-changes", ChangesNode);
};
