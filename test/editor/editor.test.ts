// The editor files without a browser: every text comes from a catalogue, the node definitions stay
// readable by the scorecard, the icons are white on transparent, and the shared validators
// (resources/dataverse-editor.js, run in a vm) accept what the runtime accepts, ${ENV} included.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { CREDENTIALS, TEXT_SETTINGS } from "../../src/shared/connection-node";

const root = path.resolve(__dirname, "../..");
/** Every node type the package registers. */
const types = Object.keys((JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { "node-red": { nodes: object } })["node-red"].nodes);
/** Nodes whose dialog has no field that needs the shared editor code. */
const withoutSharedCode = ["dataverse-whoami", "dataverse-batch"];
const read = (file: string) => readFileSync(path.join(root, file), "utf8");
const catalogues: Record<string, Record<string, unknown>> = Object.fromEntries(
  types.map((type) => [type, JSON.parse(read(`nodes/locales/en-US/${type}.json`))]),
);
const editorJs = read("resources/dataverse-editor.js");
/** The request options every node that sends a message's requests has, each with its TypedInput type. */
const requestOptions = ["callerObjectId", "bypassPlugins", "bypassBusinessLogic", "suppressDuplicateDetection", "tag"];
const requestOptionDefaults = requestOptions.flatMap((name) => [name, `${name}Type`]);
/** The connection-string parser as the editor loads it (built from src/client/connection-string.ts). */
const connectionStringJs = read("resources/dataverse-connection-string.js");

/** The catalogue text for a key as the editor resolves it: "<type>.a.b" in <type>'s catalogue, or "<module>/<type>:<key>". */
function lookup(key: string, ownType: string): unknown {
  const [namespace, name] = key.includes(":") ? key.split(":") : [`node-red-contrib-dataverse/${ownType}`, key];
  if (namespace === "node-red") return "core";
  const type = namespace.replace("node-red-contrib-dataverse/", "");
  return name.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], catalogues[type]);
}

describe("catalogues", () => {
  for (const type of types) {
    it(`${type}: every label, placeholder and text in the dialog and definition comes from a catalogue`, () => {
      const html = read(`nodes/${type}.html`);
      const keys = [...html.matchAll(/data-i18n="(?:\[placeholder\])?([^"]+)"/g)].map((m) => m[1]);
      keys.push(...[...html.matchAll(/this\._\("([^"]+)"/g)].map((m) => m[1]));
      keys.push(
        ...[...html.matchAll(/actionLabel\(this, (?:this\.mode === "upsert" \? )?"([^"]+)"(?: : "([^"]+)")?[,)]/g)].flatMap((m) =>
          [m[1], m[2]].filter(Boolean).flatMap((k) => [k, `${k}WithTable`]),
        ),
      );
      assert.ok(keys.length > 3, "the dialog uses the catalogue");
      for (const key of keys) assert.equal(typeof lookup(key, type), "string", `${type}: ${key}`);
      // No words outside data-i18n in the dialog template: only tags, entities and blanks.
      const template = /data-template-name="[^"]+">([\s\S]*?)<\/script>/.exec(html)![1];
      const text = template
        .replace(/<[^>]+>/g, " ")
        .replace(/&nbsp;/g, " ")
        .trim();
      assert.equal(text, "", `${type} template has text outside the catalogue: ${text}`);
    });
  }

  it("every text of the shared editor code is in the connection's catalogue", () => {
    const keys = [...editorJs.matchAll(/_\("([a-zA-Z.]+)"/g)].map((m) => m[1]).filter((k) => !k.endsWith("."));
    const dynamic = [
      ...["table", "rowId", "rowIdJson", "rowJson", "select", "selectJson", "expand", "orderby", "maxRows", "pageSize"],
      ...["fetchXml", "fetchXmlEntity"],
      ...["urlRequired", "tenantRequired", "clientIdRequired", "clientSecretRequired", "certificateRequired", "privateKeyRequired"],
    ].map((k) => `errors.${k}`);
    const labels = ["concurrency", "queueLimit", "maxThrottleWait", "maxRetries", "timeout", "bulkSize"].map((n) => `label.${n}`);
    const envOptions = ["cloud.envNamed", "bulk.envNamed", "authType.envNamed"]; // keepEnvOption's label of a ${NAME} value
    labels.push(...["url", "cloud", "authority", "tenant", "clientId", "clientSecret", "authType"].map((n) => `label.${n}`)); // what a pasted string filled
    labels.push("placeholder.authority", "placeholder.authorityAdfs");
    for (const key of [...keys, ...dynamic, ...labels, ...envOptions]) {
      assert.equal(typeof lookup(`dataverse-connection.${key}`, "dataverse-connection"), "string", key);
    }
  });

  it("keeps the status texts the runtime uses", () => {
    const status = (lookup("dataverse-connection.status", "dataverse-connection") ?? {}) as Record<string, string>;
    assert.deepEqual(Object.keys(status).sort(), [
      "closed",
      "done",
      "error",
      "incomplete",
      "noConnection",
      "queued",
      "requesting",
      "throttled",
      "throttledWaiting",
      "waiting",
    ]);
    assert.equal(status.queued, "queued (__count__)");
    assert.equal(status.throttled, "throttled, resuming in __seconds__ s");
  });

  it("has help for every node, in Node-RED's help style", () => {
    for (const type of types) {
      const help = read(`nodes/locales/en-US/${type}.html`);
      assert.match(help, new RegExp(`data-help-name="${type}"`));
      assert.match(help, /^\s*<script[^>]*>\s*<p>/, `${type}: starts with the intro paragraph`);
      assert.match(help, /<h3>Details<\/h3>/);
      assert.match(help, /<dl class="message-properties">/);
      if (type !== "dataverse-connection") {
        for (const section of ["Inputs", "Outputs"]) assert.match(help, new RegExp(`<h3>${section}</h3>`), `${type}: ${section}`);
        assert.match(help, /<h4>Example<\/h4>[\s\S]*<pre>/, `${type}: an example msg`);
        assert.match(help, /<h4>Errors<\/h4>[\s\S]*dataverse[\s\S]*retryable/, `${type}: the error contract`);
      } else {
        assert.match(help, /<h4>Errors<\/h4>[\s\S]*dataverse\.status[\s\S]*dataverse\.code[\s\S]*dataverse\.retryable/);
      }
    }
  });
});

describe("node definitions and icons", () => {
  for (const type of types) {
    it(`${type}: registerType with a literal type and inline definition, loading the shared code, and a white SVG icon`, () => {
      const html = read(`nodes/${type}.html`);
      assert.match(html, new RegExp(`<script type="text/javascript">\\s*RED\\.nodes\\.registerType\\('${type}', \\{`));
      if (!withoutSharedCode.includes(type)) assert.match(html, /<script src="resources\/node-red-contrib-dataverse\/dataverse-editor\.js"><\/script>/);
      const icon = /icon: "([^"]+)"/.exec(html)?.[1];
      assert.equal(icon, `${type}.svg`);
      const svg = read(`icons/${icon}`);
      assert.match(svg, /viewBox="0 0 40 60"/, "2:3 like Node-RED's icons");
      for (const colour of svg.match(/(?:fill|stroke)="([^"]+)"/g) ?? []) assert.match(colour, /"(#fff|#ffffff|white|none)"/i, colour);
    });
  }
  it("ships one icon per node kind", () => {
    assert.deepEqual(readdirSync(path.join(root, "icons")).sort(), types.map((t) => `${t}.svg`).sort());
  });

  it("dataverse-file: action (upload by default), table, rowId (msg.rowId), column; labelled by action and column", () => {
    const def = definition("dataverse-file");
    assert.deepEqual(Object.keys(def.defaults), [
      "name",
      "connection",
      "action",
      "table",
      "tableType",
      "rowId",
      "rowIdType",
      "column",
      "columnType",
      ...requestOptionDefaults,
    ]);
    assert.deepEqual(
      [def.defaults.action.value, def.defaults.rowId.value, def.defaults.rowIdType.value, def.defaults.column.required],
      ["upload", "rowId", "msg", true],
    );
    const node = (props: Record<string, unknown>) => ({ ...props, _: (key: string) => lookup(key, "dataverse-file") });
    assert.equal(def.paletteLabel.call(node({})), "file");
    assert.equal(def.label.call(node({ action: "download", column: "cr0a1_contract", columnType: "str" })), "download file cr0a1_contract");
    assert.equal(def.label.call(node({ action: "delete", column: "column", columnType: "msg" })), "delete file");
    assert.equal(def.label.call(node({ name: "contracts", action: "upload" })), "contracts");
  });

  it("dataverse-batch: connection and atomic (off by default); labelled batch, or batch (atomic); one input, one output", () => {
    const def = definition("dataverse-batch");
    assert.deepEqual(Object.keys(def.defaults), ["name", "connection", "atomic", ...requestOptionDefaults]);
    // request options are off or empty by default
    assert.deepEqual(
      requestOptions.map((name) => [def.defaults[name].value, def.defaults[`${name}Type`].value]),
      [
        ["", "str"],
        ["false", "bool"],
        ["", "str"],
        ["false", "bool"],
        ["", "str"],
      ],
    );
    assert.match(
      def.defaults.callerObjectId.validate.call({ type: "dataverse-batch", callerObjectIdType: "str" }, "not-a-guid"),
      /^requestOptions\.errors\.callerObjectId$/,
    );
    assert.equal(def.defaults.callerObjectId.validate.call({ callerObjectIdType: "msg" }, "user.oid"), true);
    assert.equal(def.defaults.bypassBusinessLogic.validate.call({ bypassBusinessLogicType: "str" }, "CustomSync, CustomAsync"), true);
    assert.deepEqual({ ...def.defaults.connection }, { value: "", type: "dataverse-connection", required: true }); // from the vm's realm
    assert.equal(def.defaults.atomic.value, false);
    assert.equal(def.category, "dataverse");
    assert.equal(def.inputs, 1);
    assert.equal(def.outputs, 1);
    const node = (props: Record<string, unknown>) => ({ ...props, _: (key: string) => lookup(key, "dataverse-batch") });
    assert.equal(def.paletteLabel.call(node({})), "batch");
    assert.equal(def.label.call(node({ atomic: false })), "batch");
    assert.equal(def.label.call(node({ atomic: true })), "batch (atomic)");
    assert.equal(def.label.call(node({ atomic: true, name: "order lines" })), "order lines");
    assert.equal(def.labelStyle.call(node({ name: "order lines" })), "node_label_italic");
  });

  it("dataverse-connection: bulk writes auto and bulk size 100 by default, checked by the shared validators", () => {
    const def = definition("dataverse-connection");
    assert.equal(def.defaults.bulk.value, "auto");
    assert.equal(def.defaults.bulkSize.value, 100);
    const editor = loadEditor();
    assert.equal(def.defaults.bulk.validate.call({}, "sometimes", {}), "errors.bulk");
    assert.equal(def.defaults.bulkSize.validate.call({}, "1001", {}), editor.validators.bulkSize.call({}, "1001", {}));
    assert.equal(def.defaults.bulkSize.validate.call({}, "", {}), true);
  });
});

describe("the connection's sign-in settings", () => {
  it("declares every credential of the runtime, by name and type, and the new settings with their defaults", () => {
    const def = definition("dataverse-connection");
    assert.deepEqual(
      Object.fromEntries(Object.entries(def.credentials).map(([name, spec]) => [name, (spec as { type: string }).type])),
      Object.fromEntries(Object.entries(CREDENTIALS).map(([name, spec]) => [name, spec.type])),
    );
    for (const name of TEXT_SETTINGS) assert.ok(def.defaults[name], name);
    assert.equal(def.defaults.authType.value, "secret");
    assert.equal(def.defaults.apiVersion.value, "9.2");
    assert.equal(def.defaults.sendX5c.value, false);
    assert.equal(def.defaults.tokenFile.value, "");
    assert.equal(def.defaults.proxy.value, "");
  });

  it("an old connection (client secret, with or without authType) still validates", () => {
    const def = definition("dataverse-connection");
    for (const authType of [undefined, "secret"]) {
      const node = {
        url: "https://contoso.crm.dynamics.com",
        tenant: "contoso.onmicrosoft.com",
        cloud: "public",
        authority: "",
        authType,
        credentials: { has_clientSecret: true },
      };
      for (const [name, spec] of Object.entries(def.defaults) as [string, any][]) {
        if (spec.validate) assert.equal(spec.validate.call(node, (node as Record<string, unknown>)[name] ?? spec.value, {}), true, name);
      }
      assert.equal(def.credentials.clientSecret.validate.call(node, "__PWRD__", {}), true);
      assert.equal(def.credentials.clientId.validate.call(node, "51f81489-12ee-4a9e-aaae-a2591f45987d", {}), true);
    }
  });

  const v = loadEditor().validators;
  const check = (name: string, value: unknown, node: Record<string, unknown> = {}) => v[name].call(node, value, {});

  it("what is required depends on authType: tenant, client ID and secret for secret; PEM or PFX for certificate; nothing for managed identity", () => {
    const secret = { authType: "secret" };
    assert.equal(check("tenant", "", secret), "errors.tenantRequired");
    assert.equal(check("clientId", "", secret), "errors.clientIdRequired");
    assert.equal(check("clientSecret", "", secret), "errors.clientSecretRequired");
    assert.equal(check("clientSecret", "", {}), "errors.clientSecretRequired", "no authType is secret");
    for (const authType of ["certificate", "managedIdentity", "workloadIdentity"]) assert.equal(check("clientSecret", "", { authType }), true, authType);
    for (const authType of ["managedIdentity", "workloadIdentity"]) {
      assert.equal(check("tenant", "", { authType }), true, authType);
      assert.equal(check("clientId", "", { authType }), true, `${authType}: empty is system-assigned / AZURE_CLIENT_ID`);
      assert.equal(check("clientId", "my-identity", { authType }), "errors.clientId");
    }
    const certificate = { authType: "certificate" };
    assert.equal(check("certificate", "", certificate), "errors.certificateRequired");
    assert.equal(check("privateKey", "", certificate), "errors.privateKeyRequired");
    assert.equal(check("certificate", "", { ...certificate, credentials: { has_pfx: true } }), true, "a PFX instead");
    assert.equal(check("certificate", "MIIC…", certificate), "errors.certificate");
    assert.equal(check("certificate", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----", certificate), true);
    for (const key of ["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
      assert.equal(check("privateKey", `-----BEGIN ${key}-----\nMII`, certificate), true);
    assert.equal(check("privateKey", "__PWRD__", certificate), true, "the stored key");
    assert.equal(check("pfx", "not base64!", certificate), "errors.pfx");
    assert.equal(check("pfx", "MIIKEQIBAzCCCc8=", certificate), true);
    assert.equal(check("certificate", "", secret), true, "only the certificate type checks it");
    for (const t of ["secret", "certificate", "managedIdentity", "workloadIdentity", "${AUTH_TYPE}", ""]) assert.equal(check("authType", t), true, t);
    assert.equal(check("authType", "password"), "errors.authType");
  });

  it("AD FS: the authority is the AD FS URL and no tenant is needed", () => {
    const adfs = { cloud: "adfs", authType: "secret" };
    assert.equal(check("tenant", "", adfs), true);
    assert.equal(check("authority", "", adfs), "errors.authorityRequired");
    assert.equal(check("authority", "https://adfs.contoso.com/adfs", adfs), true);
    assert.equal(check("authority", "adfs.contoso.com", adfs), "errors.authorityAdfs");
    assert.equal(check("cloud", "adfs"), true);
  });

  it("a connection string fills what is left empty: URL, tenant, client ID and secret are then not required", () => {
    const node = { authType: "secret", credentials: { has_connectionString: true } };
    for (const name of ["url", "tenant", "clientId", "clientSecret"]) assert.equal(check(name, "", node), true, name);
    assert.equal(check("url", "", { authType: "secret" }), "errors.urlRequired");
    assert.equal(check("connectionString", "${DATAVERSE_CONNECTION_STRING}"), true);
    assert.equal(check("connectionString", "__PWRD__"), true);
    assert.equal(check("connectionString", "AuthType=ClientSecret;Url=https://a.crm.dynamics.com;ClientId=x;ClientSecret=y"), true);
    assert.match(
      String(check("connectionString", "AuthType=OAuth;Username=a@b.c;Password=Pa55")),
      /^errors\.connectionString \{"reason":"AuthType=OAuth signs in as a person/,
    );
  });

  it("Web API version 8.0 to 9.2, proxy an http(s) URL; empty is the default", () => {
    for (const version of ["", "9.2", "9.1", "9.0", "8.2", "8.0", "${DV_API_VERSION}"]) assert.equal(check("apiVersion", version), true, version);
    for (const version of ["9.3", "7.0", "v9.2", "9"]) assert.equal(check("apiVersion", version), "errors.apiVersion", version);
    for (const proxy of ["", "http://proxy.contoso.com:8080", "https://127.0.0.1:3128/", "${HTTPS_PROXY}"]) assert.equal(check("proxy", proxy), true, proxy);
    for (const proxy of ["proxy:8080", "socks5://proxy:1080", "http://proxy:8080/path"]) assert.equal(check("proxy", proxy), "errors.proxy", proxy);
  });
});

describe("shared validators", () => {
  const editor = loadEditor();
  const v = editor.validators;
  const ok = (name: string, value: unknown, node: Record<string, unknown> = {}) =>
    assert.equal(v[name].call(node, value, {}), true, `${name} ${JSON.stringify(value)}`);
  const bad = (name: string, value: unknown, node: Record<string, unknown> = {}) =>
    assert.match(String(v[name].call(node, value, {})), /^errors\./, `${name} ${JSON.stringify(value)}`);

  it("connection fields: URL, tenant, cloud, authority, client ID, ${ENV} everywhere", () => {
    ok("url", "https://contoso.crm.dynamics.com");
    ok("url", "http://localhost:8080");
    ok("url", "${DATAVERSE_URL}");
    bad("url", "http://contoso.crm.dynamics.com");
    bad("url", "https://contoso.crm.dynamics.com/api/data/v9.2");
    ok("tenant", "contoso.onmicrosoft.com");
    ok("tenant", "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11");
    bad("tenant", "common");
    ok("cloud", "gcchigh");
    ok("cloud", "${MY_CLOUD}");
    bad("cloud", "mars");
    ok("authority", "", { cloud: "public" });
    bad("authority", "", { cloud: "custom" });
    ok("authority", "login.example.com:8443", { cloud: "custom" });
    ok("clientId", "${DATAVERSE_CLIENT_ID}");
    bad("clientId", "my-app");
    // AD FS: the AD FS URL instead of a tenant; managed identity: no tenant, client ID empty for system-assigned.
    ok("cloud", "adfs");
    ok("tenant", "", { cloud: "adfs" });
    ok("authority", "https://adfs.contoso.com/adfs", { cloud: "adfs" });
    ok("authority", "adfs.contoso.com/adfs/", { cloud: "adfs" });
    bad("authority", "", { cloud: "adfs" });
    bad("authority", "https://adfs.contoso.com/", { cloud: "adfs" });
    ok("authType", "managedIdentity");
    bad("authType", "password");
    ok("tenant", "", { authType: "managedIdentity" });
    ok("clientId", "", { authType: "managedIdentity" });
    bad("clientId", "my-identity", { authType: "managedIdentity" });
  });

  it("bulk writes: auto or off (empty, from before the setting, is auto) or ${ENV}; bulk size 1 to 1000", () => {
    for (const mode of ["auto", "off", "", undefined, "${DV_BULK}"]) ok("bulk", mode);
    for (const mode of ["on", "Auto", "true"]) assert.equal(v.bulk.call({}, mode, {}), "errors.bulk", String(mode));
    for (const size of ["", 100, "1", "1000", " 250 ", "${DV_BULK_SIZE}"]) ok("bulkSize", size);
    assert.equal(v.bulkSize.call({}, "1001", {}), 'errors.number {"label":"label.bulkSize","min":1,"max":1000}');
    for (const size of ["0", "-5", "2.5", "lots"]) bad("bulkSize", size);
  });

  it("reliability settings: whole numbers in range, empty for the default, or ${ENV}", () => {
    ok("concurrency", "");
    ok("concurrency", 8);
    ok("concurrency", "52");
    ok("concurrency", "${DV_CONCURRENCY}");
    assert.equal(v.concurrency.call({}, "53", {}), 'errors.number {"label":"label.concurrency","min":1,"max":52}');
    bad("concurrency", "0");
    bad("queueLimit", "1.5");
    ok("maxThrottleWait", "0");
    ok("maxRetries", "20");
    bad("maxRetries", "21");
    bad("timeout", "0");
    ok("timeout", "3600");
  });

  it("action fields: table, row ID (GUID or key object), row, columns, expand, mode", () => {
    ok("table", "accounts", { tableType: "str" });
    ok("table", "${TABLE}", { tableType: "str" });
    bad("table", "accounts(1)", { tableType: "str" });
    ok("table", "anything", { tableType: "msg" }); // Node-RED's own typedInput check
    ok("rowId", "{00000000-0000-0000-0000-000000000001}", { rowIdType: "str" });
    bad("rowId", "12345", { rowIdType: "str" });
    ok("rowId", '{"accountnumber":"ACC-001","active":true}', { rowIdType: "json" });
    assert.equal(v.rowId.call({ rowIdType: "json" }, '{"a":{"b":1}}', {}), "errors.rowIdJson");
    ok("row", '{"name":"Contoso"}', { rowType: "json" });
    assert.equal(v.row.call({ rowType: "json" }, "[1]", {}), "errors.rowJson");
    ok("select", "name, telephone1", { selectType: "str" });
    ok("select", "", { selectType: "str" });
    bad("select", "name;drop", { selectType: "str" });
    ok("select", '["name"]', { selectType: "json" });
    ok("expand", "primarycontactid($select=fullname)", { expandType: "str" });
    bad("expand", "x&$top=1", { expandType: "str" });
    ok("mode", "upsert");
    bad("mode", "replace");
  });

  it("query fields: each checked only for its query type; table required for OData; order by, max rows, page size, output", () => {
    const q = v.query as unknown as Record<string, (this: Record<string, unknown>, v: unknown, opt: unknown) => unknown>;
    const okQ = (name: string, value: unknown, node: Record<string, unknown> = {}) => assert.equal(q[name].call(node, value, {}), true, `${name} ${value}`);
    const badQ = (name: string, value: unknown, node: Record<string, unknown> = {}) =>
      assert.match(String(q[name].call(node, value, {})), /^errors\./, `${name} ${JSON.stringify(value)}`);
    const odata = { queryType: "odata" };
    const fetchxml = { queryType: "fetchxml" };
    okQ("queryType", "fetchxml");
    okQ("queryType", "${QUERY_TYPE}");
    badQ("queryType", "sql");
    okQ("table", "accounts", odata);
    okQ("table", "account", odata); // a logical name
    assert.equal(q.table.call(odata, "", {}), "errors.tableRequired");
    badQ("table", "accounts?$top=1", odata);
    okQ("table", "", fetchxml); // the table comes from <entity name>
    assert.equal(q.table.call({}, "", {}), "errors.tableRequired"); // a node without queryType is OData
    badQ("select", "name;x", odata);
    okQ("select", "name;x", fetchxml);
    okQ("fetchXml", "<not xml", odata); // only FetchXML queries check it (the browser test checks FetchXML)
    okQ("filter", "statecode eq 0 and contains(name,'Contoso')", odata);
    okQ("orderby", "name asc, createdon DESC,_primarycontactid_value", { ...odata, orderbyType: "str" });
    okQ("orderby", "", odata);
    for (const o of ["name ascending", "primarycontactid/fullname"]) assert.equal(q.orderby.call({ ...odata, orderbyType: "str" }, o, {}), "errors.orderby");
    okQ("expand", "primarycontactid($select=fullname)", odata);
    for (const n of ["0", "5000", "123456", " 7 ", "", "${MAX_ROWS}"]) okQ("maxRows", n, { maxRowsType: "num" }); // empty: the default
    for (const n of ["-1", "1.5", "all"]) assert.equal(q.maxRows.call({ maxRowsType: "num" }, n, {}), "errors.maxRows", n);
    okQ("maxRows", "payload.limit", { maxRowsType: "msg" }); // Node-RED's own typedInput check
    for (const n of ["1", "5000", "${PAGE_SIZE}"]) okQ("pageSize", n, { pageSizeType: "num" });
    for (const n of ["0", "5001", "2.5"]) assert.equal(q.pageSize.call({ pageSizeType: "num" }, n, {}), "errors.pageSize", n);
    for (const o of ["all", "page", "row", "${OUTPUT}"]) okQ("output", o);
    assert.equal(q.output.call({}, "rows", {}), "errors.output");
  });

  it("labels say what a node does", () => {
    const node = (props: Record<string, unknown>) => ({ ...props, _: (key: string, args?: { table: string }) => (args ? `${key}:${args.table}` : key) });
    assert.equal(editor.actionLabel(node({ table: "accounts", tableType: "str" }), "v"), "vWithTable:accounts");
    assert.equal(editor.actionLabel(node({ table: "table", tableType: "msg" }), "v"), "v");
    assert.equal(editor.actionLabel(node({ name: "mine", table: "accounts" }), "v"), "mine");
    // a FetchXML query is labelled with its <entity>
    const fetch = (fetchXml: string, fetchXmlType = "str") => node({ table: "", fetchXml, fetchXmlType });
    const written = fetch('<fetch top="5">\n  <entity name="dv_iotdevice">\n    <link-entity name="account" />\n  </entity>\n</fetch>');
    assert.equal(editor.fetchXmlEntity(written), "dv_iotdevice");
    assert.equal(editor.actionLabel(written, "f", editor.fetchXmlEntity(written)), "fWithTable:dv_iotdevice");
    assert.equal(editor.fetchXmlEntity(fetch("payload.fetch", "msg")), "");
    assert.equal(editor.actionLabel(node({ table: "" }), "f", ""), "f");
  });
});

/** The object a node's .html passes to RED.nodes.registerType, its validators calling the shared editor code. */
function definition(type: string): Record<string, any> {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(read(`nodes/${type}.html`))![1];
  let registered: Record<string, any> | undefined;
  const RED = { nodes: { registerType: (name: string, def: Record<string, any>) => name === type && (registered = def) } };
  vm.runInNewContext(script, { RED, DataverseEditor: loadEditor() });
  assert.ok(registered, `${type} registers itself`);
  return registered;
}

/** Runs resources/dataverse-editor.js as the editor would, with just enough RED and jQuery around it. */
function loadEditor(): {
  validators: Record<string, (this: Record<string, unknown>, v: unknown, opt: unknown) => unknown>;
  actionLabel: (node: Record<string, unknown>, key: string, table?: string) => string;
  fetchXmlEntity: (node: Record<string, unknown>) => string;
} {
  const window: Record<string, any> = {};
  const RED = {
    _: (key: string, args?: unknown) =>
      key.replace("node-red-contrib-dataverse/dataverse-connection:dataverse-connection.", "") + (args ? ` ${JSON.stringify(args)}` : ""),
    validators: { typedInput: () => () => true },
  };
  const $ = () => ({ val: () => undefined });
  vm.runInNewContext(connectionStringJs, { window });
  vm.runInNewContext(editorJs, { window, RED, $ });
  return window.DataverseEditor;
}
