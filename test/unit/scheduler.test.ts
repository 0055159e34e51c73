import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestScheduler, type AttemptOutcome } from "../../src/client/scheduler";
import { DataverseError } from "../../src/client/errors";

const options = { concurrency: 2, queueLimit: 100, maxThrottleWaitMs: 60_000, maxRetries: 3, backoffBaseMs: 5, backoffMaxMs: 20 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const error = (message = "boom") => new DataverseError({ message, retryable: true });

test("runs at most `concurrency` jobs at once, in FIFO order", async () => {
  const scheduler = new RequestScheduler(options);
  let active = 0;
  let peak = 0;
  const started: number[] = [];
  const jobs = Array.from({ length: 10 }, (_, i) =>
    scheduler.run(async (): Promise<AttemptOutcome<number>> => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await sleep(5);
      active--;
      return { ok: i };
    }),
  );
  assert.deepEqual(await Promise.all(jobs), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(peak, 2);
  assert.equal(scheduler.peakActive, 2);
});

test("a full queue refuses at once", async () => {
  const scheduler = new RequestScheduler({ ...options, concurrency: 1, queueLimit: 2 });
  const slow = () => scheduler.run(async (): Promise<AttemptOutcome<string>> => (await sleep(10), { ok: "x" }));
  const accepted = [slow(), slow(), slow()]; // one running, two waiting
  await assert.rejects(slow(), (e: DataverseError) => e.code === "QueueFull" && e.retryable);
  await Promise.all(accepted);
});

test("transient failures are retried with backoff, then given up with a retryable error", async () => {
  const scheduler = new RequestScheduler(options);
  let tries = 0;
  const value = await scheduler.run(async (): Promise<AttemptOutcome<string>> => (++tries < 3 ? { transient: error() } : { ok: "third time" }));
  assert.equal(value, "third time");
  let always = 0;
  await assert.rejects(
    scheduler.run(async (): Promise<AttemptOutcome<string>> => (always++, { transient: error("503") })),
    (e: DataverseError) => /503 \(gave up after 4 tries\)/.test(e.message) && e.retryable,
  );
  assert.equal(always, 4);
});

test("a 429 pauses every job until Retry-After, and tells the listener", async () => {
  const pauses: Array<number | undefined> = [];
  const scheduler = new RequestScheduler({ ...options, onPause: (at) => pauses.push(at) });
  let throttled = false;
  const starts: number[] = [];
  const t0 = Date.now();
  const jobs = Array.from({ length: 4 }, () =>
    scheduler.run(async (): Promise<AttemptOutcome<string>> => {
      starts.push(Date.now() - t0);
      if (!throttled) {
        throttled = true;
        return { throttled: error("429"), retryAfterMs: 200 };
      }
      return { ok: "ok" };
    }),
  );
  await Promise.all(jobs);
  assert.ok(
    starts.filter((s) => s > 20).every((s) => s >= 195),
    `starts ${starts}`,
  );
  assert.equal(typeof pauses[0], "number");
  assert.equal(pauses.at(-1), undefined);
});

test("a job gives up when the next pause would pass the maximum throttle wait", async () => {
  const scheduler = new RequestScheduler({ ...options, maxThrottleWaitMs: 100 });
  await assert.rejects(
    scheduler.run(async (): Promise<AttemptOutcome<string>> => ({ throttled: error("429"), retryAfterMs: 1000 })),
    (e: DataverseError) => /Gave up after 0 s of Dataverse service protection pauses/.test(e.message) && e.retryable,
  );
});

test("close ends waiting jobs at once and lets running ones finish within the grace period", async () => {
  const scheduler = new RequestScheduler({ ...options, concurrency: 1 });
  const running = scheduler.run(async (): Promise<AttemptOutcome<string>> => (await sleep(30), { ok: "finished" }));
  const waiting = scheduler.run(async (): Promise<AttemptOutcome<string>> => ({ ok: "never" }));
  const hanging = new RequestScheduler({ ...options, concurrency: 1 });
  const stuck = hanging.run(
    (signal) => new Promise<AttemptOutcome<string>>((resolve) => signal.addEventListener("abort", () => resolve({ transient: error("aborted") }))),
  );
  const outcomes = Promise.allSettled([running, waiting, stuck]);
  await Promise.all([scheduler.close(1000), hanging.close(20)]);
  const [finished, unsent, aborted] = await outcomes;
  assert.deepEqual(finished, { status: "fulfilled", value: "finished" });
  assert.match(String((unsent as PromiseRejectedResult).reason), /Not sent/);
  assert.match(String((aborted as PromiseRejectedResult).reason), /while this request was in flight/);
  await assert.rejects(
    scheduler.run(async () => ({ ok: 1 })),
    /Not sent/,
  );
});

test("a withdrawn job that has not started ends at once", async () => {
  const scheduler = new RequestScheduler({ ...options, concurrency: 1 });
  const controller = new AbortController();
  const first = scheduler.run(async (): Promise<AttemptOutcome<string>> => (await sleep(20), { ok: "a" }), controller.signal);
  const second = scheduler.run(async (): Promise<AttemptOutcome<string>> => ({ ok: "b" }), controller.signal);
  const withdrawn = assert.rejects(second, /Not sent/);
  controller.abort();
  await withdrawn;
  assert.equal(await first, "a");
});

test("waiting jobs of one group go together, up to the group size; a job that finds nothing waiting goes alone", async () => {
  const combined: unknown[][] = [];
  const scheduler = new RequestScheduler({
    ...options,
    concurrency: 1,
    groupSize: () => 3,
    combine: async (items) => {
      combined.push(items);
      await sleep(5);
      return items.map((item) => (item === "bad" ? { failed: error("bad row") } : { ok: `${item} together` }));
    },
  });
  const alone = (name: string) =>
    scheduler.run(async (): Promise<AttemptOutcome<string>> => (await sleep(5), { ok: `${name} alone` }), undefined, { group: { key: "k", item: name } });
  const results = await Promise.allSettled(["a", "b", "c", "bad", "e", "f"].map(alone));
  assert.deepEqual(
    results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
    ["a alone", "b together", "c together", "bad row", "e together", "f together"],
  );
  assert.deepEqual(combined, [
    ["b", "c", "bad"],
    ["e", "f"],
  ]);
});

test("a throttled group waits as a whole and keeps its place at the front", async () => {
  let calls = 0;
  const scheduler = new RequestScheduler({
    ...options,
    concurrency: 1,
    groupSize: () => 10,
    combine: async (items) => (++calls === 1 ? items.map(() => ({ throttled: error("429"), retryAfterMs: 20 })) : items.map((item) => ({ ok: item }))),
  });
  const job = (name: string) =>
    scheduler.run(async (): Promise<AttemptOutcome<string>> => (await sleep(5), { ok: name }), undefined, { group: { key: "k", item: name } });
  assert.deepEqual(await Promise.all(["a", "b", "c", "d"].map(job)), ["a", "b", "c", "d"]);
  assert.equal(calls, 2);
});
