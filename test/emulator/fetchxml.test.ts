// FetchXML on `GET <entityset>?fetchXml=…`: columns, conditions, order, link-entity, aggregates,
// paging (cookies and simple paging) and the errors of what Dataverse (or the emulator) refuses.
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS, type RunningEmulator } from "../../emulator";
import { BASE_CURRENCY_ID } from "../../emulator/identities";
import { Client, GUID_RE, useEmulator, type HttpResult } from "./helpers";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => ((emu = e), (client = c)));

const PAGING = { Prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"' };
const ALL_ANNOTATIONS = { Prefer: 'odata.include-annotations="*"' };

const fetchXml = (set: string, xml: string, headers: Record<string, string> = {}, extra = ""): Promise<HttpResult> =>
  client.api("GET", `${set}?fetchXml=${encodeURIComponent(xml)}${extra}`, { headers });

async function rowsOf(set: string, xml: string, headers: Record<string, string> = {}): Promise<any[]> {
  const res = await fetchXml(set, xml, headers);
  assert.equal(res.status, 200, res.text);
  return res.json().value;
}

function assertError(res: HttpResult, status: number, code: string, message?: string | RegExp): void {
  assert.equal(res.status, status, res.text);
  const { error } = res.json();
  assert.equal(error.code, code);
  if (typeof message === "string") assert.equal(error.message, message);
  else if (message) assert.match(error.message, message);
}

/** What a client does with the cookie of one page to ask for the next (as Microsoft's docs show). */
function nextPageXml(xml: string, cookieAnnotation: string): string {
  const outer = cookieAnnotation.match(/^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="False" \/>$/);
  assert.ok(outer, `cookie annotation shape: ${cookieAnnotation}`);
  const inner = decodeURIComponent(decodeURIComponent(outer[2]));
  const escaped = inner.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  return xml.replace(/<fetch([^>]*?)( page='\d+')?( paging-cookie='[^']*')?>/, `<fetch$1 page='${outer[1]}' paging-cookie='${escaped}'>`);
}

const names = (rows: any[], key = "dv_name") => rows.map((r) => r[key]);

describe("FetchXML columns, conditions and order", () => {
  beforeEach(() => {
    emu.control.seed("dv_iotdevices", [
      { dv_name: "Sensor B", dv_serialnumber: "SN-0002", dv_batterylevel: 20, dv_status: 100_000_001 },
      { dv_name: "Sensor C", dv_serialnumber: "SN-0003", dv_batterylevel: 55 },
      { dv_name: "Sensor D", dv_serialnumber: "SN-0004", dv_batterylevel: 90 },
      { dv_name: "Sensor E", dv_serialnumber: "SN-0005", dv_batterylevel: 5 },
    ]);
  });

  it("returns the attributes asked for plus the primary key (and currency with money), leaves null columns out, in id order", async () => {
    const res = await fetchXml(
      "accounts",
      "<fetch><entity name='account'><attribute name='name'/><attribute name='description'/><attribute name='revenue'/></entity></fetch>",
    );
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body["@odata.context"], `${emu.dataverseUrl}/api/data/v9.2/$metadata#accounts(name,description,revenue,accountid)`);
    assert.deepEqual(names(body.value, "name"), ["Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders"]);
    const [, fabrikam, northwind] = body.value;
    assert.match(fabrikam["@odata.etag"], /^W\/"\d+"$/);
    assert.deepEqual(Object.keys(fabrikam), ["@odata.etag", "name", "revenue", "accountid", "_transactioncurrencyid_value"]);
    assert.equal(fabrikam.revenue, 820000);
    assert.equal(fabrikam._transactioncurrencyid_value, BASE_CURRENCY_ID);
    assert.deepEqual(Object.keys(northwind), ["@odata.etag", "name", "accountid"], "null columns are left out");
  });

  it("without attribute elements, or with all-attributes, returns every non-null column", async () => {
    for (const inner of ["", "<all-attributes/>"]) {
      const [row] = await rowsOf(
        "accounts",
        `<fetch><entity name='account'>${inner}<filter><condition attribute='name' operator='eq' value='NORTHWIND traders'/></filter></entity></fetch>`,
      );
      assert.deepEqual(Object.keys(row).sort(), [
        "@odata.etag",
        "accountid",
        "address1_city",
        "createdon",
        "creditonhold",
        "modifiedon",
        "name",
        "numberofemployees",
        "versionnumber",
      ]);
    }
  });

  /** Device names matching `filter` (a whole `<filter>` element), by name. */
  const matching = (filter: string) =>
    rowsOf("dv_iotdevices", `<fetch><entity name='dv_iotdevice'><attribute name='dv_name'/><order attribute='dv_name'/>${filter}</entity></fetch>`);
  const cases: Array<[string, string, string[]]> = [
    ["eq (case-insensitive)", "<condition attribute='dv_name' operator='eq' value='sensor b'/>", ["Sensor B"]],
    ["ne", "<condition attribute='dv_name' operator='ne' value='Sensor B'/>", ["Boiler room sensor", "Sensor C", "Sensor D", "Sensor E"]],
    ["lt", "<condition attribute='dv_batterylevel' operator='lt' value='20'/>", ["Sensor E"]],
    ["le", "<condition attribute='dv_batterylevel' operator='le' value='20'/>", ["Sensor B", "Sensor E"]],
    ["gt", "<condition attribute='dv_batterylevel' operator='gt' value='87'/>", ["Sensor D"]],
    ["ge", "<condition attribute='dv_batterylevel' operator='ge' value='55'/>", ["Boiler room sensor", "Sensor C", "Sensor D"]],
    ["like with %", "<condition attribute='dv_name' operator='like' value='%ROOM%'/>", ["Boiler room sensor"]],
    ["like with _", "<condition attribute='dv_name' operator='like' value='sensor _'/>", ["Sensor B", "Sensor C", "Sensor D", "Sensor E"]],
    ["not-like", "<condition attribute='dv_name' operator='not-like' value='Sensor%'/>", ["Boiler room sensor"]],
    ["begins-with", "<condition attribute='dv_name' operator='begins-with' value='sen'/>", ["Sensor B", "Sensor C", "Sensor D", "Sensor E"]],
    ["ends-with", "<condition attribute='dv_name' operator='ends-with' value='SENSOR'/>", ["Boiler room sensor"]],
    ["in", "<condition attribute='dv_serialnumber' operator='in'><value>SN-0002</value><value>sn-0004</value></condition>", ["Sensor B", "Sensor D"]],
    [
      "not-in",
      "<condition attribute='dv_batterylevel' operator='not-in'><value>20</value><value>55</value></condition>",
      ["Boiler room sensor", "Sensor D", "Sensor E"],
    ],
    ["null", "<condition attribute='dv_status' operator='null'/>", ["Sensor C", "Sensor D", "Sensor E"]],
    ["not-null", "<condition attribute='dv_status' operator='not-null'/>", ["Boiler room sensor", "Sensor B"]],
    ["between", "<condition attribute='dv_batterylevel' operator='between'><value>20</value><value>55</value></condition>", ["Sensor B", "Sensor C"]],
    ["on-or-after", "<condition attribute='dv_lastreadingon' operator='on-or-after' value='2024-01-15'/>", ["Boiler room sensor"]],
    ["on-or-before (the whole day)", "<condition attribute='dv_lastreadingon' operator='on-or-before' value='2024-01-15'/>", ["Boiler room sensor"]],
    ["on-or-before (a day earlier)", "<condition attribute='dv_lastreadingon' operator='on-or-before' value='2024-01-14'/>", []],
    [
      "lookup eq, id in braces and upper case",
      `<condition attribute='dv_accountid' operator='eq' value='{${SEED_IDS.contosoAccount.toUpperCase()}}'/>`,
      ["Boiler room sensor"],
    ],
  ];
  for (const [name, condition, expected] of cases) {
    it(`condition operator ${name}`, async () => {
      assert.deepEqual(names(await matching(`<filter>${condition}</filter>`)), expected);
    });
  }

  it("takes long queries (a URL over 16 KB, as Dataverse allows up to about 32 KB)", async () => {
    const values = Array.from({ length: 600 }, (_v, i) => `<value>SN-${String(i).padStart(4, "0")}</value>`).join("");
    const rows = await matching(`<filter><condition attribute='dv_serialnumber' operator='in'>${values}</condition></filter>`);
    assert.deepEqual(names(rows), ["Boiler room sensor", "Sensor B", "Sensor C", "Sensor D", "Sensor E"]);
  });

  it("an empty filter, of either type, restricts nothing", async () => {
    assert.equal((await matching("<filter type='or'/>")).length, 5);
    assert.equal((await matching("<filter type='and'><filter type='or'/></filter>")).length, 5);
  });

  it("nested filters: or of a condition and an and-filter", async () => {
    const filter =
      "<filter type='or'><condition attribute='dv_batterylevel' operator='lt' value='10'/>" +
      "<filter type='and'><condition attribute='dv_status' operator='eq' value='100000001'/><condition attribute='dv_batterylevel' operator='eq' value='20'/></filter></filter>";
    assert.deepEqual(names(await matching(filter)), ["Sensor B", "Sensor E"]);
  });

  it("orders by several columns, descending, empty values first when ascending", async () => {
    const byBattery = await rowsOf(
      "dv_iotdevices",
      "<fetch><entity name='dv_iotdevice'><attribute name='dv_name'/><order attribute='dv_batterylevel' descending='true'/></entity></fetch>",
    );
    assert.deepEqual(names(byBattery), ["Sensor D", "Boiler room sensor", "Sensor C", "Sensor B", "Sensor E"]);
    const byStatus = await rowsOf(
      "dv_iotdevices",
      "<fetch><entity name='dv_iotdevice'><attribute name='dv_name'/><order attribute='dv_status'/><order attribute='dv_name' descending='true'/></entity></fetch>",
    );
    assert.deepEqual(names(byStatus), ["Sensor E", "Sensor D", "Sensor C", "Sensor B", "Boiler room sensor"], "choices sort by label: Offline, Online");
    const raw = await rowsOf(
      "dv_iotdevices",
      "<fetch useraworderby='true'><entity name='dv_iotdevice'><attribute name='dv_name'/><order attribute='dv_status'/><order attribute='dv_name' descending='true'/></entity></fetch>",
    );
    assert.deepEqual(names(raw), ["Sensor E", "Sensor D", "Sensor C", "Boiler room sensor", "Sensor B"], "useraworderby: by value");
  });

  it("orders a lookup by the name of the row it points at, and link-entity orders after the entity's", async () => {
    const aardvark = "ffffffff-0000-4000-8000-000000000001";
    emu.control.seed("accounts", [{ accountid: aardvark, name: "Aardvark" }]);
    emu.control.seed("contacts", [{ firstname: "Zoe", lastname: "Last", _parentcustomerid_value: aardvark }]);
    const byAccount = await rowsOf(
      "contacts",
      "<fetch><entity name='contact'><attribute name='fullname'/><order attribute='parentcustomerid'/></entity></fetch>",
    );
    assert.deepEqual(names(byAccount, "fullname"), ["Zoe Last", "Yvonne McKay", "Susanna Stubberod"]);
    const linkOrder = await rowsOf(
      "contacts",
      "<fetch><entity name='contact'><attribute name='fullname'/>" +
        "<link-entity name='account' from='accountid' to='parentcustomerid' alias='a'><order attribute='name' descending='true'/></link-entity>" +
        "<order attribute='lastname'/></entity></fetch>",
    );
    assert.deepEqual(names(linkOrder, "fullname"), ["Zoe Last", "Yvonne McKay", "Susanna Stubberod"], "by lastname first, the link's order last");
  });

  it("top limits the rows and never announces more", async () => {
    const res = await fetchXml("dv_iotdevices", "<fetch top='2'><entity name='dv_iotdevice'><attribute name='dv_name'/></entity></fetch>", PAGING);
    const body = res.json();
    assert.equal(body.value.length, 2);
    assert.equal(body["@Microsoft.Dynamics.CRM.morerecords"], undefined);
    assert.equal(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"], undefined);
  });

  it("formatted values, lookup annotations and AttributeName for aliases when asked for", async () => {
    const xml =
      "<fetch><entity name='dv_iotdevice'><attribute name='dv_name' alias='title'/><attribute name='dv_status'/><attribute name='dv_accountid'/>" +
      "<filter><condition attribute='dv_serialnumber' operator='eq' value='SN-0001'/></filter></entity></fetch>";
    const [row] = await rowsOf("dv_iotdevices", xml, ALL_ANNOTATIONS);
    assert.equal(row.title, "Boiler room sensor");
    assert.equal(row["title@OData.Community.Display.V1.AttributeName"], "dv_name");
    assert.equal(row.dv_status, 100_000_000);
    assert.equal(row["dv_status@OData.Community.Display.V1.FormattedValue"], "Online");
    assert.equal(row._dv_accountid_value, SEED_IDS.contosoAccount);
    assert.equal(row["_dv_accountid_value@OData.Community.Display.V1.FormattedValue"], "Contoso Ltd");
    assert.equal(row["_dv_accountid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
    const [plain] = await rowsOf("dv_iotdevices", xml);
    assert.ok(!Object.keys(plain).some((k) => k.includes("@") && !k.startsWith("@")), "no annotations unless asked for");
  });
});

describe("FetchXML link-entity", () => {
  it("inner join, many-to-one: the linked columns come as alias_x002e_column", async () => {
    const rows = await rowsOf(
      "contacts",
      "<fetch><entity name='contact'><attribute name='fullname'/>" +
        "<link-entity name='account' from='accountid' to='parentcustomerid' alias='a'><attribute name='name'/><attribute name='telephone1'/></link-entity>" +
        "</entity></fetch>",
      ALL_ANNOTATIONS,
    );
    assert.equal(rows.length, 2);
    const yvonne = rows.find((r) => r.fullname === "Yvonne McKay");
    assert.equal(yvonne.a_x002e_name, "Contoso Ltd");
    assert.equal(yvonne.a_x002e_telephone1, "+1 425 555 0100");
    assert.equal(yvonne["a_x002e_name@OData.Community.Display.V1.AttributeName"], "name");
    assert.equal(rows.find((r) => r.fullname === "Susanna Stubberod").a_x002e_name, "Fabrikam, Inc.");
  });

  it("outer join with a generated alias (<name><n>), the link's own filter, and 'not exists' through entityname", async () => {
    const link = (type: string, filter = "") =>
      `<fetch><entity name='account'><attribute name='name'/><link-entity name='contact' from='contactid' to='primarycontactid' link-type='${type}'><attribute name='fullname'/>${filter}</link-entity></entity></fetch>`;
    let rows = await rowsOf("accounts", link("outer"));
    assert.deepEqual(
      rows.map((r) => [r.name, r.contact1_x002e_fullname]),
      [
        ["Contoso Ltd", "Yvonne McKay"],
        ["Fabrikam, Inc.", undefined],
        ["Northwind Traders", undefined],
      ],
    );
    assert.deepEqual(names(await rowsOf("accounts", link("inner")), "name"), ["Contoso Ltd"]);
    const nobody = "<filter><condition attribute='jobtitle' operator='eq' value='Nobody'/></filter>";
    assert.deepEqual(await rowsOf("accounts", link("inner", nobody)), []);
    rows = await rowsOf("accounts", link("outer", nobody));
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => !("contact1_x002e_fullname" in r)));

    const notExists =
      "<fetch><entity name='account'><attribute name='name'/><filter><condition entityname='pc' attribute='contactid' operator='null'/></filter>" +
      "<link-entity name='contact' from='contactid' to='primarycontactid' link-type='outer' alias='pc'/></entity></fetch>";
    assert.deepEqual(names(await rowsOf("accounts", notExists), "name"), ["Fabrikam, Inc.", "Northwind Traders"]);
  });

  it("one-to-many: a row per match, and no paging cookie (simple paging only, like Dataverse)", async () => {
    emu.control.seed("contacts", [{ firstname: "Zed", lastname: "Second", _parentcustomerid_value: SEED_IDS.contosoAccount }]);
    const xml = (extra: string) =>
      `<fetch${extra}><entity name='account'><attribute name='name'/><order attribute='name'/>` +
      "<link-entity name='contact' from='parentcustomerid' to='accountid' alias='c'><attribute name='fullname'/><order attribute='fullname'/></link-entity></entity></fetch>";
    const rows = await rowsOf("accounts", xml(""));
    assert.deepEqual(
      rows.map((r) => `${r.name} / ${r.c_x002e_fullname}`),
      ["Contoso Ltd / Yvonne McKay", "Contoso Ltd / Zed Second", "Fabrikam, Inc. / Susanna Stubberod"],
    );
    const res = await fetchXml("accounts", xml(" count='2' page='1'"), PAGING);
    const body = res.json();
    assert.equal(body.value.length, 2);
    assert.equal(body["@Microsoft.Dynamics.CRM.morerecords"], true);
    assert.equal(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"], undefined);
    const second = await rowsOf("accounts", xml(" count='2' page='2'"));
    assert.deepEqual(
      second.map((r) => r.c_x002e_fullname),
      ["Susanna Stubberod"],
    );
  });
});

describe("FetchXML aggregates", () => {
  beforeEach(() => {
    emu.control.seed("accounts", [{ name: "Tiny", address1_city: "Redmond", numberofemployees: 1 }, { name: "Empty" }]);
  });

  it("count, countcolumn, sum, avg (integer columns truncate), min, max; no etag", async () => {
    const attr = (alias: string, fn: string) => `<attribute name='numberofemployees' alias='${alias}' aggregate='${fn}'/>`;
    const xml = `<fetch aggregate='true'><entity name='account'>${attr("Average", "avg")}${attr("Count", "count")}${attr("ColumnCount", "countcolumn")}${attr("Maximum", "max")}${attr("Minimum", "min")}${attr("Sum", "sum")}</entity></fetch>`;
    const res = await fetchXml("accounts", xml);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json().value, [{ Average: 101, Count: 5, ColumnCount: 4, Maximum: 250, Minimum: 1, Sum: 406 }]);
  });

  it("groupby with an order on the alias; the empty group first, its sum 0; formatted values when asked for", async () => {
    const xml =
      "<fetch aggregate='true'><entity name='account'><attribute name='numberofemployees' alias='Total' aggregate='sum'/>" +
      "<attribute name='address1_city' alias='Count' aggregate='count'/><attribute name='address1_city' alias='City' groupby='true'/><order alias='City'/></entity></fetch>";
    const rows = await rowsOf("accounts", xml);
    assert.deepEqual(rows, [
      { Total: 0, Count: 1 },
      { Total: 35, Count: 1, City: "Portland" },
      { Total: 251, Count: 2, City: "Redmond" },
      { Total: 120, Count: 1, City: "Seattle" },
    ]);
    const [, , redmond] = await rowsOf("accounts", xml, ALL_ANNOTATIONS);
    assert.equal(redmond["Total@OData.Community.Display.V1.FormattedValue"], "251");
  });

  it("countcolumn distinct; groupby a link-entity column", async () => {
    const distinct = await rowsOf(
      "accounts",
      "<fetch aggregate='true'><entity name='account'><attribute name='address1_city' alias='Cities' aggregate='countcolumn' distinct='true'/></entity></fetch>",
    );
    assert.deepEqual(distinct, [{ Cities: 3 }]);
    const byAccount = await rowsOf(
      "contacts",
      "<fetch aggregate='true'><entity name='contact'><attribute name='contactid' alias='People' aggregate='count'/>" +
        "<link-entity name='account' from='accountid' to='parentcustomerid' alias='a'><attribute name='name' alias='Account' groupby='true'/></link-entity>" +
        "<order alias='Account' descending='true'/></entity></fetch>",
    );
    assert.deepEqual(byAccount, [
      { People: 1, Account: "Fabrikam, Inc." },
      { People: 1, Account: "Contoso Ltd" },
    ]);
  });

  it("refuses aggregates without alias, without aggregate='true', on text, and beyond the aggregate limit", async () => {
    const agg = (attrs: string, fetch = "aggregate='true'") => fetchXml("accounts", `<fetch ${fetch}><entity name='account'>${attrs}</entity></fetch>`);
    assertError(await agg("<attribute name='numberofemployees' aggregate='sum'/>"), 400, "0x80040203", /needs an alias/);
    assertError(await agg("<attribute name='numberofemployees' alias='s' aggregate='sum'/>", ""), 400, "0x80040203", /aggregate='true'/);
    assertError(await agg("<attribute name='name' alias='s' aggregate='sum'/>"), 400, "0x80040203", /not valid for the attribute 'name'/);
    assertError(
      await agg("<attribute name='accountid' alias='n' aggregate='count'/>", "aggregate='true' aggregatelimit='4'"),
      400,
      "0x8004E023",
      "AggregateQueryRecordLimit exceeded. Cannot perform this operation.",
    );
  });
});

describe("FetchXML paging", () => {
  beforeEach(() => {
    emu.control.seedMany("dv_iotdevices", 12, { dv_name: "Device {n}", dv_serialnumber: "SN-1{n}", dv_batterylevel: "{n}" });
  });

  /** Follows paging cookies from page 1 to the last page; returns the pages' rows. */
  async function walk(xml: string): Promise<any[][]> {
    const pages: any[][] = [];
    for (let page = 1; ; page++) {
      const res = await fetchXml("dv_iotdevices", xml, PAGING);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers["preference-applied"], PAGING.Prefer);
      const body = res.json();
      pages.push(body.value);
      const cookie = body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"];
      if (!cookie) {
        assert.equal(body["@Microsoft.Dynamics.CRM.morerecords"], undefined, "both annotations are absent on the last page");
        return pages;
      }
      assert.equal(body["@Microsoft.Dynamics.CRM.morerecords"], true);
      assert.deepEqual(Object.keys(body).slice(1), ["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie", "@Microsoft.Dynamics.CRM.morerecords", "value"]);
      assert.ok(cookie.startsWith(`<cookie pagenumber="${page + 1}" pagingcookie="`));
      xml = nextPageXml(xml, cookie);
    }
  }

  it("pages by cookie in id order when no order is given; the cookie is the real one's shape", async () => {
    const xml = "<fetch count='5' page='1'><entity name='dv_iotdevice'><attribute name='dv_name'/></entity></fetch>";
    const first = (await fetchXml("dv_iotdevices", xml, PAGING)).json();
    const cookie: string = first["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"];
    assert.match(
      cookie,
      /^<cookie pagenumber="2" pagingcookie="%253ccookie%2520page%253d%25221%2522%253e%253cdv_iotdeviceid%2520last%253d%2522%257b[0-9A-F-]{36}%257d%2522%2520first%253d%2522%257b[0-9A-F-]{36}%257d%2522%2520%252f%253e%253c%252fcookie%253e" istracking="False" \/>$/,
    );
    const inner = decodeURIComponent(decodeURIComponent(cookie.match(/pagingcookie="([^"]*)"/)![1]));
    assert.equal(
      inner,
      `<cookie page="1"><dv_iotdeviceid last="{${first.value[4].dv_iotdeviceid.toUpperCase()}}" first="{${first.value[0].dv_iotdeviceid.toUpperCase()}}" /></cookie>`,
    );

    const pages = await walk(xml);
    assert.deepEqual(
      pages.map((p) => p.length),
      [5, 5, 3],
    );
    const ids = pages.flat().map((r) => r.dv_iotdeviceid);
    assert.deepEqual(
      ids,
      emu.control
        .rows("dv_iotdevices")
        .map((r) => r.dv_iotdeviceid as string)
        .sort(),
    );
  });

  it("resumes after the last row of the previous page even when rows change between pages", async () => {
    const xml =
      "<fetch count='4' page='1'><entity name='dv_iotdevice'><attribute name='dv_name'/><attribute name='dv_batterylevel'/><order attribute='dv_batterylevel' descending='true'/></entity></fetch>";
    const first = (await fetchXml("dv_iotdevices", xml, PAGING)).json();
    assert.deepEqual(names(first.value), ["Boiler room sensor", "Device 12", "Device 11", "Device 10"]);
    const inner = decodeURIComponent(decodeURIComponent(first["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"].match(/pagingcookie="([^"]*)"/)[1]));
    assert.match(
      inner,
      /^<cookie page="1"><dv_batterylevel last="10" first="87" \/><dv_iotdeviceid last="\{[0-9A-F-]{36}\}" first="\{[0-9A-F-]{36}\}" \/><\/cookie>$/,
    );
    // The last row of page 1 goes, one row lands before the cookie (not seen again), one after it.
    assert.equal((await client.api("DELETE", `dv_iotdevices(${first.value[3].dv_iotdeviceid})`)).status, 204);
    emu.control.seed("dv_iotdevices", [
      { dv_name: "Late high", dv_batterylevel: 99 },
      { dv_name: "Late low", dv_batterylevel: 0 },
    ]);
    let next = nextPageXml(xml, first["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]);
    const rest: string[] = [];
    for (;;) {
      const body = (await fetchXml("dv_iotdevices", next, PAGING)).json();
      rest.push(...names(body.value));
      if (!body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]) break;
      next = nextPageXml(next, body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]);
    }
    assert.deepEqual(rest, ["Device 9", "Device 8", "Device 7", "Device 6", "Device 5", "Device 4", "Device 3", "Device 2", "Device 1", "Late low"]);
  });

  it("simple paging: page without a cookie, a cookie for another page is ignored, 50,000 rows at most", async () => {
    const xml = (attrs: string) =>
      `<fetch ${attrs}><entity name='dv_iotdevice'><attribute name='dv_serialnumber'/><order attribute='dv_batterylevel'/></entity></fetch>`;
    assert.deepEqual(names(await rowsOf("dv_iotdevices", xml("count='5' page='2'")), "dv_serialnumber"), ["SN-16", "SN-17", "SN-18", "SN-19", "SN-110"]);
    const stale = "&lt;cookie page=&quot;7&quot;&gt;&lt;dv_batterylevel last=&quot;3&quot; first=&quot;1&quot; /&gt;&lt;/cookie&gt;";
    assert.deepEqual(names(await rowsOf("dv_iotdevices", xml(`count='5' page='3' paging-cookie='${stale}'`)), "dv_serialnumber"), [
      "SN-111",
      "SN-112",
      "SN-0001",
    ]);
    assertError(
      await fetchXml("dv_iotdevices", xml("count='5000' page='11'")),
      400,
      "0x80040203",
      "Paging cookie is required when trying to retrieve a set of records on any high pages.",
    );
    assert.equal((await fetchXml("dv_iotdevices", xml("count='5000' page='10'"))).status, 200, "page 10 of 5,000 is row 50,000: still allowed");
  });

  it("counts with $count=true or returntotalrecordcount (capped at 5,000), with the total-count annotations", async () => {
    const xml = (attrs = "") => `<fetch count='2'${attrs}><entity name='dv_iotdevice'><attribute name='dv_name'/></entity></fetch>`;
    const prefer = { Prefer: 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"' };
    for (const [attrs, extra] of [
      [" returntotalrecordcount='true'", ""],
      ["", "&$count=true"],
    ]) {
      const body = (await fetchXml("dv_iotdevices", xml(attrs), prefer, extra)).json();
      assert.equal(body["@odata.count"], 13);
      assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcount"], 13);
      assert.equal(body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"], false);
      assert.equal(body.value.length, 2);
    }
    const uncounted = (await fetchXml("dv_iotdevices", xml(), prefer)).json();
    assert.equal(uncounted["@odata.count"], undefined);
    assert.equal(uncounted["@Microsoft.Dynamics.CRM.totalrecordcount"], -1);
  });

  it("top together with count or page is refused, like Dataverse", async () => {
    const res = await fetchXml("dv_iotdevices", "<fetch top='3' count='2'><entity name='dv_iotdevice'/></fetch>");
    assertError(res, 400, "0x80040203", "The Top.Count = 3 can't be specified with pagingInfo");
    assertError(await fetchXml("dv_iotdevices", "<fetch top='3' page='2'><entity name='dv_iotdevice'/></fetch>"), 400, "0x80040203");
  });
});

describe("FetchXML errors", () => {
  it("400 when the entity is not the entity set's table", async () => {
    assertError(
      await fetchXml("contacts", "<fetch><entity name='account'/></fetch>"),
      400,
      "0x80040203",
      "The entity name specified in FetchXml does not match the entity name in the EntitySetName.",
    );
  });

  it("400 0x80040201 'Invalid XML.' for text that is not well-formed FetchXML", async () => {
    const unescapedCookie = `<fetch page='2' paging-cookie='<cookie page="1"><accountid last="{${SEED_IDS.contosoAccount}}" /></cookie>'><entity name='account'/></fetch>`;
    const bareAmpersand = "<fetch><entity name='account'><filter><condition attribute='name' operator='eq' value='A & B'/></filter></entity></fetch>";
    for (const xml of ["<fetch><entity name='account'></fetch>", "not xml", "", "<fetch/><fetch/>", "<query/>", unescapedCookie, bareAmpersand]) {
      assertError(await fetchXml("accounts", xml), 400, "0x80040201", "Invalid XML.");
    }
  });

  it("400 for unknown attributes and tables, values of the wrong type, and other query options", async () => {
    assertError(
      await fetchXml("accounts", "<fetch><entity name='account'><attribute name='bogus'/></entity></fetch>"),
      400,
      "0x80041103",
      "'account' entity doesn't contain attribute with Name = 'bogus' and NameMapping = 'Logical'.",
    );
    assertError(await fetchXml("accounts", "<fetch><entity name='account'><attribute name='_primarycontactid_value'/></entity></fetch>"), 400, "0x80041103");
    assertError(
      await fetchXml("accounts", "<fetch><entity name='account'><link-entity name='nosuch' from='x' to='accountid'/></entity></fetch>"),
      400,
      "0x80040203",
      /'nosuch'/,
    );
    assertError(
      await fetchXml(
        "accounts",
        "<fetch><entity name='account'><filter><condition attribute='numberofemployees' operator='eq' value='many'/></filter></entity></fetch>",
      ),
      400,
      "0x80040203",
      "Condition for attribute 'account.numberofemployees': expected argument(s) of type 'System.Int32' but received 'many'.",
    );
    assertError(
      await fetchXml("accounts", "<fetch><entity name='account'/></fetch>", {}, "&$select=name"),
      400,
      "0x80060888",
      "The query option '$select' can't be used together with fetchXml.",
    );
  });

  it("501 for what the emulator leaves out: other operators, nested links, other link types, date grouping", async () => {
    const cases = [
      "<fetch><entity name='account'><filter><condition attribute='createdon' operator='last-x-days' value='3'/></filter></entity></fetch>",
      "<fetch><entity name='contact'><link-entity name='account' from='accountid' to='parentcustomerid'><link-entity name='contact' from='contactid' to='primarycontactid'/></link-entity></entity></fetch>",
      "<fetch><entity name='account'><link-entity name='contact' from='parentcustomerid' to='accountid' link-type='exists'/></entity></fetch>",
      "<fetch aggregate='true'><entity name='account'><attribute name='createdon' alias='m' groupby='true' dategrouping='month'/></entity></fetch>",
    ];
    for (const xml of cases) {
      const res = await fetchXml(xml.includes("'contact'><link") ? "contacts" : "accounts", xml);
      assert.equal(res.status, 501, res.text);
      assert.match(res.json().error.message, /is not supported by the Dataverse emulator\.$/);
    }
  });

  it("ids in results are lower case GUIDs", async () => {
    const [row] = await rowsOf("accounts", "<fetch top='1'><entity name='account'><attribute name='accountid'/></entity></fetch>");
    assert.match(row.accountid, GUID_RE);
  });
});
