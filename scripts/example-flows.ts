/**
 * The example flows (examples/*.json) as one deployable flow set: what `npm start` deploys, and what the
 * browser tests deploy to stand for it. The examples share one connection node, kept once; its
 * credentials (${ENV} names, not secrets) are split out the way Node-RED stores them.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export type FlowNode = Record<string, unknown> & { id: string };

export function exampleFlows(examplesDir: string): { flows: FlowNode[]; credentials: Record<string, unknown> } {
  const flows = new Map<string, FlowNode>();
  const credentials: Record<string, unknown> = {};
  for (const file of readdirSync(examplesDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    for (const node of JSON.parse(readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[]) {
      const { credentials: nodeCredentials, ...rest } = node;
      if (nodeCredentials) credentials[node.id] = nodeCredentials;
      flows.set(node.id, rest as FlowNode);
    }
  }
  return { flows: [...flows.values()], credentials };
}
