// Service protection limits, latency and fault rules, and a close() that never waits for them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { Client, startTestEmulator, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

function assertThrottled(res: HttpResult, code: string, message: string, retryAfter: string): void {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.headers["retry-after"], retryAfter);
  assert.deepEqual(res.json(), { error: { code, message } });
}

describe("service protection limits", () => {
  it("429 0x80072326 at once when the concurrency limit is reached", async () => {
    const token = await client.accessToken();
    emu.control.setConfig({ concurrencyLimit: 2, latencyMs: 300, retryAfterSeconds: 7 });
    const results = await Promise.all([0, 1, 2].map(() => client.api("GET", "WhoAmI", { token })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429]);
    const throttled = results.find((r) => r.status === 429)!;
    assertThrottled(throttled, "0x80072326", "Number of concurrent requests exceeded the limit of 2.", "7");
    const stats = emu.control.stats();
    assert.equal(stats.peakConcurrency, 2);
    assert.equal(stats.currentConcurrency, 0);
    assert.equal(stats.throttled, 1);
    assert.equal(stats.dataverseRequests, 3);
    const logged = emu.control.requests({ server: "dataverse" });
    assert.ok(
      logged.filter((r) => r.status === 200).every((r) => r.durationMs! >= 290),
      "latency counts in the request time",
    );
  });

  it("429 0x80072322 once the request limit of the window is exceeded", async () => {
    emu.control.setConfig({ requestLimit: 3, windowSeconds: 60 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.api("GET", "WhoAmI")).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const res = await client.api("GET", "WhoAmI");
    assertThrottled(res, "0x80072322", "Number of requests exceeded the limit of 3 over time window of 60 seconds.", "5");
  });

  it("429 0x80072321 after the combined execution time is exceeded", async () => {
    emu.control.setConfig({ executionTimeLimitMs: 100, latencyMs: 120 });
    assert.equal((await client.api("GET", "WhoAmI")).status, 200);
    emu.control.setConfig({ latencyMs: 0 });
    const res = await client.api("GET", "WhoAmI");
    assertThrottled(
      res,
      "0x80072321",
      "Combined execution time of incoming requests exceeded limit of 100 milliseconds over time window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.",
      "5",
    );
  });
});

describe("fault rules", () => {
  it("respond with a status, at most `times` times, after `skip` matches", async () => {
    const token = await client.accessToken();
    const { ids } = emu.control.addFaults({ server: "dataverse", path: "WhoAmI", status: 503, times: 2, skip: 1, retryAfter: 3 });
    const statuses: number[] = [];
    let unavailable: HttpResult | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await client.api("GET", "WhoAmI", { token });
      statuses.push(res.status);
      if (res.status === 503) unavailable = res;
    }
    assert.deepEqual(statuses, [200, 503, 503, 200]);
    assert.equal(unavailable!.headers["retry-after"], "3");
    assert.match(unavailable!.text, /Service Unavailable/);
    const [rule] = emu.control.faults();
    assert.equal(rule.id, ids[0]);
    assert.equal(rule.applied, 2);
  });

  it("a 429 rule without a code uses 0x80072322 and Retry-After", async () => {
    emu.control.addFaults({ server: "dataverse", method: "POST", path: "accounts", status: 429, times: 1 });
    const res = await client.api("POST", "accounts", { body: { name: "x" } });
    assertThrottled(res, "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds.", "5");
    assert.equal((await client.api("POST", "accounts", { body: { name: "x" } })).status, 204);
    assert.equal(emu.control.stats().throttled, 1);
  });

  it("custom code and message; faults on the login server", async () => {
    emu.control.addFaults([
      { server: "dataverse", status: 500, code: "0x80040216", message: "boom", times: 1, path: "accounts" },
      { server: "login", status: 429, retryAfter: 2, times: 1 },
    ]);
    const login = await client.token({
      grant_type: "client_credentials",
      client_id: emu.clientId,
      client_secret: emu.clientSecret,
      scope: `${emu.dataverseUrl}/.default`,
    });
    assert.equal(login.status, 429);
    assert.equal(login.headers["retry-after"], "2");
    assert.equal(login.json().error, "temporarily_unavailable");
    const res = await client.api("GET", "accounts");
    assert.deepEqual(res.json(), { error: { code: "0x80040216", message: "boom" } });
  });

  it("reset-before drops the connection without processing", async () => {
    emu.control.addFaults({ server: "dataverse", method: "POST", action: "reset-before", times: 1 });
    const token = await client.accessToken();
    await assert.rejects(client.api("POST", "accounts", { body: { name: "Never" }, token }), /socket hang up|ECONNRESET/);
    assert.equal(emu.control.rows("accounts").filter((r) => r.name === "Never").length, 0);
    const [entry] = emu.control.requests({ server: "dataverse" }).filter((r) => r.method === "POST");
    assert.equal(entry.status, 0);
  });

  it("reset-after writes the row, then drops the connection", async () => {
    emu.control.addFaults({ server: "dataverse", method: "POST", path: "accounts", action: "reset-after", times: 1 });
    const token = await client.accessToken();
    await assert.rejects(client.api("POST", "accounts", { body: { name: "Written" }, token }), /socket hang up|ECONNRESET/);
    assert.equal(emu.control.rows("accounts").filter((r) => r.name === "Written").length, 1);
  });

  it("invalid-json answers a truncated body", async () => {
    emu.control.addFaults({ server: "dataverse", path: "accounts", action: "invalid-json", times: 1 });
    const res = await client.api("GET", "accounts");
    assert.equal(res.status, 200);
    assert.throws(() => res.json(), SyntaxError);
  });

  it("html answers a sign-in page with 200 (or the status given), on both servers, without processing", async () => {
    emu.control.addFaults([
      { server: "dataverse", method: "POST", path: "accounts", action: "html", times: 1 },
      { server: "login", action: "html", status: 302, times: 1 },
    ]);
    const token = await client.accessToken().catch((e: Error) => e.message);
    assert.match(String(token), /token request failed: 302 <!DOCTYPE html>/);
    const res = await client.api("POST", "accounts", { body: { name: "Behind a proxy" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.match(res.text, /^<!DOCTYPE html>[\s\S]*<form[\s\S]*password/);
    assert.equal(emu.control.rows("accounts").filter((r) => r.name === "Behind a proxy").length, 0, "nothing was written");
  });

  it("answers injected Dataverse errors exactly as given: status, code and message", async () => {
    const cases = [
      { status: 400, code: "0x80040265", message: "Plug-in rejected the record: serial numbers must start with SN-." },
      { status: 500, code: "0x80040333", message: "A record was not created or updated because a duplicate of the current record already exists." },
      { status: 404, code: "0x80060888", message: "Resource not found for the segment 'x'." },
    ];
    for (const c of cases) {
      emu.control.addFaults({ server: "dataverse", method: "PATCH", path: "dv_iotdevices", times: 1, ...c });
      const res = await client.api("PATCH", "dv_iotdevices(dv_serialnumber='SN-0001')", { body: { dv_batterylevel: 1 } });
      assert.equal(res.status, c.status);
      assert.deepEqual(res.json(), { error: { code: c.code, message: c.message } });
      assert.match(String(res.headers["content-type"]), /^application\/json/);
      assert.ok(res.headers.req_id, "injected answers carry the service headers too");
    }
    assert.equal((await client.api("GET", "dv_iotdevices(dv_serialnumber='SN-0001')")).json().dv_batterylevel, 87, "nothing was written");
  });

  it("sign-in errors, injected ones too, carry trace_id and correlation_id", async () => {
    const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const wrongSecret = await client.token({
      grant_type: "client_credentials",
      client_id: emu.clientId,
      client_secret: "wrong",
      scope: `${emu.dataverseUrl}/.default`,
    });
    emu.control.addFaults({ server: "login", status: 503, times: 1 });
    const injected = await client.token({
      grant_type: "client_credentials",
      client_id: emu.clientId,
      client_secret: emu.clientSecret,
      scope: `${emu.dataverseUrl}/.default`,
    });
    for (const res of [wrongSecret, injected]) {
      assert.ok(res.status >= 400, res.text);
      const body = res.json();
      assert.match(body.trace_id, GUID);
      assert.match(body.correlation_id, GUID);
      assert.ok(body.error_description.includes(`Trace ID: ${body.trace_id}`));
      assert.ok(body.error_description.includes(`Correlation ID: ${body.correlation_id}`));
    }
  });

  it("latency-only rules slow matching requests and let them through", async () => {
    emu.control.addFaults({ server: "dataverse", path: "WhoAmI", latencyMs: 150 });
    const token = await client.accessToken();
    const started = Date.now();
    assert.equal((await client.api("GET", "WhoAmI", { token })).status, 200);
    assert.ok(Date.now() - started >= 140);
  });

  it("probability 0 never applies", async () => {
    emu.control.addFaults({ server: "dataverse", status: 500, probability: 0 });
    assert.equal((await client.api("GET", "WhoAmI")).status, 200);
  });
});

describe("close()", () => {
  it("ends hung requests and latency at once, and resolves promptly", async () => {
    const own = await startTestEmulator();
    const c = new Client(own);
    try {
      const token = await c.accessToken();
      own.control.addFaults({ server: "dataverse", path: "WhoAmI", action: "hang" });
      own.control.setConfig({ latencyMs: 60_000 });
      const hung = c.api("GET", "WhoAmI", { token });
      const slow = c.api("GET", "accounts", { token });
      const idle = await c.request("GET", `${own.dataverseUrl}/`); // leaves a keep-alive socket open
      assert.equal(idle.status, 200);
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await own.close();
      assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
      await assert.rejects(hung);
      await assert.rejects(slow);
      await own.close(); // idempotent
    } finally {
      c.close();
    }
  });
});
