// Large tables: 200,000 generated rows seeded through the HTTP control API in seconds, then read in
// pages of 5,000 through OData ($skiptoken) and FetchXML (paging cookies, past the 50,000 rows of
// simple paging) without filtering and sorting the whole table again for every page.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningEmulator } from "../../emulator";
import { Client, useEmulator } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator(
  (e, c) => ((emu = e), (client = c)),
  () => undefined, // one seeding for the whole file
);

const ROWS = 200_000;
const PAGE = 5000;
/** Generous for a busy two-core machine; a page takes a few tens of milliseconds when idle. */
const SLOWEST_PAGE_MS = 2000;

describe("200,000 rows", () => {
  before(async () => {
    await client.control("POST", "reset");
    const started = performance.now();
    const res = await client.control("POST", "seed", {
      table: "dv_iotdevices",
      count: ROWS,
      template: { dv_name: "Device {n}", dv_serialnumber: "SN-{n}", dv_temperature: "{n%500}", dv_batterylevel: "{n%101}", dv_status: 100_000_000 },
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(res.count, ROWS);
    console.log(`  seeded ${ROWS} rows in ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 20, `seeding took ${seconds.toFixed(1)} s`);
  });

  it("the generated rows follow the template; /$count and $count stop at 5,000", async () => {
    const row = (await client.api("GET", "dv_iotdevices(dv_serialnumber='SN-4242')")).json();
    assert.equal(row.dv_name, "Device 4242");
    assert.equal(row.dv_temperature, 4242 % 500);
    assert.equal(row.dv_batterylevel, 4242 % 101);
    assert.equal((await client.api("GET", "dv_iotdevices/$count")).text, "5000");
    const res = await client.api("GET", "dv_iotdevices?$select=dv_name&$count=true&$top=1", {
      headers: { Prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"' },
    });
    const body = res.json();
    assert.equal(body["@odata.count"], 5000);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcount"], 5000);
    assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], true);
  });

  it("reads every row through OData nextLinks, pages of 5,000", async () => {
    const token = await client.accessToken();
    let url: string | undefined =
      `${emu.dataverseUrl}/api/data/v9.2/dv_iotdevices?$select=dv_serialnumber&$filter=dv_batterylevel ge 0&$orderby=dv_temperature desc`;
    const seen = new Set<string>();
    const times: number[] = [];
    while (url) {
      const started = performance.now();
      const res = await client.request("GET", url, { headers: { Authorization: `Bearer ${token}`, Prefer: `odata.maxpagesize=${PAGE}` } });
      times.push(performance.now() - started);
      assert.equal(res.status, 200, res.text);
      const body = res.json();
      for (const r of body.value) seen.add(r.dv_serialnumber);
      url = body["@odata.nextLink"];
    }
    report("OData", times);
    assert.equal(seen.size, ROWS + 1, "every row once (the seed device too)");
  });

  it("reads every row through FetchXML paging cookies, past 50,000 rows", async () => {
    let xml = `<fetch count='${PAGE}' page='1'><entity name='dv_iotdevice'><attribute name='dv_serialnumber'/><order attribute='dv_temperature' descending='true'/></entity></fetch>`;
    const headers = { Prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"' };
    const seen = new Set<string>();
    const times: number[] = [];
    for (let page = 1; ; page++) {
      const started = performance.now();
      const res = await client.api("GET", `dv_iotdevices?fetchXml=${encodeURIComponent(xml)}`, { headers });
      times.push(performance.now() - started);
      assert.equal(res.status, 200, res.text);
      const body = res.json();
      for (const r of body.value) seen.add(r.dv_serialnumber);
      const cookie: string | undefined = body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"];
      if (!cookie) break;
      const inner = decodeURIComponent(decodeURIComponent(cookie.match(/pagingcookie="([^"]*)"/)![1]));
      const escaped = inner.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
      xml = xml.replace(/<fetch [^>]*>/, `<fetch count='${PAGE}' page='${page + 1}' paging-cookie='${escaped}'>`);
    }
    report("FetchXML", times);
    assert.equal(seen.size, ROWS + 1);
    const simple = await client.api(
      "GET",
      `dv_iotdevices?fetchXml=${encodeURIComponent(`<fetch count='${PAGE}' page='11'><entity name='dv_iotdevice'/></fetch>`)}`,
    );
    assert.equal(simple.status, 400, "without a cookie, paging stops at 50,000 rows");
  });
});

function report(what: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `  ${what}: ${times.length} pages, first ${times[0].toFixed(0)} ms, median ${median.toFixed(0)} ms, slowest ${sorted[sorted.length - 1].toFixed(0)} ms`,
  );
  // The first page filters and sorts; the later ones must not (they would cost as much as the first).
  assert.ok(median < SLOWEST_PAGE_MS, `${what} median page ${median.toFixed(0)} ms`);
  assert.ok(median < Math.max(times[0], 50), `${what}: later pages should be cheaper than the first`);
}
