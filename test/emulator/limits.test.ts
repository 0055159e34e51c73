// Service protection with the execution-time model (requestCostMs, rowCostMs, timeScale) and several
// web servers with their own budgets, chosen round-robin or pinned by the ARRAffinity cookie (E.1, E.2).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { Client, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const EXECUTION_MESSAGE = (limit: string, seconds: number) =>
  `Combined execution time of incoming requests exceeded limit of ${limit} milliseconds over time window of ${seconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`;

const whoAmI = (headers: Record<string, string> = {}) => client.api("GET", "WhoAmI", { headers });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const devices = (n: number) => Array.from({ length: n }, (_, i) => ({ "@odata.type": "Microsoft.Dynamics.CRM.dv_iotdevice", dv_name: `L${i}` }));

function assertThrottled(res: HttpResult, code: string, retryAfter: string, message?: string): void {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.headers["retry-after"], retryAfter);
  assert.equal(res.json().error.code, code);
  if (message) assert.equal(res.json().error.message, message);
}

describe("execution-time model", () => {
  it("each request costs requestCostMs + rowCostMs on top of its measured time", async () => {
    await client.accessToken();
    emu.control.setConfig({ executionTimeLimitMs: 1000, requestCostMs: 400, rowCostMs: 200 });
    assert.equal((await whoAmI()).status, 200);
    assert.ok(emu.control.stats().servers[0].windowExecutionMs >= 600);
    assert.equal((await whoAmI()).status, 200, "1,200 ms are only over the limit after this request");
    assertThrottled(await whoAmI(), "0x80072321", "5", EXECUTION_MESSAGE("1,000", 300));
  });

  it("a bulk message costs requestCostMs once and rowCostMs per target", async () => {
    emu.control.setConfig({ executionTimeLimitMs: 1000, requestCostMs: 100, rowCostMs: 100 });
    const create = (n: number) => client.api("POST", "dv_iotdevices/Microsoft.Dynamics.CRM.CreateMultiple", { body: { Targets: devices(n) } });
    assert.equal((await create(8)).status, 200);
    assert.equal((await whoAmI()).status, 200, "900 ms + the WhoAmI's 200 ms");
    assertThrottled(await whoAmI(), "0x80072321", "5");
  });

  it("a $batch is one request against the request limit, but its execution time is the sum of its operations", async () => {
    emu.control.setConfig({ requestLimit: 2, executionTimeLimitMs: 1000, requestCostMs: 50, rowCostMs: 50 });
    const batch = await client.batch(Array.from({ length: 11 }, () => ({ method: "GET", url: "/api/data/v9.2/WhoAmI" })));
    assert.equal(batch.status, 200);
    const [server] = emu.control.stats().servers;
    assert.equal(server.windowRequests, 1);
    assert.ok(server.windowExecutionMs >= 1100, `${server.windowExecutionMs}`);
    assertThrottled(await whoAmI(), "0x80072321", "5");
    emu.control.setConfig({ executionTimeLimitMs: 1_200_000 });
    assert.equal((await whoAmI()).status, 200);
    assertThrottled(await whoAmI(), "0x80072322", "5", "Number of requests exceeded the limit of 2 over time window of 300 seconds.");
  });

  it("timeScale compresses the window, scales measured time and divides Retry-After (at least 1 s)", async () => {
    await client.accessToken();
    emu.control.setConfig({ timeScale: 300, requestLimit: 1, retryAfterSeconds: 5 });
    assert.equal((await whoAmI()).status, 200);
    assertThrottled(await whoAmI(), "0x80072322", "1", "Number of requests exceeded the limit of 1 over time window of 300 seconds.");
    await sleep(1100); // 300 emulated seconds
    assert.equal((await whoAmI()).status, 200);

    emu.control.setConfig({ timeScale: 60, requestLimit: 6000, latencyMs: 50, retryAfterSeconds: 600 });
    const before = emu.control.stats().servers[0].windowExecutionMs;
    assert.equal((await whoAmI()).status, 200);
    assert.ok(emu.control.stats().servers[0].windowExecutionMs - before >= 50 * 60, "50 real ms count as 3 emulated seconds");
    emu.control.setConfig({ executionTimeLimitMs: 1000, latencyMs: 0 });
    assertThrottled(await whoAmI(), "0x80072321", "10", EXECUTION_MESSAGE("1,000", 300));
  });

  it("refuses a timeScale of 0 and a fractional number of web servers", async () => {
    assert.throws(() => emu.control.setConfig({ timeScale: 0 }), /timeScale' must be a number > 0/);
    assert.throws(() => emu.control.setConfig({ webServers: 1.5 }), /webServers' must be a whole number from 1 to 64/);
    const res = await client.request("PATCH", `${emu.dataverseUrl}/_emulator/config`, { body: { webServers: 0 } });
    assert.equal(res.status, 400);
    assert.equal(emu.control.getConfig().webServers, 1);
  });
});

describe("several web servers", () => {
  it("spreads requests without the cookie round-robin; each answer sets ARRAffinity to its server", async () => {
    await client.accessToken();
    emu.control.setConfig({ webServers: 3 });
    const { servers } = emu.control.stats();
    assert.equal(servers.length, 3);
    assert.ok(servers.every((s) => /^[0-9a-f]{64}$/.test(s.id)));
    assert.equal(new Set(servers.map((s) => s.id)).size, 3);
    const cookies: string[] = [];
    for (let i = 0; i < 4; i++) cookies.push(String((await whoAmI()).headers["set-cookie"]));
    assert.deepEqual(
      cookies,
      [0, 1, 2, 0].map((i) => `ARRAffinity=${servers[i].id}; Path=/; HttpOnly; Secure`),
    );
    assert.deepEqual(
      emu.control.requests({ server: "dataverse" }).map((r) => r.webServer),
      [0, 1, 2, 0],
    );
    assert.deepEqual(
      emu.control.stats().servers.map((s) => s.requests),
      [2, 1, 1],
    );
  });

  it("gives each server its own limits; the cookie pins a client to one server's budget", async () => {
    await client.accessToken();
    emu.control.setConfig({ webServers: 2, requestLimit: 2 });
    const spread = await Promise.all([0, 1, 2, 3].map(() => whoAmI()));
    assert.deepEqual(
      spread.map((r) => r.status),
      [200, 200, 200, 200],
    );
    emu.control.reset();
    client.forgetToken();
    await client.accessToken();
    emu.control.setConfig({ webServers: 2, requestLimit: 2 });
    const [second] = emu.control.stats().servers.slice(1);
    const pinned = { Cookie: `other=1; ARRAffinity=${second.id}` };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await whoAmI(pinned);
      statuses.push(res.status);
      assert.equal(res.headers["set-cookie"], undefined, "a pinned request gets no new cookie");
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    const stats = emu.control.stats().servers;
    assert.deepEqual(
      stats.map((s) => [s.requests, s.throttled]),
      [
        [0, 0],
        [3, 1],
      ],
    );
    assert.equal((await whoAmI()).status, 200, "an unpinned request still finds the first server free");
  });

  it("counts concurrency per server", async () => {
    const token = await client.accessToken();
    emu.control.setConfig({ webServers: 2, concurrencyLimit: 1, latencyMs: 200 });
    const spread = await Promise.all([0, 1].map(() => client.api("GET", "WhoAmI", { token })));
    assert.deepEqual(
      spread.map((r) => r.status),
      [200, 200],
    );
    const id = emu.control.stats().servers[0].id;
    const pinned = await Promise.all([0, 1].map(() => client.api("GET", "WhoAmI", { token, headers: { Cookie: `ARRAffinity=${id}` } })));
    assert.deepEqual(pinned.map((r) => r.status).sort(), [200, 429]);
    assertThrottled(
      pinned.find((r) => r.status === 429)!,
      "0x80072326",
      "5",
      "Number of concurrent requests exceeded the limit of 1.",
    );
    assert.equal(emu.control.stats().peakConcurrency, 2);
  });

  it("a cookie naming a server that is no longer there is ignored", async () => {
    await client.accessToken();
    emu.control.setConfig({ webServers: 2 });
    const gone = emu.control.stats().servers[1].id;
    emu.control.setConfig({ webServers: 1 });
    const res = await whoAmI({ Cookie: `ARRAffinity=${gone}` });
    assert.equal(res.status, 200);
    assert.match(String(res.headers["set-cookie"]), new RegExp(`^ARRAffinity=${emu.control.stats().servers[0].id};`));
  });
});
