// The query node in a real Node-RED against the emulator: output modes, paging, limits, resuming,
// streaming, failures part-way, bad input, and FetchXML.
import { beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SEED_IDS } from "../../emulator";
import { collect, connectionNode, GUID, helper, loadFlow, run, useTestEmulator, type FlowNode, type Msg, type Outcome } from "./harness";

const test = useTestEmulator();
// Registered after the shared reset, so it runs after it.
beforeEach(() => seedDevices());

const ONLINE = 100_000_000;
const OFFLINE = 100_000_001;
const MAINTENANCE = 100_000_002;
const FAULT = 100_000_003;

/** dv_iotdevices then holds five rows: the seeded boiler sensor (SN-0001) and these four. */
async function seedDevices(): Promise<void> {
  await test.api.seed("dv_iotdevices", [
    { dv_name: "Cold store", dv_serialnumber: "SN-0002", dv_temperature: 4, dv_batterylevel: 60, dv_status: OFFLINE },
    { dv_name: "A&B lab", dv_serialnumber: "SN-0003", dv_temperature: 19.5, dv_batterylevel: 10, dv_status: MAINTENANCE },
    { dv_name: "O'Hara's freezer", dv_serialnumber: "SN-0004", dv_temperature: -18, dv_batterylevel: 95, dv_status: FAULT },
    {
      dv_name: "Roof",
      dv_serialnumber: "SN-0005",
      dv_temperature: 12,
      dv_batterylevel: 33,
      dv_status: ONLINE,
      "dv_accountid@odata.bind": `/accounts(${SEED_IDS.fabrikamAccount})`,
    },
  ]);
}

/** Adds `count` generated devices (the emulator's fast seeding, in-process); `batch` keeps serial numbers apart. */
function seedManyDevices(count: number, batch = "BULK"): void {
  const template = { dv_name: `${batch} {n}`, dv_serialnumber: `${batch}-{n}`, dv_batterylevel: "{n%101}", dv_status: ONLINE };
  test.emu.control.seedMany("dv_iotdevices", count, template);
}

/** A query node wired to "out", reading dv_iotdevices unless told otherwise. */
function queryNode(props: FlowNode = {}): FlowNode {
  return { id: "q", type: "dataverse-query", connection: "conn", table: "dv_iotdevices", tableType: "str", wires: [["out"]], ...props };
}

/** A core join node in automatic mode, as the editor adds it, wired to helper "joined". */
const JOIN: FlowNode = {
  id: "join-node",
  type: "join",
  mode: "auto",
  build: "object",
  property: "payload",
  propertyType: "msg",
  key: "topic",
  joiner: "\\n",
  joinerType: "str",
  accumulate: false,
  timeout: "",
  count: "",
  reduceRight: false,
  wires: [["joined"]],
};

/** The page size and max rows settings, as numbers typed in the dialog. */
function sizes(pageSize?: number | string, maxRows?: number | string): FlowNode {
  return {
    ...(pageSize === undefined ? {} : { pageSize: String(pageSize), pageSizeType: "num" }),
    ...(maxRows === undefined ? {} : { maxRows: String(maxRows), maxRowsType: "num" }),
  };
}

/** The Dataverse requests the query made (metadata lookups left out), each with its path and query as `url`. */
async function queryRequests(): Promise<Array<Msg & { url: string }>> {
  return (await test.api.requests())
    .filter((r) => r.server === "dataverse" && !r.path.includes("EntityDefinitions"))
    .map((r) => ({ ...r, url: `${r.path}${r.query ? `?${r.query}` : ""}` }));
}

const decoded = (text: string) => decodeURIComponent(text);

/** Sends one message and waits until `count` messages reached "out" or "caught". */
async function send(msg: Msg, count: number, timeoutMs = 30_000): Promise<Outcome[]> {
  const results = collect(count, timeoutMs);
  helper.getNode("q").receive(msg);
  return results;
}

/** Resolves with nothing when no further message arrives at "out" or "caught" within `ms`. */
async function nothingMore(ms = 300): Promise<void> {
  const extra = await collect(1, ms).then(
    (o) => o,
    () => undefined,
  );
  assert.equal(extra, undefined, `an extra message arrived: ${JSON.stringify(extra?.[0].msg.payload)}`);
}

function ids(rows: Msg[]): string[] {
  return rows.map((r) => r.dv_iotdeviceid as string);
}

describe("dataverse-query: output", () => {
  it("all: one message with every row in msg.payload and a summary in msg.dataverse", async () => {
    await loadFlow(test.emu, [queryNode()]);
    const { kind, msg } = await run("q", { topic: "devices", payload: "go" });
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.topic, "devices", "the rest of the message is kept");
    assert.ok(Array.isArray(msg.payload));
    assert.equal(msg.payload.length, 5);
    assert.ok(msg.payload.every((r: Msg) => GUID.test(r.dv_iotdeviceid)));
    assert.deepEqual(
      { ...msg.dataverse, requestId: undefined },
      { status: 200, rows: 5, page: 1, more: false, requestId: undefined },
      "no count, nextLink or paging cookie when not asked for or at the end",
    );
    assert.match(msg.dataverse.requestId, GUID);
    assert.equal(msg.parts, undefined);
    const [request] = await queryRequests();
    assert.equal(request.method, "GET");
    assert.equal(request.path, "/api/data/v9.2/dv_iotdevices");
    assert.equal(request.headers.prefer, "odata.maxpagesize=5000");
  });

  it("all: reads every page into one message", async () => {
    await loadFlow(test.emu, [queryNode(sizes(2))]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.length, 5);
    assert.equal(new Set(ids(msg.payload)).size, 5);
    assert.equal(msg.dataverse.rows, 5);
    assert.equal(msg.dataverse.page, 3);
    assert.equal(msg.dataverse.more, false);
    assert.equal((await queryRequests()).length, 3);
  });

  it("page: one message per page with msg.parts, and a join node puts the rows back together", async () => {
    await loadFlow(test.emu, [
      queryNode({ output: "page", ...sizes(2), orderby: "dv_serialnumber", orderbyType: "str", wires: [["out", "join-node"]] }),
      JOIN,
      { id: "joined", type: "helper", wires: [] },
    ]);
    const joined = new Promise<Msg>((resolve) => helper.getNode("joined").once("input", resolve));
    const outcomes = await send({ topic: "t" }, 3);
    assert.ok(
      outcomes.every((o) => o.kind === "out"),
      JSON.stringify(outcomes.find((o) => o.kind === "caught")?.msg.error),
    );
    const msgs = outcomes.map((o) => o.msg);
    assert.deepEqual(
      msgs.map((m) => m.payload.length),
      [2, 2, 1],
    );
    const id = msgs[0].parts.id;
    assert.equal(typeof id, "string");
    msgs.forEach((m, i) => {
      assert.equal(m.parts.id, id);
      assert.equal(m.parts.index, i);
      assert.equal(m.parts.type, "array");
      assert.equal(typeof m.parts.len, "number");
      assert.equal(m.parts.count, i === 2 ? 3 : undefined, "count only on the last message");
      assert.equal(m.dataverse.page, i + 1);
      assert.equal(m.dataverse.more, i < 2);
      assert.equal(m.topic, "t");
    });
    assert.deepEqual(
      msgs.map((m) => m.dataverse.rows),
      [2, 2, 1],
      "rows: how many this message holds",
    );
    assert.ok(msgs[0].dataverse.nextLink && msgs[1].dataverse.nextLink);
    assert.equal(msgs[2].dataverse.nextLink, undefined);
    const all = await joined;
    assert.ok(Array.isArray(all.payload));
    assert.deepEqual(
      all.payload.map((r: Msg) => r.dv_serialnumber),
      ["SN-0001", "SN-0002", "SN-0003", "SN-0004", "SN-0005"],
    );
  });

  it("page: a join gives a flat array also for one page of one row, and for no rows", async () => {
    await loadFlow(test.emu, [
      queryNode({ output: "page", filter: "filter", filterType: "msg", wires: [["out", "join-node"]] }),
      JOIN,
      { id: "joined", type: "helper", wires: [] },
    ]);
    for (const [filter, expected] of [
      ["dv_serialnumber eq 'SN-0003'", ["SN-0003"]],
      ["dv_serialnumber eq 'none'", []],
    ] as const) {
      const joined = new Promise<Msg>((resolve) => helper.getNode("joined").once("input", resolve));
      const [page] = await send({ filter }, 1);
      assert.equal(page.kind, "out", page.msg.error?.message);
      assert.equal(page.msg.payload.length, expected.length);
      assert.equal(page.msg.parts.count, 1);
      const all = await joined;
      assert.deepEqual(
        all.payload.map((r: Msg) => r.dv_serialnumber),
        expected,
        `joined payload for ${filter}: ${JSON.stringify(all.payload)}`,
      );
    }
  });

  it("row: one message per row with msg.rowId and msg.parts; a join gives the array back", async () => {
    await loadFlow(test.emu, [
      queryNode({ output: "row", ...sizes(2), select: "dv_name,dv_serialnumber", selectType: "str", wires: [["out", "join-node"]] }),
      JOIN,
      { id: "joined", type: "helper", wires: [] },
    ]);
    const joined = new Promise<Msg>((resolve) => helper.getNode("joined").once("input", resolve));
    const outcomes = await send({}, 5);
    const msgs = outcomes.map((o) => o.msg);
    assert.ok(outcomes.every((o) => o.kind === "out"));
    msgs.forEach((m, i) => {
      assert.equal(Array.isArray(m.payload), false);
      assert.match(m.rowId, GUID);
      assert.equal(m.rowId, m.payload.dv_iotdeviceid);
      assert.deepEqual({ ...m.parts, id: undefined }, { id: undefined, index: i, type: "array", len: 1, ...(i === 4 ? { count: 5 } : {}) });
      assert.equal(m.dataverse.rows, 1);
      assert.equal(m.dataverse.page, Math.floor(i / 2) + 1);
    });
    assert.equal(new Set(msgs.map((m) => m.parts.id)).size, 1);
    assert.equal(new Set(msgs.map((m) => m.rowId)).size, 5);
    assert.equal((await joined).payload.length, 5);
    await nothingMore();
  });

  it("row and page messages each carry their own copy of the rest of the input message", async () => {
    for (const output of ["row", "page"]) {
      await loadFlow(test.emu, [queryNode({ output, ...sizes(2) })]);
      const outer = { id: "outer", index: 3, count: 4, type: "array", len: 1 };
      const msgs = (await send({ topic: "t", meta: { site: "A" }, parts: outer }, output === "row" ? 5 : 3)).map((o) => o.msg);
      assert.ok(msgs.every((m) => m.topic === "t" && m.meta.site === "A"));
      assert.equal(new Set(msgs.map((m) => m.meta)).size, msgs.length, `${output}: every message has its own msg.meta`);
      assert.ok(
        msgs.every((m) => m.parts.parts?.id === "outer"),
        "the input's parts nest inside, as split does",
      );
      await helper.unload();
    }
  });

  it("row: feeding a dataverse-update node updates every row", async () => {
    await loadFlow(test.emu, [
      queryNode({ output: "row", ...sizes(2), select: "dv_iotdeviceid", selectType: "str", wires: [["set"]] }),
      { id: "set", type: "change", rules: [{ t: "set", p: "payload", pt: "msg", to: '{"dv_batterylevel":77}', tot: "json" }], wires: [["u"]] },
      { id: "u", type: "dataverse-update", connection: "conn", table: "dv_iotdevices", tableType: "str", wires: [["out"]] },
    ]);
    const outcomes = await send({}, 5);
    assert.ok(
      outcomes.every((o) => o.kind === "out"),
      JSON.stringify(outcomes.find((o) => o.kind === "caught")?.msg.error),
    );
    const rows = await test.api.rows("dv_iotdevices");
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => r.dv_batterylevel === 77));
    const patches = (await test.api.requests()).filter((r) => r.method === "PATCH");
    assert.equal(patches.length, 5);
  });
});

describe("dataverse-query: msg.rowId in row output", () => {
  it("is never an earlier msg.rowId: rows without an id (an aggregate) carry none", async () => {
    await loadFlow(test.emu, [
      queryNode({
        output: "row",
        queryType: "fetchxml",
        fetchXmlType: "str",
        fetchXml:
          '<fetch aggregate="true"><entity name="dv_iotdevice"><attribute name="dv_iotdeviceid" alias="n" aggregate="count"/><attribute name="dv_status" alias="s" groupby="true"/></entity></fetch>',
      }),
    ]);
    const msgs = (await send({ rowId: SEED_IDS.boilerDevice }, 4)).map((o) => o.msg);
    assert.ok(msgs.every((m) => !m.error && typeof m.payload.n === "number"));
    assert.deepEqual(
      msgs.map((m) => m.rowId),
      [undefined, undefined, undefined, undefined],
    );
  });

  it("without readable table metadata, rows carry no msg.rowId rather than a stale one", async () => {
    await test.api.addFault({ server: "dataverse", path: "EntityDefinitions", status: 403, code: "0x80040220", message: "no privilege" });
    await loadFlow(test.emu, [queryNode({ output: "row", ...sizes(2) })]);
    const msgs = (await send({ rowId: SEED_IDS.boilerDevice }, 5)).map((o) => o.msg);
    assert.ok(msgs.every((m) => !m.error && GUID.test(m.payload.dv_iotdeviceid)));
    assert.ok(
      msgs.every((m) => m.rowId === undefined || m.rowId === m.payload.dv_iotdeviceid),
      JSON.stringify(msgs.map((m) => m.rowId)),
    );
  });
});

describe("dataverse-query: how many rows", () => {
  it("maxRows stops after that many rows, asks for no more than that, and says there are more", async () => {
    await loadFlow(test.emu, [queryNode(sizes(undefined, 3))]);
    const { msg } = await run("q", {});
    assert.equal(msg.payload.length, 3);
    assert.equal(msg.dataverse.rows, 3);
    assert.equal(msg.dataverse.more, true);
    const requests = await queryRequests();
    assert.equal(requests.length, 1);
    assert.equal(requests[0].headers.prefer, "odata.maxpagesize=3");
    assert.ok(msg.dataverse.nextLink, "cut at a page boundary: the next link still resumes exactly after these rows");
  });

  it("maxRows inside a page cuts the page and drops the next link (it would skip rows)", async () => {
    await loadFlow(test.emu, [queryNode({ ...sizes(2, 3), output: "page" })]);
    const outcomes = await send({}, 2);
    const [first, second] = outcomes.map((o) => o.msg);
    assert.equal(first.payload.length, 2);
    assert.equal(second.payload.length, 1);
    assert.equal(second.dataverse.more, true);
    assert.equal(second.dataverse.nextLink, undefined);
    assert.equal(second.parts.count, 2);
    await nothingMore();
    assert.equal((await queryRequests()).length, 2);
  });

  it("maxRows 0 reads every row, the default stops at 5,000", async () => {
    seedManyDevices(5200);
    await loadFlow(test.emu, [queryNode({ id: "all", ...sizes(undefined, 0) }), queryNode({ id: "q", maxRows: undefined, maxRowsType: undefined })]);
    const every = await run("all", {}, 60_000);
    assert.equal(every.kind, "out", every.msg.error?.message);
    assert.equal(every.msg.payload.length, 5205);
    assert.equal(new Set(ids(every.msg.payload)).size, 5205);
    assert.equal(every.msg.dataverse.more, false);
    assert.equal(every.msg.dataverse.page, 2);
    const byDefault = await run("q", {}, 60_000);
    assert.equal(byDefault.msg.payload.length, 5000);
    assert.equal(byDefault.msg.dataverse.more, true);
  });

  it("count: msg.dataverse.count, and countLimited beyond 5,000 rows", async () => {
    await loadFlow(test.emu, [queryNode({ count: true, ...sizes(2) }), queryNode({ id: "big", count: true, ...sizes(undefined, 1) })]);
    const small = await run("q", {});
    assert.equal(small.kind, "out", small.msg.error?.message);
    assert.equal(small.msg.dataverse.count, 5);
    assert.equal(small.msg.dataverse.countLimited, false);
    const [first] = await queryRequests();
    assert.match(decoded(first.query), /\$count=true/);
    assert.match(first.headers.prefer, /Microsoft\.Dynamics\.CRM\.totalrecordcountlimitexceeded/);
    seedManyDevices(4995, "A");
    const exactly = await run("big", {});
    assert.equal(exactly.kind, "out", exactly.msg.error?.message);
    assert.deepEqual([exactly.msg.dataverse.count, exactly.msg.dataverse.countLimited], [5000, false], "5,000 rows are counted exactly");
    seedManyDevices(1, "B");
    const big = await run("big", {});
    assert.deepEqual([big.msg.dataverse.count, big.msg.dataverse.countLimited], [5000, true]);
    await helper.unload();
    await loadFlow(test.emu, [queryNode({ ...sizes(2) })]);
    const none = await run("q", {});
    assert.equal(none.msg.dataverse.count, undefined);
    assert.equal(none.msg.dataverse.countLimited, undefined);
  });

  it("formattedValues: rows carry the display labels, and only then", async () => {
    await loadFlow(test.emu, [
      queryNode({ id: "with", formattedValues: true, filter: "dv_serialnumber eq 'SN-0004'", filterType: "str" }),
      queryNode({ id: "q", filter: "dv_serialnumber eq 'SN-0004'", filterType: "str" }),
    ]);
    const formatted = await run("with", {});
    assert.equal(formatted.kind, "out", formatted.msg.error?.message);
    const [row] = formatted.msg.payload;
    assert.equal(row.dv_status, FAULT);
    assert.equal(row["dv_status@OData.Community.Display.V1.FormattedValue"], "Fault");
    const plain = await run("q", {});
    assert.deepEqual(
      Object.keys(plain.msg.payload[0]).filter((k) => k.includes("FormattedValue")),
      [],
    );
    const [withPrefer, withoutPrefer] = await queryRequests();
    assert.match(withPrefer.headers.prefer, /odata\.include-annotations="OData\.Community\.Display\.V1\.FormattedValue"/);
    assert.doesNotMatch(withoutPrefer.headers.prefer, /include-annotations/);
  });
});

describe("dataverse-query: query options reach Dataverse", () => {
  it("filter (with quotes and an ampersand), orderby, select and expand", async () => {
    await test.api.seed("accounts", [{ name: "A&B Consulting" }, { name: "A&B's Other Co" }, { name: "AB plain" }]);
    await loadFlow(test.emu, [
      queryNode({
        id: "q",
        table: "accounts",
        filter: "contains(name,'A&B')",
        filterType: "str",
        orderby: "name desc",
        orderbyType: "str",
        select: "name",
        selectType: "str",
      }),
      queryNode({
        id: "quoted",
        filter: "dv_name eq 'O''Hara''s freezer'",
        filterType: "str",
        select: '["dv_name","dv_status"]',
        selectType: "json",
        expand: "dv_accountid($select=name)",
        expandType: "str",
        orderby: "dv_serialnumber",
        orderbyType: "str",
      }),
      queryNode({
        id: "expand",
        filter: "dv_serialnumber eq 'SN-0005'",
        filterType: "str",
        expand: "dv_accountid($select=name)",
        expandType: "str",
      }),
    ]);
    const amp = await run("q", {});
    assert.equal(amp.kind, "out", amp.msg.error?.message);
    assert.deepEqual(
      amp.msg.payload.map((r: Msg) => r.name),
      ["A&B's Other Co", "A&B Consulting"],
    );
    assert.deepEqual(
      Object.keys(amp.msg.payload[0])
        .filter((k) => !k.startsWith("@"))
        .sort(),
      ["accountid", "name"],
    );
    const quoted = await run("quoted", {});
    assert.equal(quoted.kind, "out", quoted.msg.error?.message);
    assert.deepEqual(
      quoted.msg.payload.map((r: Msg) => r.dv_name),
      ["O'Hara's freezer"],
    );
    const expanded = await run("expand", {});
    assert.equal(expanded.kind, "out", expanded.msg.error?.message);
    assert.equal(expanded.msg.payload[0].dv_accountid.name, "Fabrikam, Inc.");

    const [first, second, third] = await queryRequests();
    assert.equal(first.path, "/api/data/v9.2/accounts");
    assert.match(first.query, /%26/, "the & inside the filter is encoded");
    assert.doesNotMatch(first.query, /'A&B'/);
    const params = new URLSearchParams(first.query);
    assert.equal(params.get("$filter"), "contains(name,'A&B')");
    assert.equal(params.get("$orderby"), "name desc");
    assert.equal(params.get("$select"), "name");
    const p2 = new URLSearchParams(second.query);
    assert.equal(p2.get("$filter"), "dv_name eq 'O''Hara''s freezer'");
    assert.equal(p2.get("$select"), "dv_name,dv_status");
    assert.equal(p2.get("$expand"), "dv_accountid($select=name)");
    assert.equal(new URLSearchParams(third.query).get("$expand"), "dv_accountid($select=name)");
  });

  it("sends Prefer: odata.maxpagesize and follows each @odata.nextLink unchanged", async () => {
    await loadFlow(test.emu, [queryNode({ output: "page", ...sizes(2), filter: "dv_temperature gt -100 and dv_name ne 'x y'", filterType: "str" })]);
    const msgs = (await send({}, 3)).map((o) => o.msg);
    const requests = await queryRequests();
    assert.equal(requests.length, 3);
    assert.ok(requests.every((r) => r.headers.prefer === "odata.maxpagesize=2"));
    const origin = test.emu.dataverseUrl;
    assert.equal(`${origin}${requests[1].url}`, msgs[0].dataverse.nextLink);
    assert.equal(`${origin}${requests[2].url}`, msgs[1].dataverse.nextLink);
    assert.match(decoded(requests[1].query), /\$skiptoken=/);
  });

  it("accepts the logical name as the table", async () => {
    await loadFlow(test.emu, [queryNode({ table: "account", select: "name", selectType: "str", orderby: "name", orderbyType: "str" })]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(
      msg.payload.map((r: Msg) => r.name),
      ["Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders"],
    );
    const [request] = await queryRequests();
    assert.equal(request.path, "/api/data/v9.2/accounts");
  });
});

describe("dataverse-query: resuming and streaming", () => {
  it("msg.nextLink from an earlier message fetches just that page", async () => {
    await loadFlow(test.emu, [queryNode({ output: "page", ...sizes(2, 0), orderby: "dv_serialnumber", orderbyType: "str" })]);
    const pages = (await send({}, 3)).map((o) => o.msg);
    assert.equal(pages[0].dataverse.more, true);
    await test.api.clearRequests();
    const second = await run("q", { nextLink: pages[0].dataverse.nextLink });
    assert.equal(second.kind, "out", second.msg.error?.message);
    assert.deepEqual(
      second.msg.payload.map((r: Msg) => r.dv_serialnumber),
      ["SN-0003", "SN-0004"],
    );
    await nothingMore();
    const requests = await queryRequests();
    assert.equal(requests.length, 1, "just that page, although maxRows is 0");
    assert.equal(`${test.emu.dataverseUrl}${requests[0].url}`, pages[0].dataverse.nextLink);
    assert.equal(requests[0].headers.prefer, "odata.maxpagesize=2");
    assert.equal(second.msg.parts.count, 1, "a join ends with that page");
    const third = await run("q", { nextLink: second.msg.dataverse.nextLink });
    assert.deepEqual(
      third.msg.payload.map((r: Msg) => r.dv_serialnumber),
      ["SN-0005"],
    );
    assert.equal(third.msg.dataverse.more, false);
    assert.equal(third.msg.dataverse.nextLink, undefined);
  });

  it("a msg.nextLink to another host is an input error at Catch, and nothing is sent", async () => {
    await loadFlow(test.emu, [queryNode()]);
    await test.api.clearRequests();
    for (const nextLink of [
      "https://evil.example/api/data/v9.2/dv_iotdevices?$skiptoken=x",
      `${test.emu.dataverseUrl}.evil.example/api/data/v9.2/dv_iotdevices`,
      42,
    ]) {
      const { kind, msg } = await run("q", { nextLink });
      assert.equal(kind, "caught");
      assert.equal(msg.dataverse.code, "InvalidInput");
      assert.equal(msg.dataverse.status, 0);
      assert.match(msg.error.message, /msg\.nextLink must be an @odata\.nextLink of this environment/);
    }
    assert.deepEqual(
      (await test.api.requests()).filter((r) => r.server === "dataverse"),
      [],
    );
  });

  it("page and row output request the next page only after the previous page's messages were sent", async () => {
    for (const output of ["page", "row"]) {
      await loadFlow(test.emu, [queryNode({ output, ...sizes(2) })]);
      await test.api.clearRequests();
      const arrivals: number[] = [];
      helper.getNode("out").on("input", () => arrivals.push(performance.timeOrigin + performance.now()));
      await send({}, output === "page" ? 3 : 5);
      const requests = await queryRequests();
      assert.equal(requests.length, 3);
      const perPage = output === "page" ? 1 : 2;
      for (let page = 2; page <= 3; page++) {
        const before = arrivals.filter((t) => t < requests[page - 1].startedAt).length;
        assert.equal(before, (page - 1) * perPage, `${output}: messages of pages before page ${page} arrived before it was requested`);
      }
      await helper.unload();
    }
  });

  it("a page that fails after earlier pages were sent goes to Catch saying which, and its nextLink resumes without repeats", async () => {
    await loadFlow(test.emu, [queryNode({ output: "row", ...sizes(2, 0), orderby: "dv_serialnumber", orderbyType: "str" })]);
    await test.api.addFault({
      server: "dataverse",
      method: "GET",
      path: "/dv_iotdevices",
      status: 400,
      skip: 1,
      times: 1,
      code: "0x80060888",
      message: "boom",
    });
    const outcomes = await send({ topic: "resume me" }, 3);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ["out", "out", "caught"],
    );
    const failure = outcomes[2].msg;
    assert.match(failure.error.message, /Page 2 of the query failed after 2 rows were sent on/);
    assert.match(failure.error.message, /boom/);
    assert.match(failure.error.message, /msg\.nextLink = msg\.dataverse\.nextLink/);
    assert.equal(failure.dataverse.status, 400);
    assert.equal(failure.dataverse.code, "0x80060888");
    assert.equal(failure.dataverse.page, 2);
    assert.equal(typeof failure.dataverse.nextLink, "string");
    // A resumed message pulls one page at a time, each naming the next.
    const resumed = await send({ ...failure, nextLink: failure.dataverse.nextLink }, 2);
    const rest = await send({ nextLink: resumed[1].msg.dataverse.nextLink }, 1);
    assert.ok([...resumed, ...rest].every((o) => o.kind === "out"));
    await nothingMore();
    const serials = [...outcomes.slice(0, 2), ...resumed, ...rest].map((o) => o.msg.payload.dv_serialnumber);
    assert.deepEqual(serials, ["SN-0001", "SN-0002", "SN-0003", "SN-0004", "SN-0005"], "every row once");
  });

  it("output all: a page that fails later says to send the message again (no rows were sent on)", async () => {
    await loadFlow(test.emu, [queryNode({ ...sizes(2) })]);
    await test.api.addFault({
      server: "dataverse",
      method: "GET",
      path: "/dv_iotdevices",
      status: 400,
      skip: 1,
      times: 1,
      code: "0x80060888",
      message: "boom",
    });
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /boom/);
    assert.match(msg.error.message, /Page 2 of the query failed after 2 rows were read, so no rows were sent on: .*Send the message again/);
    assert.doesNotMatch(msg.error.message, /To resume/);
    assert.equal(msg.dataverse.page, 2);
    assert.equal(msg.dataverse.nextLink, undefined, "resuming from page 2 would lose page 1's rows");
    const again = await run("q", {});
    assert.equal(again.kind, "out", again.msg.error?.message);
    assert.equal(again.msg.payload.length, 5);
  });
});

describe("dataverse-query: bad input goes to Catch before any request", () => {
  /** Runs one message and checks it was caught as bad input with no request sent (beyond `allowed`). */
  async function rejected(props: FlowNode, msg: Msg, pattern: RegExp, allowed: RegExp[] = []): Promise<Msg> {
    await loadFlow(test.emu, [queryNode(props)]);
    await test.api.clearRequests();
    const outcome = await run("q", msg);
    assert.equal(outcome.kind, "caught", JSON.stringify(outcome.msg.payload));
    assert.match(outcome.msg.error.message, pattern);
    const sent = (await test.api.requests()).filter((r) => r.server === "dataverse" && !allowed.some((a) => a.test(decoded(r.path))));
    assert.deepEqual(
      sent.map((r) => r.path),
      [],
      "no query request",
    );
    return outcome.msg;
  }

  it("an unknown table: 404 0x8006088a, saying it does not exist (only the metadata lookup is sent)", async () => {
    const msg = await rejected({ table: "acounts" }, {}, /Table 'acounts' does not exist/, [/EntityDefinitions/]);
    assert.equal(msg.dataverse.status, 404);
    assert.equal(msg.dataverse.code, "0x8006088a");
  });

  it("pageSize 0, 5001, abc; maxRows -1", async () => {
    for (const [props, pattern] of [
      [sizes(0), /pageSize must be a whole number from 1 to 5000, not 0/],
      [sizes(5001), /pageSize must be a whole number from 1 to 5000, not 5001/],
      [{ pageSize: "abc", pageSizeType: "str" }, /pageSize must be a whole number from 1 to 5000, not "abc"/],
      [sizes("abc"), /pageSize must be a whole number from 1 to 5000, not NaN/],
      [{ pageSize: "ps", pageSizeType: "msg" }, /pageSize must be a whole number.*\(pageSize is read from msg\.ps\)/],
      [sizes(undefined, -1), /maxRows must be a whole number from 0 to up, not -1/],
      [sizes(undefined, 1.5), /maxRows must be a whole number/],
    ] as const) {
      const msg = await rejected(props, { ps: 9999 }, pattern);
      assert.equal(msg.dataverse.code, "InvalidInput");
      assert.equal(msg.dataverse.status, 0);
      assert.equal(msg.dataverse.retryable, false);
      await helper.unload();
    }
  });

  it("a bad orderby, select or expand", async () => {
    for (const [props, pattern] of [
      [{ orderby: "name; drop", orderbyType: "str" }, /orderby 'name; drop' is not a column list/],
      [{ orderby: "name sideways", orderbyType: "str" }, /orderby/],
      [{ select: "dv name", selectType: "str" }, /select contains 'dv name', which is not a column name/],
      [{ expand: "dv_accountid&$top=1", expandType: "str" }, /expand 'dv_accountid&\$top=1' is not a navigation property list/],
      [{ filter: "{}", filterType: "json" }, /filter must be text/],
    ] as const) {
      const msg = await rejected(props, {}, pattern);
      assert.equal(msg.dataverse.code, "InvalidInput");
      await helper.unload();
    }
  });

  it("a bad queryType", async () => {
    const msg = await rejected({ queryType: "sql" }, {}, /queryType must be odata or fetchxml, not 'sql'/);
    assert.equal(msg.dataverse.code, "InvalidInput");
  });

  it("a filter Dataverse rejects: its 400 message at Catch", async () => {
    await loadFlow(test.emu, [queryNode({ filter: "nosuchcolumn eq 1", filterType: "str" })]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.status, 400);
    assert.equal(msg.dataverse.code, "0x80060888");
    assert.match(msg.error.message, /nosuchcolumn/);
    assert.equal(msg.dataverse.retryable, false);
    assert.equal(msg.dataverse.nextLink, undefined);
  });
});

describe("dataverse-query: FetchXML", () => {
  function fetchNode(fetchXml: string, props: FlowNode = {}): FlowNode {
    return queryNode({ queryType: "fetchxml", fetchXml, fetchXmlType: "str", table: "", ...props });
  }

  /** The FetchXML of each query request, decoded. */
  async function fetchRequests(): Promise<Array<Msg & { xml: string }>> {
    return (await queryRequests()).map((r) => ({ ...r, xml: new URLSearchParams(r.query).get("fetchXml") ?? "" }));
  }

  const DEVICES = `<fetch>
  <entity name="dv_iotdevice">
    <attribute name="dv_name" />
    <attribute name="dv_serialnumber" />
    <attribute name="dv_status" />
    <order attribute="dv_serialnumber" />
  </entity>
</fetch>`;

  it("bad FetchXML goes to Catch before any request", async () => {
    for (const [xml, pattern] of [
      ["<fetch><entity name='dv_iotdevice'>", /not well-formed/],
      ["<fetch><attribute name='x'/></fetch>", /no <entity name/],
      ["<query/>", /must start with <fetch>/],
      ["", /fetchXml is empty/],
      ['<fetch count="9000"><entity name="dv_iotdevice"/></fetch>', /count must be a whole number from 1 to 5000/],
    ] as const) {
      await loadFlow(test.emu, [fetchNode(xml)]);
      await test.api.clearRequests();
      const { kind, msg } = await run("q", {});
      assert.equal(kind, "caught", xml);
      assert.match(msg.error.message, pattern);
      assert.equal(msg.dataverse.code, "InvalidInput");
      assert.deepEqual(
        (await test.api.requests()).filter((r) => r.server === "dataverse"),
        [],
      );
      await helper.unload();
    }
  });

  it("a simple query: the table from <entity name>, paging added by the node", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES)]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(
      msg.payload.map((r: Msg) => r.dv_serialnumber),
      ["SN-0001", "SN-0002", "SN-0003", "SN-0004", "SN-0005"],
    );
    assert.match(msg.payload[0].dv_iotdeviceid, GUID);
    assert.equal(msg.dataverse.rows, 5);
    assert.equal(msg.dataverse.more, false);
    const [request] = await fetchRequests();
    assert.equal(request.path, "/api/data/v9.2/dv_iotdevices", "logical name → entity set");
    assert.match(request.xml, /<fetch count="5000" page="1">/);
  });

  it("pages with the paging cookie, and resumes from msg.pagingCookie + msg.page", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES, { output: "page", ...sizes(2) })]);
    const msgs = (await send({}, 3)).map((o) => o.msg);
    assert.ok(msgs.every((m) => !m.error));
    assert.deepEqual(
      msgs.map((m) => m.payload.map((r: Msg) => r.dv_serialnumber)),
      [["SN-0001", "SN-0002"], ["SN-0003", "SN-0004"], ["SN-0005"]],
    );
    assert.match(msgs[0].dataverse.pagingCookie, /^<cookie/);
    assert.equal(msgs[0].dataverse.nextPage, 2);
    assert.equal(msgs[1].dataverse.nextPage, 3);
    assert.equal(msgs[2].dataverse.pagingCookie, undefined);
    assert.equal(msgs[2].dataverse.nextPage, undefined);
    assert.equal(msgs[2].parts.count, 3);
    const requests = await fetchRequests();
    assert.equal(requests.length, 3);
    assert.doesNotMatch(requests[0].xml, /paging-cookie/);
    assert.match(requests[1].xml, /page="2"/);
    assert.match(requests[1].xml, /paging-cookie="&lt;cookie/);
    assert.ok(requests.every((r) => /odata\.include-annotations="[^"]*Microsoft\.Dynamics\.CRM\.fetchxmlpagingcookie/.test(r.headers.prefer)));

    await test.api.clearRequests();
    const resumed = (await send({ pagingCookie: msgs[0].dataverse.pagingCookie, page: msgs[0].dataverse.nextPage }, 1)).map((o) => o.msg);
    await nothingMore();
    assert.deepEqual(
      resumed.map((m) => m.payload.map((r: Msg) => r.dv_serialnumber)),
      [["SN-0003", "SN-0004"]],
      "just that page",
    );
    assert.equal(resumed[0].dataverse.page, 2);
    assert.equal(resumed[0].dataverse.nextPage, 3);
    const again = await fetchRequests();
    assert.match(again[0].xml, /page="2"/);
    assert.match(again[0].xml, /paging-cookie=/);
  });

  it("a page that fails part-way carries pagingCookie and nextPage, which resume without repeats", async () => {
    // No retries, so the 503 (retryable) reaches Catch at once.
    await loadFlow(test.emu, [fetchNode(DEVICES, { output: "row", ...sizes(2, 0) })], { connection: connectionNode(test.emu, { maxRetries: 0 }) });
    await test.api.addFault({ server: "dataverse", method: "GET", path: "/dv_iotdevices", status: 503, skip: 1, code: "0x80040216", message: "down" });
    const outcomes = await send({}, 3, 60_000);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ["out", "out", "caught"],
    );
    const failure = outcomes[2].msg;
    assert.match(
      failure.error.message,
      /Page 2 of the query failed after 2 rows were sent on: .*msg\.pagingCookie = msg\.dataverse\.pagingCookie and msg\.page = msg\.dataverse\.nextPage/,
    );
    assert.equal(failure.dataverse.retryable, true);
    assert.equal(failure.dataverse.nextPage, 2);
    assert.match(failure.dataverse.pagingCookie, /^<cookie/);
    await test.api.clearFaults();
    const resumed = await send({ ...failure, pagingCookie: failure.dataverse.pagingCookie, page: failure.dataverse.nextPage }, 2);
    const last = resumed[1].msg.dataverse;
    const rest = await send({ pagingCookie: last.pagingCookie, page: last.nextPage }, 1);
    assert.ok([...resumed, ...rest].every((o) => o.kind === "out"));
    await nothingMore();
    assert.deepEqual(
      [...outcomes.slice(0, 2), ...resumed, ...rest].map((o) => o.msg.payload.dv_serialnumber),
      ["SN-0001", "SN-0002", "SN-0003", "SN-0004", "SN-0005"],
    );
  });

  it("maxRows cuts a FetchXML page and drops the paging cookie", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES, { output: "page", ...sizes(2, 3) })]);
    const msgs = (await send({}, 2)).map((o) => o.msg);
    assert.deepEqual(
      msgs.map((m) => m.payload.length),
      [2, 1],
    );
    assert.equal(msgs[1].dataverse.more, true);
    assert.equal(msgs[1].dataverse.pagingCookie, undefined);
    assert.equal(msgs[1].dataverse.nextPage, undefined);
    await nothingMore();
  });

  it("a bad msg.pagingCookie is an input error", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES)]);
    const { kind, msg } = await run("q", { pagingCookie: "page 2 please", page: 2 });
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidInput");
    assert.match(msg.error.message, /msg\.pagingCookie must be the paging cookie/);
  });

  it("reads past 5,000 rows, and count says countLimited", async () => {
    seedManyDevices(5200);
    await loadFlow(test.emu, [fetchNode(DEVICES, { ...sizes(undefined, 0), count: true })]);
    const { kind, msg } = await run("q", {}, 60_000);
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload.length, 5205);
    assert.equal(new Set(ids(msg.payload)).size, 5205);
    assert.equal(msg.dataverse.page, 2);
    assert.equal(msg.dataverse.count, 5000);
    assert.equal(msg.dataverse.countLimited, true);
  });

  it("an aggregate query (count, groupby) is one page", async () => {
    await loadFlow(test.emu, [
      fetchNode(`<fetch aggregate="true">
  <entity name="dv_iotdevice">
    <attribute name="dv_iotdeviceid" alias="devices" aggregate="count" />
    <attribute name="dv_status" alias="status" groupby="true" />
  </entity>
</fetch>`),
    ]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    const byStatus = Object.fromEntries(msg.payload.map((r: Msg) => [r.status, r.devices]));
    assert.deepEqual(byStatus, { [ONLINE]: 2, [OFFLINE]: 1, [MAINTENANCE]: 1, [FAULT]: 1 });
    const [request] = await fetchRequests();
    assert.doesNotMatch(request.xml, /count="|page="/, "no paging added to an aggregate");
  });

  it("top: one page of that many rows", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES.replace("<fetch>", '<fetch top="3">'))]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(
      msg.payload.map((r: Msg) => r.dv_serialnumber),
      ["SN-0001", "SN-0002", "SN-0003"],
    );
    assert.equal(msg.dataverse.more, false);
    const requests = await fetchRequests();
    assert.equal(requests.length, 1);
    assert.match(requests[0].xml, /<fetch top="3">/);
  });

  it("link-entity: columns of the related table", async () => {
    await loadFlow(test.emu, [
      fetchNode(`<fetch>
  <entity name="dv_iotdevice">
    <attribute name="dv_serialnumber" />
    <order attribute="dv_serialnumber" />
    <link-entity name="account" from="accountid" to="dv_accountid" alias="acct">
      <attribute name="name" />
    </link-entity>
  </entity>
</fetch>`),
    ]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.deepEqual(
      msg.payload.map((r: Msg) => [r.dv_serialnumber, r["acct.name"] ?? r.acct_x002e_name]),
      [
        ["SN-0001", "Contoso Ltd"],
        ["SN-0005", "Fabrikam, Inc."],
      ],
    );
  });

  it("formattedValues in FetchXML", async () => {
    await loadFlow(test.emu, [fetchNode(DEVICES, { formattedValues: true })]);
    const { kind, msg } = await run("q", {});
    assert.equal(kind, "out", msg.error?.message);
    assert.equal(msg.payload[3]["dv_status@OData.Community.Display.V1.FormattedValue"], "Fault");
  });
});
