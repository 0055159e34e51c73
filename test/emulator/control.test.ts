// The control API over HTTPS (/_emulator/...), as a test or benchmark in another process uses it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { Client, GUID_RE, useEmulator } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator(
  (e, c) => ((emu = e), (client = c)),
  (_emu, c) => c.control("POST", "reset"),
);

describe("control API over HTTPS", () => {
  it("seeds rows (ids assigned when missing), lists them, and empties a table", async () => {
    const fixedId = "5eed0000-0000-4000-8000-000000000001";
    const { ids } = await client.control("POST", "seed", {
      table: "dv_iotdevices",
      rows: [
        { dv_iotdeviceid: fixedId, dv_name: "Seeded 1", dv_serialnumber: "SEED-1", _dv_accountid_value: SEED_IDS.fabrikamAccount },
        { dv_name: "Seeded 2", dv_serialnumber: "SEED-2", dv_lastreadingon: "2024-02-01T10:00:00Z" },
      ],
    });
    assert.equal(ids.length, 2);
    assert.equal(ids[0], fixedId);
    assert.match(ids[1], GUID_RE);

    const rows = await client.control("GET", "rows/dv_iotdevices");
    assert.equal(rows.length, 3);
    assert.equal(rows[1]._dv_accountid_value, SEED_IDS.fabrikamAccount);
    assert.equal(rows[2].dv_lastreadingon, "2024-02-01T10:00:00Z");
    assert.equal((await client.api("GET", "dv_iotdevices(dv_serialnumber='SEED-2')")).status, 200);

    await client.control("DELETE", "rows/dv_iotdevices");
    assert.deepEqual(await client.control("GET", "rows/dv_iotdevices"), []);
  });

  it("generates rows from a template: {n} is the row number, {n%K} its remainder, numbers for number columns", async () => {
    const res = await client.control("POST", "seed", {
      table: "dv_iotdevice",
      count: 3,
      template: {
        dv_name: "Device {n}",
        dv_serialnumber: "GEN-{n}",
        dv_batterylevel: "{n%2}",
        dv_temperature: 20.5,
        _dv_accountid_value: SEED_IDS.fabrikamAccount,
      },
    });
    assert.equal(res.count, 3);
    assert.match(res.firstId, GUID_RE);
    const rows = (await client.control("GET", "rows/dv_iotdevices")).slice(1);
    assert.deepEqual(
      rows.map((r: any) => [r.dv_name, r.dv_serialnumber, r.dv_batterylevel, r.dv_temperature, r._dv_accountid_value]),
      [
        ["Device 1", "GEN-1", 1, 20.5, SEED_IDS.fabrikamAccount],
        ["Device 2", "GEN-2", 0, 20.5, SEED_IDS.fabrikamAccount],
        ["Device 3", "GEN-3", 1, 20.5, SEED_IDS.fabrikamAccount],
      ],
    );
    assert.equal(rows[0].dv_iotdeviceid, res.firstId);
    assert.equal(rows[2].dv_iotdeviceid, res.lastId);
    await assert.rejects(client.control("POST", "seed", { table: "dv_iotdevices", count: 0, template: {} }), /400.*'count' must be an integer/);
    await assert.rejects(client.control("POST", "seed", { table: "dv_iotdevices", count: 2, template: { dv_serialnumber: "SAME" } }), /412.*Serial Number/);
    await assert.rejects(
      client.control("POST", "seed", { table: "dv_iotdevices", count: 1, template: { dv_iotdeviceid: "x" } }),
      /400.*can't set the primary key/,
    );
  });

  it("deletes a row among many quickly, clearing the lookups that point at it", async () => {
    await client.control("POST", "seed", {
      table: "dv_iotdevices",
      count: 20_000,
      template: { dv_name: "D{n}", _dv_accountid_value: SEED_IDS.contosoAccount },
    });
    const started = Date.now();
    assert.equal((await client.api("DELETE", `accounts(${SEED_IDS.fabrikamAccount})`)).status, 204);
    assert.ok(Date.now() - started < 1000, `delete took ${Date.now() - started} ms`);
    assert.equal((await client.api("DELETE", `accounts(${SEED_IDS.contosoAccount})`)).status, 204);
    const pointing = (await client.control("GET", "rows/dv_iotdevices")).filter((r: any) => r._dv_accountid_value !== null);
    assert.equal(pointing.length, 0);
  });

  it("rejects bad control input with a clear 4xx", async () => {
    await assert.rejects(client.control("POST", "seed", { table: "nope", rows: [] }), /404.*unknown table 'nope'/);
    await assert.rejects(client.control("POST", "seed", { table: "accounts", rows: [{ bogus: 1 }] }), /400.*'bogus' does not exist/);
    await assert.rejects(client.control("PATCH", "config", { latencyMs: -1 }), /400.*latencyMs/);
    await assert.rejects(client.control("PATCH", "config", { nope: 1 }), /400.*unknown config field 'nope'/);
    await assert.rejects(client.control("POST", "faults", { status: 503, action: "explode" }), /400.*action/);
    await assert.rejects(client.control("GET", "nothing-here"), /404/);
  });

  it("logs requests of both servers (control calls excluded), filters by server and seq", async () => {
    await client.api("POST", "accounts", { body: { name: "Logged" }, headers: { "X-Test": "yes" } });
    const all = await client.control("GET", "requests");
    assert.deepEqual(
      all.map((r: any) => `${r.server} ${r.method}`),
      ["login POST", "dataverse POST"],
    );
    const [login, create] = all;
    assert.equal(login.path, `/${emu.tenantId}/oauth2/v2.0/token`);
    assert.match(login.body, /grant_type=client_credentials/);
    assert.equal(login.status, 200);
    assert.equal(create.path, "/api/data/v9.2/accounts");
    assert.equal(create.headers["x-test"], "yes");
    assert.equal(create.body, JSON.stringify({ name: "Logged" }));
    assert.equal(create.status, 204);
    assert.ok(create.endedAt >= create.startedAt && create.durationMs >= 0);
    assert.ok(create.seq > login.seq);

    assert.equal((await client.control("GET", "requests?server=login")).length, 1);
    assert.deepEqual(
      (await client.control("GET", `requests?since=${login.seq}`)).map((r: any) => r.seq),
      [create.seq],
    );
    await client.control("DELETE", "requests");
    assert.deepEqual(await client.control("GET", "requests"), []);
  });

  it("invalidates tokens", async () => {
    const token = await client.accessToken();
    await client.control("POST", "tokens/invalidate");
    assert.equal((await client.api("GET", "WhoAmI", { token })).status, 401);
  });

  it("reads and patches the configuration; reset restores the defaults", async () => {
    const config = await client.control("GET", "config");
    assert.deepEqual(config, {
      latencyMs: 0,
      tokenLatencyMs: 0,
      tokenLifetimeSeconds: 3599,
      tokenRefreshInSeconds: null,
      concurrencyLimit: 52,
      requestLimit: 6000,
      windowSeconds: 300,
      executionTimeLimitMs: 1_200_000,
      retryAfterSeconds: 5,
      dopHint: null,
      requestCostMs: 0,
      rowCostMs: 0,
      timeScale: 1,
      webServers: 1,
      clockOffsetSeconds: 0,
      refuseAssertionReplay: 0,
      changeTrackingExpiryDays: 7,
    });
    const patched = await client.control("PATCH", "config", { dopHint: 4, latencyMs: 1 });
    assert.equal(patched.dopHint, 4);
    assert.equal(patched.latencyMs, 1);
    assert.equal(patched.requestLimit, 6000);
    await client.control("POST", "reset");
    assert.equal((await client.control("GET", "config")).dopHint, null);
  });

  it("adds, lists and clears fault rules; reports stats", async () => {
    const { ids } = await client.control("POST", "faults", [
      { id: "slow-token", server: "login", latencyMs: 1 },
      { server: "dataverse", path: "WhoAmI", status: 502 },
    ]);
    assert.equal(ids[0], "slow-token");
    assert.equal((await client.control("GET", "faults")).length, 2);
    assert.equal((await client.api("GET", "WhoAmI")).status, 502);
    await client.control("DELETE", `faults/${ids[1]}`);
    assert.equal((await client.api("GET", "WhoAmI")).status, 200);
    await client.control("DELETE", "faults");
    assert.deepEqual(await client.control("GET", "faults"), []);

    const stats = await client.control("GET", "stats");
    assert.equal(stats.tokenRequests, 1);
    assert.equal(stats.dataverseRequests, 2);
    await client.control("DELETE", "stats");
    assert.equal((await client.control("GET", "stats")).dataverseRequests, 0);
  });

  it("reset brings the seed rows back", async () => {
    await client.api("DELETE", `accounts(${SEED_IDS.contosoAccount})`);
    await client.api("POST", "accounts", { body: { name: "Extra" } });
    await client.control("POST", "reset");
    const names = (await client.control("GET", "rows/accounts")).map((r: any) => r.name);
    assert.deepEqual(names, ["Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders"]);
  });
});
