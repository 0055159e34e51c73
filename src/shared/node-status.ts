/**
 * The status of one action node: its own (requesting, N waiting, done, error), drawn under the
 * connection's service protection pause while there is one. Under load the text changes at most once a
 * second: every change is published to the editor, which would cost more than the requests.
 */
import type { Node, NodeStatus } from "node-red";
import type { ConnectionNode, ConnectionUser } from "./connection-node";

type Text = (key: string, args?: Record<string, string | number>) => string;

export class NodeStatusView implements ConnectionUser {
  private own: NodeStatus = {};
  private shown = "";
  private ticker?: NodeJS.Timeout;

  constructor(
    private readonly node: Node,
    private readonly connection: ConnectionNode | null,
    private readonly text: Text,
    /** Messages of this node waiting for their turn. */
    private readonly waiting: () => number,
  ) {}

  /** The node has work: show it, and keep the waiting count current until idle(). */
  busy(): void {
    this.own = this.busyStatus();
    this.renderStatus();
    this.ticker ??= setInterval(() => {
      if (this.own.fill === "blue") this.own = this.busyStatus();
      this.renderStatus();
    }, 1000);
  }

  idle(status: NodeStatus): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.set(status);
  }

  set(status: NodeStatus): void {
    this.own = status;
    this.renderStatus();
  }

  renderStatus(): void {
    const resumeAt = this.connection?.pausedUntil;
    let status = this.own;
    if (resumeAt) {
      const seconds = Math.max(0, Math.ceil((resumeAt - Date.now()) / 1000));
      const count = this.waiting();
      status = {
        fill: "yellow",
        shape: "ring",
        text: count ? this.text("status.throttledWaiting", { count: count.toLocaleString("en-US"), seconds }) : this.text("status.throttled", { seconds }),
      };
    }
    const key = JSON.stringify(status);
    if (key === this.shown) return;
    this.shown = key;
    this.node.status(status);
  }

  close(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private busyStatus(): NodeStatus {
    const count = this.waiting();
    return { fill: "blue", shape: "dot", text: count ? this.text("status.waiting", { count: count.toLocaleString("en-US") }) : this.text("status.requesting") };
  }
}
