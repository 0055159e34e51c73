// The editor in a real browser (Chromium through playwright-core) against a real Node-RED with the
// packed package installed, the nodes pointed at the emulator: palette and icons, every dialog, a
// connection made with the add button and checked with Test connection, the table and column
// suggestions, the hint naming the entity set of a logical name, the query dialog's OData and FetchXML
// modes with its code editor, the batch dialog, the connection's Advanced settings (bulk writes) and
// their checks, deploy, an export without secrets, and the example flows imported from the menu and run.
// Skipped when there is no Chromium (CHROMIUM_PATH, default /usr/bin/chromium); .ci/run installs it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { emulatorEnv, SEED_IDS, startEmulator, writeTrustBundle, type RunningEmulator } from "../../emulator";
import { exampleFlows } from "../../scripts/example-flows";
import { installInUserDir, pack, plainEnv, startNodeRed, type RunningNodeRed } from "../installed-node-red";
import { nodeRedVersion } from "../node-red";
import { CREDENTIALS, TEXT_SETTINGS } from "../../src/shared/connection-node";

const root = path.resolve(__dirname, "../..");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const missing = existsSync(chromiumPath) ? "" : `no Chromium at ${chromiumPath}: install it (apt-get install chromium) or set CHROMIUM_PATH`;
// On a developer machine without Chromium the browser tests are skipped; in CI (CI=true) they fail.
const skip = missing && process.env.CI !== "true" ? missing : false;
const major = nodeRedVersion.split(".")[0];
// Screenshots of this run; UPDATE_SCREENSHOTS=1 writes the Node-RED 4 ones to docs/ for the README.
const shots = process.env.UPDATE_SCREENSHOTS === "1" && major === "4" ? path.join(root, "docs") : path.join(root, ".run", "screenshots", `node-red-${major}`);
const WRONG_SECRET = "Browser~Wrong.Secret-value";
const SIGN_IN_FIELDS = ["tenant", "clientId", "clientSecret", "certificate", "privateKey", "pfx", "passphrase", "sendX5c", "tokenFile"];
const WHOAMI_USER_ID = "e5f4d3c2-b1a0-4f9e-8d7c-6b5a49382716";

let work: string;
let emu: RunningEmulator;
let nodeRed: RunningNodeRed;
let userDir: string;
let browser: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
/** Nodes the dialog tests add, by type, for the tests after them. */
const added: Record<string, string> = {};

/** Each test is reported as skipped when there is no Chromium (outside CI). */
function test(name: string, fn: () => Promise<void>): void {
  it(name, { skip }, fn);
}

describe(`the editor in Chromium: Node-RED ${nodeRedVersion} on Node ${process.versions.node}`, () => {
  before(async () => {
    if (skip) return;
    if (missing) throw new Error(missing);
    work = mkdtempSync(path.join(os.tmpdir(), "dataverse-browser-"));
    mkdirSync(shots, { recursive: true });
    emu = await startEmulator({ caDir: process.env.DATAVERSE_TEST_CA_DIR, quiet: true });
    const bundle =
      process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS)
        ? process.env.NODE_EXTRA_CA_CERTS
        : writeTrustBundle(emu.caPem, path.join(work, "trust-bundle.pem"));
    const { tarball } = pack(work, { build: false });
    userDir = path.join(work, "userdir");
    installInUserDir(tarball, userDir);
    nodeRed = await startNodeRed(
      userDir,
      {
        credentialSecret: "browser-test-key",
        telemetry: { enabled: false },
        editorTheme: { tours: false, palette: { catalogues: [] }, projects: { enabled: false } },
        logging: { console: { level: "warn" } },
      },
      { ...plainEnv, ...emulatorEnv(emu, bundle) },
    );
    browser = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 960 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    await emu?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("shows the nodes in the palette with their icons, without page errors", async () => {
    await openEditor();
    await page.locator("#red-ui-palette-search input").pressSequentially("dataverse");
    for (const type of [
      "dataverse-whoami",
      "dataverse-retrieve",
      "dataverse-create",
      "dataverse-update",
      "dataverse-delete",
      "dataverse-query",
      "dataverse-batch",
      "dataverse-relate",
      "dataverse-action",
      "dataverse-file",
      "dataverse-changes",
    ]) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.waitFor({ state: "visible" });
      const style = (await entry.locator(".red-ui-palette-icon").getAttribute("style")) ?? "";
      assert.ok(style.includes(`icons/node-red-contrib-dataverse/${type}.svg`), `${type} icon: ${style}`);
      const icon = await fetch(`${nodeRed.base}/icons/node-red-contrib-dataverse/${type}.svg`);
      assert.equal(icon.status, 200);
      assert.match(icon.headers.get("content-type") ?? "", /svg/);
    }
    const category = page.locator(".red-ui-palette-category").filter({ has: page.locator('[data-palette-type="dataverse-create"]') });
    await category.evaluate((element) => element.scrollIntoView({ block: "start" }));
    await page.waitForTimeout(300); // the palette's filter animation
    await category.screenshot({ path: path.join(shots, "palette.png") });
    assert.deepEqual(pageErrors, []);
  });

  test("adds a whoami node, creates its connection with the add button, and Test connection shows the user id", async () => {
    const id = await addNode("dataverse-whoami", 200, 100);
    await openDialog(id);
    await page.click("#node-input-btn-connection-add");
    await page.locator("#node-config-input-url").waitFor({ state: "visible" });
    await page.fill("#node-config-input-url", emu.dataverseUrl);
    await page.fill("#node-config-input-tenant", emu.tenantId);
    await page.selectOption("#node-config-input-cloud", "custom");
    await page.fill("#node-config-input-authority", emu.authorityHost);
    await page.fill("#node-config-input-clientId", emu.clientId);
    // A wrong secret first: the dialog says what is wrong.
    await page.fill("#node-config-input-clientSecret", WRONG_SECRET);
    await page.click("#dataverse-connection-test");
    const result = page.locator("#dataverse-connection-test-result");
    await result.locator(".fa-exclamation-triangle").waitFor();
    assert.match(await result.innerText(), /client secret is wrong[\s\S]*AADSTS7000215/);
    await page.fill("#node-config-input-clientSecret", emu.clientSecret);
    await page.click("#dataverse-connection-test");
    await result.locator(".fa-check").waitFor();
    assert.match(await result.innerText(), new RegExp(`User ID: ${WHOAMI_USER_ID}`));
    await page.fill("#node-config-input-name", "emulator");
    await page.click("#dataverse-connection-advanced-toggle");
    await page.locator("#node-config-input-concurrency").waitFor({ state: "visible" });
    assert.equal(await page.inputValue("#node-config-input-concurrency"), "8");
    await page.click("#dataverse-connection-advanced-toggle");
    await trayScreenshot("connection-dialog.png");
    await page.click("#node-config-dialog-ok");
    await page.click("#node-dialog-ok");
    assert.equal(await nodeState(id, "valid"), true);
    added.whoami = id;
    assert.deepEqual(pageErrors, []);
  });

  test("create, retrieve and update dialogs suggest the environment's tables and a table's columns", async () => {
    const connection = await page.evaluate(() => {
      let id = "";
      RED.nodes.eachConfig((n: { type: string; id: string }) => {
        if (n.type === "dataverse-connection") id = n.id;
      });
      return id;
    });
    assert.ok(connection, "the connection was added");

    const create = await addNode("dataverse-create", 200, 180);
    await openDialog(create);
    await useConnection(connection);
    await pickTable("acc", "Account", "accounts", "table-picker.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(create), "create accounts");

    const retrieve = await addNode("dataverse-retrieve", 200, 260);
    await openDialog(retrieve);
    await useConnection(connection);
    await pickTable("contact", "Contact", "contacts");
    const select = typedInput("select");
    await select.click();
    await select.pressSequentially("full");
    await pickSuggestion("fullname");
    await select.pressSequentially(",email");
    await pickSuggestion("fullname,emailaddress1");
    await page.click("#node-dialog-ok");
    assert.equal(await label(retrieve), "retrieve contacts");
    assert.equal(await nodeState(retrieve, "select"), "fullname,emailaddress1");

    const update = await addNode("dataverse-update", 200, 340);
    await openDialog(update);
    await useConnection(connection);
    await page.selectOption("#node-input-mode", "upsert");
    // Any typed value is accepted, whether or not it is in the list.
    const table = typedInput("table");
    await table.click();
    await table.pressSequentially("dv_iotdevices");
    await page.keyboard.press("Escape");
    await page.click("#node-dialog-ok");
    assert.equal(await label(update), "upsert dv_iotdevices");
    for (const id of [create, retrieve, update]) assert.equal(await nodeState(id, "valid"), true, `${id} is valid`);
    Object.assign(added, { create, retrieve, update, connection });
    assert.deepEqual(pageErrors, []);
  });

  test("the connection's Advanced section: Bulk writes and Bulk size, checked as you type; ${NAME} kept", async () => {
    await openDialog(added.whoami);
    await page.click("#node-input-btn-connection-edit");
    await page.locator("#node-config-input-url").waitFor({ state: "visible" });
    assert.equal(await page.locator("#dataverse-connection-advanced").isVisible(), false, "closed while every setting has its default");
    await page.click("#dataverse-connection-advanced-toggle");
    await page.locator("#node-config-input-bulk").waitFor({ state: "visible" });
    assert.equal(await page.inputValue("#node-config-input-bulk"), "auto");
    assert.deepEqual(await page.locator("#node-config-input-bulk option").allInnerTexts(), ["Automatic: combine waiting writes", "Off: send each write alone"]);
    assert.equal(await page.inputValue("#node-config-input-bulkSize"), "100");
    for (const bad of ["0", "1001", "2.5", "lots"]) {
      await setConfigField("bulkSize", bad);
      assert.equal(await configHasError("bulkSize"), true, `Bulk size '${bad}' is refused`);
    }
    for (const good of ["", "1000", "${DV_BULK_SIZE}", "250"]) {
      await setConfigField("bulkSize", good);
      assert.equal(await configHasError("bulkSize"), false, `Bulk size '${good}' is accepted`);
    }
    assert.match(await page.locator("#dataverse-connection-tip-advanced").innerText(), /Bulk writes: when writes have to wait/);
    await page.locator("#dataverse-connection-advanced").screenshot({ path: path.join(shots, "connection-advanced.png") });
    await page.selectOption("#node-config-input-bulk", "off");
    await page.click("#node-config-dialog-ok");
    await page.click("#node-dialog-ok");
    assert.deepEqual(await nodeStates(added.connection, ["bulk", "bulkSize", "valid"]), ["off", "250", true]);

    // Opened again, the section is open: its settings differ from the defaults.
    await openDialog(added.whoami);
    await page.click("#node-input-btn-connection-edit");
    await page.locator("#node-config-input-bulk").waitFor({ state: "visible" });
    assert.equal(await page.inputValue("#node-config-input-bulk"), "off");
    await page.selectOption("#node-config-input-bulk", "auto");
    await setConfigField("bulkSize", "");
    await page.click("#node-config-dialog-ok");
    await page.click("#node-dialog-cancel");
    assert.deepEqual(await nodeStates(added.connection, ["bulk", "bulkSize", "valid"]), ["auto", "", true]);

    // A ${NAME} the dialog has no option for stays chosen, shown as the variable it reads.
    await page.evaluate((id) => (RED.nodes.node(id).bulk = "${DV_BULK}"), added.connection);
    await openDialog(added.whoami);
    await page.click("#node-input-btn-connection-edit");
    await page.locator("#node-config-input-bulk").waitFor({ state: "visible" });
    assert.equal(await page.inputValue("#node-config-input-bulk"), "${DV_BULK}");
    assert.equal(await page.locator("#node-config-input-bulk option:checked").innerText(), "From environment variable DV_BULK");
    await page.click("#node-config-dialog-cancel");
    await page.click("#node-dialog-cancel");
    await page.evaluate((id) => (RED.nodes.node(id).bulk = "auto"), added.connection);
    assert.deepEqual(pageErrors, []);
  });

  test("the connection dialog shows only the fields of the sign-in type, AD FS hides the tenant, and Test connection sends every field", async () => {
    await openConnectionDialog();
    assert.deepEqual(await page.locator("#node-config-input-authType option").allInnerTexts(), [
      "Client secret",
      "Certificate",
      "Managed identity (Azure)",
      "Workload identity (AKS, federated)",
    ]);
    const expected: Record<string, string[]> = {
      secret: ["tenant", "clientId", "clientSecret"],
      certificate: ["tenant", "clientId", "certificate", "privateKey", "passphrase", "sendX5c"],
      managedIdentity: ["clientId"],
      workloadIdentity: ["tenant", "clientId", "tokenFile"],
    };
    for (const [authType, fields] of Object.entries(expected)) {
      await page.selectOption("#node-config-input-authType", authType);
      assert.deepEqual(await visibleSignInFields(), fields, authType);
    }
    await page.selectOption("#node-config-input-authType", "certificate");
    await page.selectOption("#dataverse-connection-certForm", "pfx");
    assert.deepEqual(await visibleSignInFields(), ["tenant", "clientId", "pfx", "passphrase", "sendX5c"], "certificate as PFX");
    // A .pfx file is read into base64 in the browser.
    const chooser = page.waitForEvent("filechooser");
    await page.locator('.dataverse-connection-load[data-target="pfx"]').click();
    await (await chooser).setFiles({ name: "app.pfx", mimeType: "application/x-pkcs12", buffer: Buffer.from([0, 1, 2, 250, 255]) });
    await page.locator("#dataverse-connection-pfx-loaded").filter({ hasText: "app.pfx" }).waitFor();
    assert.equal(await page.inputValue("#node-config-input-pfx"), "AAEC+v8=");
    await trayScreenshot("connection-certificate.png");

    await page.selectOption("#node-config-input-authType", "secret");
    await page.selectOption("#node-config-input-cloud", "adfs");
    assert.equal(await page.locator("#node-config-input-tenant").isVisible(), false, "AD FS has no tenant");
    assert.equal(await page.locator("#node-config-input-authority").isVisible(), true);
    assert.equal(await page.getAttribute("#node-config-input-authority", "placeholder"), "https://adfs.contoso.com/adfs");
    assert.match(await page.locator("#dataverse-connection-tip-adfs").innerText(), /On-premises Dynamics 365/);
    await page.selectOption("#node-config-input-cloud", "custom");
    assert.equal(await page.locator("#node-config-input-tenant").isVisible(), true);

    // Test connection posts every setting and credential of the connection.
    const posted = page.waitForRequest((r) => r.url().endsWith("/dataverse/test-connection"));
    await page.click("#dataverse-connection-test");
    const body = (await posted).postDataJSON() as Record<string, unknown>;
    for (const name of [...TEXT_SETTINGS, ...Object.keys(CREDENTIALS), "sendX5c", "tls", "timeout", "id"])
      assert.ok(name in body, `Test connection sends ${name}`);
    assert.equal(body.authType, "secret");
    assert.ok(typeof body.clientSecret === "string" && body.clientSecret !== "", "the secret (typed, or __PWRD__ once stored)");
    await page.locator("#dataverse-connection-test-result .fa-check").waitFor();
    await page.click("#node-config-dialog-cancel");
    await page.click("#node-dialog-cancel");
    assert.deepEqual(await nodeStates(added.connection, ["authType", "cloud", "valid"]), ["secret", "custom", true]);
    assert.deepEqual(pageErrors, []);
  });

  test("a pasted connection string fills the fields; a thumbprint asks for the PEM; a type that signs in as a person says why", async () => {
    await openConnectionDialog();
    await page.click("#dataverse-connection-paste-toggle");
    const paste = async (text: string) => {
      await page.fill("#dataverse-connection-paste-text", text);
      await page.click("#dataverse-connection-paste-fill");
      return page.locator("#dataverse-connection-paste-result").innerText();
    };
    const clientId = "51f81489-12ee-4a9e-aaae-a2591f45987d";
    const filled = await paste(
      ` authtype = ClientSecret ; Service Uri='https://contoso.crm.dynamics.com'; AppId=${clientId}; Secret="a;b""c"; Authority=https://login.microsoftonline.com/contoso.onmicrosoft.com;LoginPrompt=Never`,
    );
    assert.match(filled, /^Filled: Sign in with, Environment URL, Cloud, Tenant, Client ID, Client secret\./);
    assert.equal(await page.inputValue("#dataverse-connection-paste-text"), "", "the pasted text is not kept");
    assert.equal(await page.inputValue("#node-config-input-url"), "https://contoso.crm.dynamics.com");
    assert.equal(await page.inputValue("#node-config-input-cloud"), "public");
    assert.equal(await page.inputValue("#node-config-input-tenant"), "contoso.onmicrosoft.com");
    assert.equal(await page.inputValue("#node-config-input-clientId"), clientId);
    assert.equal(await page.inputValue("#node-config-input-clientSecret"), 'a;b"c');
    for (const field of ["url", "tenant", "clientId", "clientSecret"]) assert.equal(await configHasError(field), false, field);

    const thumbprint = await paste(`AuthType=Certificate;Url=https://contoso.crm.dynamics.com;ClientId=${clientId};Thumbprint=DE8E44A9F07C`);
    assert.match(
      thumbprint,
      /thumbprint \(DE8E44A9F07C\), which only works with the Windows certificate store\. Paste the certificate and its private key as PEM/,
    );
    assert.equal(await page.inputValue("#node-config-input-authType"), "certificate");
    for (const field of ["certificate", "privateKey"]) {
      assert.equal(await page.locator(`#node-config-input-${field}`).isVisible(), true, field);
      assert.equal(await configHasError(field), true, `${field} is highlighted`);
    }
    await trayScreenshot("connection-paste-thumbprint.png");

    const person = await paste("AuthType=OAuth;Username=jsmith@contoso.onmicrosoft.com;Password=Pa55word;Url=https://contoso.crm.dynamics.com");
    assert.match(person, /cannot be used: AuthType=OAuth signs in as a person/);
    assert.ok(!person.includes("Pa55word"));
    assert.match(await paste("AuthType=ClientSecret;Pa55word"), /part 2 has no '='/);
    await page.click("#node-config-dialog-cancel");
    await page.click("#node-dialog-cancel");
    assert.deepEqual(await nodeStates(added.connection, ["authType", "url", "valid"]), ["secret", emu.dataverseUrl, true]);
    assert.deepEqual(pageErrors, []);
  });

  test("the batch dialog: a connection and All or nothing; the label says which", async () => {
    const id = await addNode("dataverse-batch", 450, 260);
    await openDialog(id);
    await chooseConnection(added.connection);
    assert.equal(await page.isChecked("#node-input-atomic"), false, "each operation on its own by default");
    assert.match(await page.locator(".red-ui-tray .form-tips").last().innerText(), /array of operations/);
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "batch");
    assert.deepEqual(await nodeStates(id, ["connection", "atomic", "valid"]), [added.connection, false, true]);
    await openDialog(id);
    await page.check("#node-input-atomic");
    await trayScreenshot("batch-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "batch (atomic)");
    assert.deepEqual(await nodeStates(id, ["atomic", "valid"]), [true, true]);
    added.batch = id;
    assert.deepEqual(pageErrors, []);
  });

  test("the delete dialog: a logical name is accepted and the hint names its entity set; a missing row can be OK", async () => {
    const id = await addNode("dataverse-delete", 450, 100);
    await openDialog(id);
    await useConnection(added.connection);
    await typeTable("account");
    await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set accounts" }).waitFor();
    assert.equal(await typedInput("rowId").inputValue(), "rowId", "Row ID reads msg.rowId by default");
    await page.check("#node-input-missingOk");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "delete account");
    assert.deepEqual(await nodeStates(id, ["table", "tableType", "rowId", "rowIdType", "missingOk", "valid"]), ["account", "str", "rowId", "msg", true, true]);
    added.delete = id;
    assert.deepEqual(pageErrors, []);
  });

  test("the relate dialog: action, relationship checked as a name, targets read from msg.targetId by default", async () => {
    const id = await addNode("dataverse-relate", 700, 100);
    await openDialog(id);
    await useConnection(added.connection);
    await typeTable("dv_iotdevice");
    await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set dv_iotdevices" }).waitFor();
    assert.equal(await page.inputValue("#node-input-action"), "associate");
    assert.equal(await typedInput("rowId").inputValue(), "rowId", "Row ID reads msg.rowId by default");
    assert.equal(await typedInput("targetId").inputValue(), "targetId", "Target ID reads msg.targetId by default");
    await setField("relationship", "not a name");
    assert.ok(await hasError("relationship"), "a relationship is a name");
    await setField("relationship", "dv_iotdevice_contact");
    assert.equal(await hasError("relationship"), false);
    assert.equal(await hasError("targetTable"), false, "the target table may stay empty");
    await page.selectOption("#node-input-action", "disassociate");
    await trayScreenshot("relate-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "disassociate dv_iotdevice_contact");
    assert.deepEqual(await nodeStates(id, ["action", "table", "relationship", "relationshipType", "targetTable", "targetId", "targetIdType", "valid"]), [
      "disassociate",
      "dv_iotdevice",
      "dv_iotdevice_contact",
      "str",
      "",
      "targetId",
      "msg",
      true,
    ]);
    assert.deepEqual(pageErrors, []);
  });

  test("the action dialog: suggests the environment's operations; a picked one sets the kind and shows its parameters; binding is optional", async () => {
    const id = await addNode("dataverse-action", 200, 420);
    await openDialog(id);
    await useConnection(added.connection);
    assert.equal(await page.inputValue("#node-input-kind"), "action");
    assert.equal(await typedInput("parameters").inputValue(), "payload", "Parameters read msg.payload by default");
    const operation = typedInput("operation");
    await operation.click();
    await operation.pressSequentially("RetrieveCurrent");
    const menu = page.locator(".red-ui-autoComplete-container");
    await menu.locator(".dataverse-suggestion").filter({ hasText: "RetrieveCurrentOrganization" }).first().waitFor();
    assert.match(await menu.innerText(), /RetrieveCurrentOrganization\s+function \(GET: reads only\), unbound/);
    await pickSuggestion("RetrieveCurrentOrganization");
    await page.locator("#node-input-operation-hint").filter({ hasText: "Parameters: AccessType (EndpointAccessType, required)." }).waitFor();
    assert.equal(await page.inputValue("#node-input-kind"), "function", "picking a function sets the kind");
    await trayScreenshot("action-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "RetrieveCurrentOrganization");
    assert.deepEqual(await nodeStates(id, ["kind", "operation", "operationType", "parameters", "parametersType", "table", "rowId", "valid"]), [
      "function",
      "RetrieveCurrentOrganization",
      "str",
      "payload",
      "msg",
      "",
      "",
      true,
    ]);

    // A bound custom API: its table from the table picker, its row by id.
    await openDialog(id);
    await operation.click();
    await operation.fill("");
    await operation.pressSequentially("cr0a1_To");
    await pickSuggestion("cr0a1_Touch");
    await page.locator("#node-input-operation-hint").filter({ hasText: "action (POST: may change data), bound to a row of account" }).waitFor();
    assert.equal(await page.inputValue("#node-input-kind"), "action");
    await pickTable("acc", "Account", "accounts");
    await setField("rowId", "not a guid");
    assert.equal(await hasError("rowId"), true, "a row id that is no GUID is marked");
    await setField("rowId", "a1b2c3d4-0001-4a00-8a00-000000000001");
    assert.equal(await hasError("rowId"), false);
    await page.click("#node-dialog-ok");
    assert.deepEqual(await nodeStates(id, ["kind", "operation", "table", "rowId", "valid"]), [
      "action",
      "cr0a1_Touch",
      "accounts",
      "a1b2c3d4-0001-4a00-8a00-000000000001",
      true,
    ]);
    added.action = id;
    assert.deepEqual(pageErrors, []);
  });

  test("the file dialog: upload, download or delete; table, row ID and column; the label says what it does", async () => {
    const id = await addNode("dataverse-file", 450, 420);
    await openDialog(id);
    await useConnection(added.connection);
    assert.equal(await page.inputValue("#node-input-action"), "upload", "uploads by default");
    assert.equal(await typedInput("rowId").inputValue(), "rowId", "Row ID reads msg.rowId by default");
    assert.match(await page.locator(".red-ui-tray .form-tips").last().innerText(), /msg\.filename/);
    await typeTable("account");
    await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set accounts" }).waitFor();
    await setField("column", "cr0a1_contract");
    await page.selectOption("#node-input-action", "download");
    await trayScreenshot("file-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "download file cr0a1_contract");
    assert.deepEqual(await nodeStates(id, ["action", "table", "rowId", "rowIdType", "column", "columnType", "valid"]), [
      "download",
      "account",
      "rowId",
      "msg",
      "cr0a1_contract",
      "str",
      true,
    ]);
    const icon = await fetch(`${nodeRed.base}/icons/node-red-contrib-dataverse/dataverse-file.svg`);
    assert.equal(icon.status, 200);
    assert.deepEqual(pageErrors, []);
  });

  test("the changes dialog: a table with suggestions and hint, columns, an interval of at least 5 seconds, start and fallback", async () => {
    const id = await addNode("dataverse-changes", 700, 420);
    await openDialog(id);
    await useConnection(added.connection);
    assert.ok(await plainHasError("table"), "a table is required");
    const table = page.locator("#node-input-table");
    await table.click();
    await table.pressSequentially("contact");
    await page.locator(".red-ui-autoComplete-container .dataverse-suggestion").filter({ hasText: "contacts" }).first().waitFor();
    await page.keyboard.press("Escape");
    await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set contacts" }).waitFor();
    await page.fill("#node-input-select", "fullname,emailaddress1");
    const interval = page.locator("#node-input-interval");
    assert.equal(await interval.inputValue(), "60", "a minute by default");
    await interval.fill("3");
    await interval.press("Tab");
    assert.ok(await plainHasError("interval"), "at least 5 seconds");
    await interval.fill("30");
    await interval.press("Tab");
    assert.equal(await plainHasError("interval"), false);
    assert.equal(await page.inputValue("#node-input-startFrom"), "now", "changes after deploy by default");
    await page.selectOption("#node-input-fallback", "modifiedon");
    await trayScreenshot("changes-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "changes in contact");
    assert.deepEqual(await nodeStates(id, ["table", "select", "interval", "startFrom", "fallback", "valid"]), [
      "contact",
      "fullname,emailaddress1",
      "30",
      "now",
      "modifiedon",
      true,
    ]);
    added.changes = id;
    assert.deepEqual(pageErrors, []);
  });

  test("the query dialog: OData fields with suggestions and checks, then FetchXML in the code editor, or read from msg", async () => {
    const id = await addNode("dataverse-query", 450, 180);
    await openDialog(id);
    await useConnection(added.connection);
    // OData: the table is required, and the fields of FetchXML are hidden.
    assert.equal(await page.inputValue("#node-input-queryType"), "odata");
    assert.ok(await hasError("table"), "an OData query needs a table");
    assert.equal(await page.locator("#node-input-fetchXml-editor-row").isVisible(), false);
    await typeTable("dv_iotdevice");
    await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set dv_iotdevices" }).waitFor();
    assert.equal(await hasError("table"), false);
    // Columns are suggested for a table given by its logical name too.
    const select = typedInput("select");
    await select.click();
    await select.pressSequentially("dv_bat");
    await pickSuggestion("dv_batterylevel");
    await setField("filter", "dv_batterylevel lt 90");
    for (const [field, bad, good] of [
      ["orderby", "dv_name sideways", "dv_name asc"],
      ["pageSize", "0", "2"],
      ["maxRows", "-1", "0"],
    ]) {
      await setField(field, bad);
      assert.ok(await hasError(field), `${field} '${bad}' is refused`);
      await setField(field, good);
      assert.equal(await hasError(field), false, `${field} '${good}' is accepted`);
    }
    await page.selectOption("#node-input-output", "row");
    await trayScreenshot("query-dialog.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "query dv_iotdevice");
    assert.deepEqual(await nodeStates(id, ["queryType", "table", "select", "filter", "orderby", "pageSize", "maxRows", "output", "valid"]), [
      "odata",
      "dv_iotdevice",
      "dv_batterylevel",
      "dv_batterylevel lt 90",
      "dv_name asc",
      "2",
      "0",
      "row",
      true,
    ]);

    // FetchXML: the OData fields give way to the code editor, which starts with an example query.
    await openDialog(id);
    await page.selectOption("#node-input-queryType", "fetchxml");
    const editorRow = page.locator("#node-input-fetchXml-editor-row");
    await editorRow.waitFor({ state: "visible" });
    assert.equal(await page.locator("#node-input-table").locator("xpath=..").isVisible(), false, "the table row is hidden");
    assert.match(await page.inputValue("#node-input-fetchXml"), /<entity name="account">/);
    // Typing checks the XML as it changes; the code editor indents and closes tags itself, so whole texts are set through it.
    await page.locator("#node-input-fetchXml-editor").click();
    await page.keyboard.press("ControlOrMeta+End");
    await page.keyboard.type("<oops");
    const hint = page.locator("#node-input-fetchXml-hint");
    await hint.filter({ hasText: "not well-formed XML" }).waitFor();
    await setEditorText(id, "<fetch><attribute name='name'/></fetch>");
    await hint.filter({ hasText: "<entity name" }).waitFor();
    const fetchXml = '<fetch>\n  <entity name="contact">\n    <attribute name="fullname" />\n  </entity>\n</fetch>';
    await setEditorText(id, fetchXml);
    await page.waitForFunction(() => document.getElementById("node-input-fetchXml-hint")!.textContent === "");
    await trayScreenshot("query-dialog-fetchxml.png");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "query contact (FetchXML)");
    assert.deepEqual(await nodeStates(id, ["queryType", "fetchXml", "fetchXmlType", "valid"]), ["fetchxml", fetchXml, "str", true]);

    // Read from msg instead: the editor goes and the property path is stored; back to written text, the editor offers the example.
    await openDialog(id);
    await chooseType("fetchXml-source", "msg");
    await editorRow.waitFor({ state: "hidden" });
    await typedInput("fetchXml-source").pressSequentially("fetch");
    await page.click("#node-dialog-ok");
    assert.equal(await label(id), "query (FetchXML)");
    assert.deepEqual(await nodeStates(id, ["fetchXml", "fetchXmlType", "valid"]), ["fetch", "msg", true]);
    await openDialog(id);
    await chooseType("fetchXml-source", "str");
    await editorRow.waitFor({ state: "visible" });
    await page.click("#node-dialog-ok");
    assert.equal(await nodeState(id, "fetchXmlType"), "str");
    assert.match(String(await nodeState(id, "fetchXml")), /<entity name="account">/, "the editor holds the example query again");
    added.query = id;
    assert.deepEqual(pageErrors, []);
  });

  test("every Table field names the entity set a logical name stands for", async () => {
    for (const type of ["create", "retrieve", "update"]) {
      await openDialog(added[type]);
      await page
        .locator("#node-input-table-hint")
        .filter({ hasText: /tables/ })
        .waitFor();
      await typeTable("contact");
      await page.locator("#node-input-table-hint").filter({ hasText: "Uses the entity set contacts" }).waitFor();
      await typeTable("contacts");
      await page
        .locator("#node-input-table-hint")
        .filter({ hasText: /tables/ })
        .waitFor();
      await page.click("#node-dialog-cancel");
    }
    assert.deepEqual(pageErrors, []);
  });

  test("Request options: a closed section that opens, checks Act for user, and the saved flow keeps what was set", async () => {
    const id = await addNode("dataverse-batch", 650, 260);
    await openDialog(id);
    await chooseConnection(added.connection);
    const toggle = page.locator(".dataverse-request-options-toggle");
    const section = page.locator(".dataverse-request-options");
    assert.match(await toggle.innerText(), /Request options/);
    assert.equal(await section.isVisible(), false, "closed while nothing is set");
    await toggle.click();
    await section.waitFor({ state: "visible" });
    await setField("callerObjectId", "avery@contoso.com");
    assert.equal(await hasError("callerObjectId"), true, "an e-mail address is no object id");
    await setField("callerObjectId", "d5e6f7a8-b9c0-4d1e-9f2a-3b4c5d6e7f08");
    assert.equal(await hasError("callerObjectId"), false);
    await chooseType("bypassBusinessLogic", "msg");
    await setField("bypassBusinessLogic", "bypass");
    await setField("tag", "from the editor");
    await trayScreenshot("request-options.png");
    await page.click("#node-dialog-ok");
    const names = [
      "callerObjectId",
      "callerObjectIdType",
      "bypassPlugins",
      "bypassPluginsType",
      "bypassBusinessLogic",
      "bypassBusinessLogicType",
      "tag",
      "tagType",
      "valid",
    ];
    const expected = ["d5e6f7a8-b9c0-4d1e-9f2a-3b4c5d6e7f08", "str", "false", "bool", "bypass", "msg", "from the editor", "str", true];
    assert.deepEqual(await nodeStates(id, names), expected);
    await openDialog(id);
    assert.equal(await section.isVisible(), true, "open when an option is set");
    await page.click("#node-dialog-cancel");
    await deploy();
    const flows = (await (await fetch(`${nodeRed.base}/flows`)).json()) as Array<Record<string, unknown>> | { flows: Array<Record<string, unknown>> };
    const saved = (Array.isArray(flows) ? flows : flows.flows).find((n) => n.id === id)!;
    assert.deepEqual(
      names.slice(0, -1).map((name) => saved[name]),
      expected.slice(0, -1),
    );
    // A node with no option set (the batch node added above) opens with the section closed and stays valid.
    await openDialog(added.batch);
    assert.equal(await section.isVisible(), false);
    await page.click("#node-dialog-ok");
    assert.equal(await nodeState(added.batch, "valid"), true);
    assert.deepEqual(pageErrors, []);
  });

  test("deploys, and neither the exported flow nor the flow files hold the secret", async () => {
    await deploy();
    await page.click("#red-ui-header-button-sidemenu");
    await page.click("#menu-item-export");
    await page.click("#red-ui-clipboard-dialog-export-rng-full");
    const exported = await page.inputValue("#red-ui-clipboard-dialog-export-text");
    await page.click("#red-ui-clipboard-dialog-cancel");
    assert.ok(exported.includes('"dataverse-connection"') && exported.includes(emu.clientId) === false, "export holds the connection, no credentials");
    assert.ok(!exported.includes(emu.clientSecret), "the exported flow holds no secret");
    const flows = await (await fetch(`${nodeRed.base}/flows`)).text();
    assert.ok(!flows.includes(emu.clientSecret), "GET /flows holds no secret");
    for (const file of readdirSync(userDir).filter((f) => f.endsWith(".json"))) {
      assert.ok(!readFileSync(path.join(userDir, file), "utf8").includes(emu.clientSecret), `${file} holds no plain secret`);
    }
    // The deployed connection answers the table picker from its own client.
    const tables = (await (await fetch(`${nodeRed.base}/dataverse/connections/${await firstConnection()}/tables`)).json()) as { ok: boolean };
    assert.equal(tables.ok, true);
  });

  test("imports the WhoAmI example from the menu, deploys it, and its inject button shows the user id in the debug sidebar", async () => {
    await importExample("01 Check the connection (WhoAmI)");
    await deploy();
    await clickInject("dv-ex1-inject");
    // The sidebar shortens long strings: the start of the id is enough.
    const message = await debugMessage("who am I", WHOAMI_USER_ID.slice(0, 24));
    assert.match(message, /UserId/);
    await page.addStyleTag({ content: "#red-ui-notifications, .red-ui-notification { display: none !important; }" }); // passing notices, not part of the picture
    const editor = await page.locator("#red-ui-main-container").boundingBox();
    assert.ok(editor);
    await page.screenshot({ path: path.join(shots, "debug-sidebar.png"), clip: { ...editor, height: 330 } });
    assert.deepEqual(pageErrors, []);
  });

  test("after npm start's deploy, each example runs; importing one again offers Import copy, which shares the connection and runs", async () => {
    // What npm start deploys: every example, sharing one connection that reads the DATAVERSE_* variables.
    const { flows, credentials } = exampleFlows(path.join(root, "examples"));
    const deployed = await fetch(`${nodeRed.base}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify({ flows: flows.map((n) => (credentials[n.id] ? { ...n, credentials: credentials[n.id] } : n)) }),
    });
    assert.equal(deployed.status, 200, await deployed.text());
    await openEditor();

    await clickInject("dv-ex2-inject");
    assert.match(await debugMessage("account", "555-0199"), /Contoso/);
    // The debug nodes show msg.payload: here the device row as saved.
    await clickInject("dv-ex3-inject-1");
    assert.match(await debugMessage("device saved", "Sensor SN-0001"), /msg\.payload : Object[\s\S]*dv_iotdeviceid/);
    await clickInject("dv-ex3-inject-2");
    await debugMessage("device saved", "Sensor SN-0042");
    // The query finds the one device with a low battery; its row goes on to the update.
    await clickInject("dv-ex4-inject");
    assert.match(await debugMessage("device updated", "Sensor SN-0001"), /msg\.payload : Object/);
    // FetchXML, two accounts a page: 3 seeded + 1 created by example 02 = 2 pages.
    await clickInject("dv-ex5-inject");
    assert.match(await debugMessage("page", "page 1: "), /page 1: Contoso \(example\); Contoso Ltd \(4 accounts in all\)/);
    assert.match(await debugMessage("page", "page 2: "), /page 2: Fabrikam, Inc\.; Northwind Traders \(4 accounts in all\)/);
    await clickInject("dv-ex6-inject-create");
    assert.match(await debugMessage("result", "deleted: true"), /status: 204/);
    await clickInject("dv-ex6-inject-missing");
    assert.match(await debugMessage("result", "deleted: false"), /status: 404/);
    // An account and its contact, linked through $1, all or nothing; then a batch whose delete fails, the others applied.
    await clickInject("dv-ex7-inject-atomic");
    assert.match(await debugMessage("summary", "2 operations"), /2 operations, 0 failed: 204, 204/);
    await debugMessage("contact", "Lee Chen works for Adventure Works (example)");
    await clickInject("dv-ex7-inject-mixed");
    assert.match(await debugMessage("summary", "4 operations"), /4 operations, 1 failed: 204, 200, 204, 404 0x/);
    assert.match(await debugMessage("results", "array[4]"), /msg\.payload : array\[4\]/);
    // A contact linked to its account by account number, then to a device through an N:N relationship.
    await clickInject("dv-ex10-inject");
    assert.match(await debugMessage("its account", "payload._parentcustomerid_value"), new RegExp(SEED_IDS.contosoAccount));
    assert.match(await debugMessage("linked", "array[1]"), /msg\.payload : array\[1\]/);
    // A file uploaded to a new account and downloaded again; then one POSTed to the http in node.
    await clickInject("dv-ex11-inject");
    await debugMessage("downloaded", "contract.txt: 57 bytes, text/plain");
    const posted = await fetch(`${nodeRed.base}/dataverse-example/contract?account=${SEED_IDS.contosoAccount}&name=report.pdf`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: Buffer.from("%PDF-1.7 example"),
    });
    assert.deepEqual([posted.status, ((await posted.json()) as { size: number }).size], [200, 16]);
    // The changes trigger saw the contact that example 07 created.
    await clickInject("dv-ex8-inject");
    await debugMessage("contact changed", "Lee Chen");
    assert.equal(await page.locator(".red-ui-debug-msg").filter({ hasText: "node: error" }).count(), 0, "no example failed");

    await importExample("02 Create, update and retrieve a row");
    const notice = page.locator(".red-ui-notification").filter({ hasText: "already exist" });
    await notice.waitFor();
    await notice.getByRole("button", { name: "Import copy" }).click();
    const copy = await copyOf("new account");
    const connections = await page.evaluate(() => {
      const ids: string[] = [];
      RED.nodes.eachConfig((n: { type: string; id: string }) => {
        if (n.type === "dataverse-connection") ids.push(n.id);
      });
      return ids;
    });
    assert.deepEqual(connections, ["dv-example-connection"], "the copy uses the same connection");
    await deploy();
    await clickInject(copy);
    await debugMessage("account", "555-0199", 2);

    // The new examples, imported from the menu as copies too, run like the deployed ones.
    for (const [title, inject, debugName, text] of [
      ["04 Query rows and update each one", "find devices", "device updated", "Sensor SN-0001"],
      ["05 FetchXML query, one page at a time", "list accounts", "page", "page 3: "], // one more account now
      ["06 Delete a row", "create & delete", "result", "deleted: true"],
      ["07 Batch operations (all or nothing, or each on its own)", "account & contact", "contact", "Lee Chen works for"],
    ]) {
      await importExample(title);
      const again = page.locator(".red-ui-notification").filter({ hasText: "already exist" });
      await again.waitFor();
      await again.getByRole("button", { name: "Import copy" }).click();
      await deploy();
      await clickInject(await copyOf(inject));
      await debugMessage(debugName, text, text === "page 3: " ? 1 : 2);
    }
    assert.equal(await page.locator(".red-ui-debug-msg").filter({ hasText: "node: error" }).count(), 0, "no example failed");
    assert.deepEqual(pageErrors, []);
  });
});

// -----------------------------------------------------------------------------------------------
// Driving the editor

declare const RED: any; // the editor's global, inside page.evaluate

async function openEditor(): Promise<void> {
  await page.goto(nodeRed.base);
  await page.locator('.red-ui-palette-node[data-palette-type="dataverse-create"]').waitFor({ state: "attached", timeout: 60_000 });
  await page.waitForFunction(() => typeof (window as any).DataverseEditor === "object");
}

/** Drags a node from the palette onto the workspace, as a user does; returns its id. */
async function addNode(type: string, x: number, y: number): Promise<string> {
  const known = await nodeIds(type);
  const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  for (let attempt = 0; attempt < 3; attempt++) {
    await entry.scrollIntoViewIfNeeded();
    const from = await entry.boundingBox();
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    assert.ok(from && chart);
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(chart.x + x, chart.y + y, { steps: 15 });
    await page.mouse.up();
    const added = (await nodeIds(type)).filter((id) => !known.includes(id));
    if (added.length === 1) return added[0];
    await page.waitForTimeout(500);
  }
  throw new Error(`could not drag ${type} onto the workspace`);
}

function nodeIds(type: string): Promise<string[]> {
  return page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n: { id: string }) => n.id), type);
}

/** The connection dialog of the connection the first whoami node uses. */
async function openConnectionDialog(): Promise<void> {
  await openDialog(added.whoami);
  await page.click("#node-input-btn-connection-edit");
  await page.locator("#node-config-input-url").waitFor({ state: "visible" });
}

/** The sign-in fields the connection dialog shows, in the order of SIGN_IN_FIELDS. */
async function visibleSignInFields(): Promise<string[]> {
  const shown: string[] = [];
  for (const field of SIGN_IN_FIELDS) if (await page.locator(`#node-config-input-${field}`).isVisible()) shown.push(field);
  return shown;
}

async function openDialog(id: string): Promise<void> {
  const ok = page.locator("#node-dialog-ok");
  // A double click the editor takes as two single clicks (a busy page) opens nothing: try again, as addNode does.
  for (let attempt = 1; ; attempt++) {
    await page.locator(`[id="${id}"]`).dblclick();
    try {
      await ok.waitFor({ state: "visible", timeout: attempt < 3 ? 5_000 : undefined });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function chooseConnection(id: string): Promise<void> {
  if ((await page.inputValue("#node-input-connection")) !== id) await page.selectOption("#node-input-connection", id);
}

async function useConnection(id: string): Promise<void> {
  await chooseConnection(id);
  await page
    .locator("#node-input-table-hint")
    .filter({ hasText: /tables/ })
    .waitFor();
}

/** The visible input of a TypedInput field. */
function typedInput(field: string): Locator {
  return page.locator(`#node-input-${field} + .red-ui-typedInput-container input.red-ui-typedInput-input`);
}

async function pickTable(typed: string, displayName: string, entitySet: string, screenshot?: string): Promise<void> {
  const table = typedInput("table");
  await table.click();
  await table.pressSequentially(typed);
  const menu = page.locator(".red-ui-autoComplete-container");
  await menu.locator(".dataverse-suggestion").filter({ hasText: entitySet }).first().waitFor();
  assert.match(await menu.innerText(), new RegExp(`${displayName}\\s+${entitySet}`));
  if (screenshot) await trayScreenshot(screenshot);
  await pickSuggestion(entitySet);
  assert.equal(await table.inputValue(), entitySet);
}

async function pickSuggestion(value: string): Promise<void> {
  const item = page
    .locator(".red-ui-autoComplete-container .dataverse-suggestion")
    .filter({ hasText: value.split(",").pop()! })
    .first();
  await item.click();
}

async function trayScreenshot(name: string): Promise<void> {
  await page
    .locator(".red-ui-tray-body")
    .last()
    .evaluate((el) => (el.scrollTop = 0));
  await page
    .locator(".red-ui-tray")
    .last()
    .screenshot({ path: path.join(shots, name) });
}

function nodeState(id: string, property: string): Promise<unknown> {
  return page.evaluate(([i, p]) => RED.nodes.node(i)[p], [id, property]);
}

function nodeStates(id: string, properties: string[]): Promise<unknown[]> {
  return page.evaluate(([i, ps]) => (ps as string[]).map((p) => RED.nodes.node(i)[p]), [id, properties] as const);
}

function setEditorText(id: string, text: string): Promise<void> {
  return page.evaluate(([i, t]) => RED.nodes.node(i).editor.setValue(t), [id, text]);
}

/** Replaces the table field's text as a user types it, and closes the suggestions. */
async function typeTable(text: string): Promise<void> {
  const table = typedInput("table");
  await table.click();
  await table.press("ControlOrMeta+A");
  await table.pressSequentially(text);
  await page.keyboard.press("Escape");
}

async function setField(field: string, value: string): Promise<void> {
  const input = typedInput(field);
  await input.click();
  await input.press("ControlOrMeta+A");
  await input.pressSequentially(value);
  await input.press("Tab");
}

/** Types a value into a field of the connection dialog and leaves it, as a user does. */
async function setConfigField(field: string, value: string): Promise<void> {
  const input = page.locator(`#node-config-input-${field}`);
  await input.fill(value);
  await input.press("Tab");
}

/** Whether the editor marks a field of the connection dialog as invalid. */
function configHasError(field: string): Promise<boolean> {
  return page.locator(`#node-config-input-${field}`).evaluate((el) => el.classList.contains("input-error"));
}

/** Whether the editor marks a field as invalid. */
function hasError(field: string): Promise<boolean> {
  return page.locator(`#node-input-${field} + .red-ui-typedInput-container`).evaluate((el) => el.classList.contains("input-error"));
}

/** Whether the editor marks a plain (not TypedInput) field as invalid. */
function plainHasError(field: string): Promise<boolean> {
  return page.locator(`#node-input-${field}`).evaluate((el) => el.classList.contains("input-error"));
}

/** Picks a type from a TypedInput's menu. */
async function chooseType(field: string, type: string): Promise<void> {
  await page.locator(`#node-input-${field} + .red-ui-typedInput-container .red-ui-typedInput-type-select`).click();
  await page.locator(`.red-ui-typedInput-options:visible a[value="${type}"]`).click();
}

function label(id: string): Promise<string> {
  return page.evaluate((i) => RED.utils.getNodeLabel(RED.nodes.node(i)), id);
}

function firstConnection(): Promise<string> {
  return page.evaluate(() => {
    let id = "";
    RED.nodes.eachConfig((n: { type: string; id: string }) => {
      if (!id && n.type === "dataverse-connection") id = n.id;
    });
    return id;
  });
}

async function deploy(): Promise<void> {
  await page.click("#red-ui-header-button-deploy");
  await page.waitForFunction(() => !RED.nodes.dirty(), undefined, { timeout: 30_000 });
}

/** Menu → Import → Examples → node-red-contrib-dataverse → the file → Import. */
async function importExample(title: string): Promise<void> {
  await page.click("#red-ui-header-button-sidemenu");
  await page.click("#menu-item-import");
  await page.locator(".ui-dialog:visible").getByRole("link", { name: "Examples" }).click();
  const examples = page.locator("#red-ui-clipboard-dialog-import-tab-examples");
  await examples.getByText("node-red-contrib-dataverse", { exact: true }).click();
  await examples.getByText(title, { exact: true }).click();
  await page.click("#red-ui-clipboard-dialog-ok");
}

/** The id of the imported copy of an example's inject node. */
async function copyOf(injectName: string): Promise<string> {
  const copy = await page.evaluate(
    (name) => RED.nodes.filterNodes({ type: "inject" }).find((n: { name: string; id: string }) => n.name === name && !n.id.startsWith("dv-ex"))?.id,
    injectName,
  );
  assert.ok(copy, `the copy of '${injectName}' is imported`);
  return copy;
}

async function clickInject(id: string): Promise<void> {
  // The editor loads the deployed flows after the page itself: wait until the node is there.
  await page.waitForFunction((i) => !!RED.nodes.node(i), id);
  await page.evaluate((i) => RED.workspaces.show(RED.nodes.node(i).z), id);
  await page.locator(`[id="${id}"] .red-ui-flow-node-button`).click();
}

/** Waits until the debug sidebar holds `count` messages of the named debug node containing `text`. */
async function debugMessage(debugName: string, text: string, count = 1): Promise<string> {
  await page.evaluate(() => RED.sidebar.show("debug"));
  const messages = page
    .locator(".red-ui-debug-msg")
    .filter({ hasText: `node: ${debugName}` })
    .filter({ hasText: text });
  await messages
    .nth(count - 1)
    .waitFor({ timeout: 20_000 })
    .catch(async (err) => {
      const all = await page.locator(".red-ui-debug-msg").allInnerTexts();
      throw new Error(`${err}\ndebug sidebar:\n${all.join("\n---\n")}\nNode-RED:\n${nodeRed.output()}`);
    });
  return messages.nth(count - 1).innerText();
}
