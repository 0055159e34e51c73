/**
 * Which Node-RED the integration and browser tests run: the root devDependency (Node-RED 4, on the
 * machine's Node), or the one NODE_RED_PACKAGE points at — npm test's second pass sets it to
 * test/node-red-5/node_modules/node-red and runs on the Node 22 installed beside it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(__dirname, "..");

/** The Node-RED package directory. */
export const nodeRedDir = process.env.NODE_RED_PACKAGE
  ? path.resolve(root, process.env.NODE_RED_PACKAGE)
  : path.dirname(require.resolve("node-red/package.json"));

const pkg = JSON.parse(readFileSync(path.join(nodeRedDir, "package.json"), "utf8")) as { version: string; main: string };

export const nodeRedVersion = pkg.version;
/** lib/red.js, what node-red-node-test-helper and embedding take. */
export const nodeRedMain = path.join(nodeRedDir, pkg.main);
/** The node-red command (red.js). */
export const nodeRedCli = path.join(nodeRedDir, "red.js");
/** require() from that Node-RED, for its core nodes: nodeRedRequire("@node-red/nodes/core/…"). */
export const nodeRedRequire = createRequire(path.join(nodeRedDir, "package.json"));
