/**
 * Where a node keeps what must survive a restart: its context, in a persistent context store when
 * Node-RED has one configured (settings.js contextStorage). The default store is used when it is
 * persistent; else the first persistent store listed (such as one named `file`); else the default
 * (memory), which survives a redeploy but not a restart.
 */
import type { Node, NodeAPI } from "node-red";

type StoreConfig = unknown;

/** The name of the store to use, or undefined for the default store. */
export function persistentStore(RED: NodeAPI): string | undefined {
  const stores = (RED.settings as unknown as { contextStorage?: Record<string, StoreConfig> }).contextStorage;
  if (!stores || typeof stores !== "object") return undefined;
  const names = Object.keys(stores);
  // Node-RED's default store is the one named default (which may name another), else the first listed.
  const defaultName = "default" in stores ? "default" : names[0];
  if (defaultName === undefined || isPersistent(resolve(stores, defaultName))) return undefined;
  return names.find((name) => name !== "default" && isPersistent(resolve(stores, name)));
}

/** A store's settings; a store may name another one (a loop names nothing). */
function resolve(stores: Record<string, StoreConfig>, name: string): StoreConfig {
  let store = stores[name];
  for (let hops = 0; typeof store === "string" && hops < Object.keys(stores).length; hops++) store = stores[store];
  return store;
}

/** Anything but Node-RED's memory module keeps its values (localfilesystem, or a plug-in store such as redis). */
function isPersistent(store: StoreConfig): boolean {
  if (!store || typeof store !== "object") return false;
  const module = (store as { module?: unknown }).module;
  return module !== undefined && module !== "memory";
}

export function readContext(node: Node, key: string, store: string | undefined): Promise<unknown> {
  return new Promise((done, fail) => {
    const callback = (err: Error | null | undefined, value: unknown) => (err ? fail(err) : done(value));
    if (store) node.context().get(key, store, callback);
    else node.context().get(key, callback);
  });
}

/**
 * Writes a value. A cached store (localfilesystem's default) takes it at once and writes it to disk
 * within its flush interval and when Node-RED stops.
 */
export function writeContext(node: Node, key: string, value: unknown, store: string | undefined): Promise<void> {
  return new Promise((done, fail) => {
    const callback = (err?: Error | null) => (err ? fail(err) : done());
    if (store) node.context().set(key, value, store, callback);
    else node.context().set(key, value, callback);
  });
}
