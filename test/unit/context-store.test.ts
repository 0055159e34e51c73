// Which context store the changes trigger keeps its position in, for the contextStorage settings a
// Node-RED settings.js may hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { persistentStore } from "../../src/shared/context-store";

const withStores = (contextStorage: unknown) => ({ settings: { contextStorage } }) as unknown as NodeAPI;

test("no contextStorage, or only memory stores: the default store (memory)", () => {
  assert.equal(persistentStore(withStores(undefined)), undefined);
  assert.equal(persistentStore(withStores({ default: { module: "memory" } })), undefined);
  assert.equal(persistentStore(withStores({ default: "mem", mem: { module: "memory" } })), undefined);
});

test("a persistent default store is used as the default", () => {
  assert.equal(persistentStore(withStores({ default: { module: "localfilesystem" } })), undefined);
  assert.equal(persistentStore(withStores({ default: "file", memoryOnly: { module: "memory" }, file: { module: "localfilesystem" } })), undefined);
  // Without one named default, Node-RED's default is the first store listed.
  assert.equal(persistentStore(withStores({ file: { module: "localfilesystem" }, memoryOnly: { module: "memory" } })), undefined);
});

test("a memory default beside a persistent store: the persistent one, by name", () => {
  assert.equal(persistentStore(withStores({ default: { module: "memory" }, file: { module: "localfilesystem" } })), "file");
  assert.equal(persistentStore(withStores({ memoryOnly: { module: "memory" }, redis: { module: { get: () => undefined } } })), "redis");
  assert.equal(persistentStore(withStores({ default: "memoryOnly", memoryOnly: { module: "memory" }, disk: { module: "localfilesystem" } })), "disk");
});

test("stores that name each other in a loop are not persistent", () => {
  assert.equal(persistentStore(withStores({ default: "a", a: "b", b: "a" })), undefined);
});
