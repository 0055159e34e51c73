// authType certificate and workloadIdentity in a real Node-RED: certificates as PEM, encrypted PEM and
// PFX, the chain (x5c), every deploy-time check and sign-in failure in plain words, a federated token
// file read fresh at each token request, and no key material anywhere a flow builder can see.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import forge from "node-forge";
import type { TestCertificate } from "../../emulator";
import { nodeRedRequire } from "../node-red";
import { collect, connectionNode, helper, loadFlow, nodes, run, useTestEmulator, type FlowNode } from "./harness";

const t = useTestEmulator();
const PASSPHRASE = "Test-only passphrase 42";

const whoami = [{ id: "n1", type: "dataverse-whoami", connection: "conn", wires: [["out"]] }];

function certificateConnection(overrides: FlowNode = {}): FlowNode {
  return connectionNode(t.emu, { authType: "certificate", ...overrides });
}

function pem(cert: TestCertificate = t.emu.credentials.registered, clientId = t.emu.assertionApps.certificate): Record<string, string> {
  return { clientId, certificate: cert.certificatePem, privateKey: cert.privateKeyPem };
}

function encryptedKey(cert: TestCertificate, passphrase = PASSPHRASE): string {
  return createPrivateKey(cert.privateKeyPem).export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }).toString();
}

/** A PFX as Windows or openssl writes it (AES-256, SHA-256 MAC), base64. */
function pfx(cert: TestCertificate, passphrase = PASSPHRASE): string {
  const key = forge.pki.privateKeyFromPem(cert.privateKeyPem);
  const certs = (cert.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((c) => forge.pki.certificateFromPem(c));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, passphrase, { algorithm: "aes256", generateLocalKeyId: true });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary").toString("base64");
}

async function signInWith(connection: FlowNode, credentials: Record<string, string>) {
  await loadFlow(t.emu, whoami, { connection, credentials: { conn: credentials } });
  return run("n1", {});
}

describe("authType certificate", () => {
  it("a PEM certificate and key sign in; one token serves many messages, and a 401 leads to exactly one new token", async () => {
    await loadFlow(t.emu, whoami, { connection: certificateConnection(), credentials: { conn: pem() } });
    const burst = collect(5);
    for (let i = 0; i < 5; i++) helper.getNode("n1").receive({});
    for (const { kind, msg } of await burst) assert.equal(kind, "out", JSON.stringify(msg.error));
    assert.equal((await t.api.stats()).tokenRequests, 1);
    await t.api.invalidateTokens();
    const after401 = collect(3);
    for (let i = 0; i < 3; i++) helper.getNode("n1").receive({});
    for (const { kind } of await after401) assert.equal(kind, "out");
    assert.equal((await t.api.stats()).tokenRequests, 2);
  });

  it("an encrypted PEM key with its passphrase signs in", async () => {
    const cert = t.emu.credentials.registered;
    const { kind, msg } = await signInWith(certificateConnection(), { ...pem(), privateKey: encryptedKey(cert), passphrase: PASSPHRASE });
    assert.equal(kind, "out", JSON.stringify(msg.error));
  });

  it("a PFX with its passphrase signs in", async () => {
    const { kind, msg } = await signInWith(certificateConnection(), {
      clientId: t.emu.assertionApps.certificate,
      pfx: pfx(t.emu.credentials.registered),
      passphrase: PASSPHRASE,
    });
    assert.equal(kind, "out", JSON.stringify(msg.error));
  });

  it("sendX5c sends the chain, so an app trusting the subject name and issuer accepts it; without it, AADSTS700027", async () => {
    const subjectName = pem(t.emu.credentials.subjectName, t.emu.assertionApps.subjectName);
    const sent = await signInWith(certificateConnection({ sendX5c: true }), subjectName);
    assert.equal(sent.kind, "out", JSON.stringify(sent.msg.error));
    await helper.unload();
    const notSent = await signInWith(certificateConnection({ sendX5c: false }), subjectName);
    assert.equal(notSent.kind, "caught");
    assert.equal(notSent.msg.dataverse.code, "AADSTS700027");
  });

  const deployFailures: Array<{ name: string; creds: () => Record<string, string>; message: RegExp }> = [
    {
      name: "an expired certificate",
      creds: () => ({ ...pem(t.emu.credentials.expired), privateKey: t.emu.credentials.registered.privateKeyPem }),
      message: /certificate expired on .*upload its public part/,
    },
    {
      name: "a key that does not belong to the certificate",
      creds: () => ({ ...pem(), privateKey: t.emu.credentials.unregistered.privateKeyPem }),
      message: /private key does not belong to the certificate/,
    },
    {
      name: "a wrong passphrase for the key",
      creds: () => ({ ...pem(), privateKey: encryptedKey(t.emu.credentials.registered), passphrase: "wrong" }),
      message: /passphrase does not open the private key/,
    },
    {
      name: "an encrypted key without passphrase",
      creds: () => ({ ...pem(), privateKey: encryptedKey(t.emu.credentials.registered) }),
      message: /private key is encrypted: enter its passphrase/,
    },
    {
      name: "a wrong PFX passphrase",
      creds: () => ({ clientId: t.emu.assertionApps.certificate, pfx: pfx(t.emu.credentials.registered), passphrase: "wrong" }),
      message: /passphrase does not open the PFX/,
    },
    {
      name: "a PFX that is not one",
      creds: () => ({ clientId: t.emu.assertionApps.certificate, pfx: "bm90IGEgcGZ4", passphrase: "x" }),
      message: /PFX could not be read.*base64/,
    },
    {
      name: "no certificate at all",
      creds: () => ({ clientId: t.emu.assertionApps.certificate }),
      message: /no certificate: paste the certificate \(PEM\) and its private key/,
    },
    { name: "a certificate without key", creds: () => ({ ...pem(), privateKey: "" }), message: /no private key/ },
    {
      name: "a key pasted into the certificate field",
      creds: () => ({ ...pem(), certificate: t.emu.credentials.registered.privateKeyPem }),
      message: /certificate field holds a private key/,
    },
  ];
  for (const c of deployFailures) {
    it(`${c.name} is a clear connection error at deploy, and nothing is sent`, async () => {
      const { kind, msg } = await signInWith(certificateConnection(), c.creds());
      assert.equal(kind, "caught");
      assert.equal(msg.dataverse.code, "InvalidConnection");
      assert.match(msg.error.message, c.message);
      assert.equal((await t.api.requests()).length, 0);
    });
  }

  it("a certificate not registered on the app: AADSTS700027 in plain words", async () => {
    const { kind, msg } = await signInWith(certificateConnection(), pem(t.emu.credentials.unregistered));
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "AADSTS700027");
    assert.match(msg.error.message, /certificate is not registered on app .*Certificates & secrets/);
  });

  it("a clock that is off: AADSTS700024 says to check the clock", async () => {
    await t.api.setConfig({ clockOffsetSeconds: -3600 });
    const { kind, msg } = await signInWith(certificateConnection(), pem());
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "AADSTS700024");
    assert.match(msg.error.message, /clock/);
  });
});

describe("authType workloadIdentity", () => {
  const names = ["AZURE_AUTHORITY_HOST", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  let dir: string;
  let tokenFile: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "dataverse-wi-"));
    tokenFile = path.join(dir, "azure-identity-token");
  });
  afterEach(() => {
    for (const n of names)
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** As the AKS webhook sets them, with the authority host on the emulator. */
  function aksEnvironment(): void {
    process.env.AZURE_AUTHORITY_HOST = `https://${t.emu.authorityHost}/`;
    process.env.AZURE_FEDERATED_TOKEN_FILE = tokenFile;
    process.env.AZURE_TENANT_ID = t.emu.tenantId;
    process.env.AZURE_CLIENT_ID = t.emu.assertionApps.workloadIdentity;
  }
  const wiConnection = (overrides: FlowNode = {}) =>
    connectionNode(t.emu, { authType: "workloadIdentity", tenant: "", cloud: "", authority: "", ...overrides });

  it("signs in from the AKS environment alone, reading the token file afresh at every token request", async () => {
    aksEnvironment();
    writeFileSync(tokenFile, t.emu.credentials.federatedToken());
    await loadFlow(t.emu, whoami, { connection: wiConnection(), credentials: { conn: {} } });
    assert.equal((await run("n1", {})).kind, "out");
    assert.equal((await run("n1", {})).kind, "out");
    assert.equal((await t.api.stats()).tokenRequests, 1, "one token per token lifetime");

    // The platform rotates the file; the next token request must present what is there now.
    writeFileSync(tokenFile, t.emu.credentials.federatedToken({ subject: "system:serviceaccount:other:rotated" }));
    await t.api.invalidateTokens();
    const rotated = await run("n1", {});
    assert.equal(rotated.kind, "caught");
    assert.equal(rotated.msg.dataverse.code, "AADSTS700213");
    assert.match(rotated.msg.error.message, /subject/);

    writeFileSync(tokenFile, t.emu.credentials.federatedToken());
    assert.equal((await run("n1", {})).kind, "out");
  });

  it("the connection's token file, tenant and client id win over the environment", async () => {
    aksEnvironment();
    process.env.AZURE_FEDERATED_TOKEN_FILE = path.join(dir, "elsewhere");
    process.env.AZURE_CLIENT_ID = "99999999-9999-4999-8999-999999999999";
    process.env.AZURE_TENANT_ID = "nosuchtenant.onmicrosoft.com";
    const own = path.join(dir, "own-token");
    writeFileSync(own, t.emu.credentials.federatedToken());
    await loadFlow(t.emu, whoami, {
      connection: wiConnection({ tokenFile: own, tenant: t.emu.tenantId }),
      credentials: { conn: { clientId: t.emu.assertionApps.workloadIdentity } },
    });
    const { kind, msg } = await run("n1", {});
    assert.equal(kind, "out", JSON.stringify(msg.error));
  });

  it("a missing token file is a clear error at deploy", async () => {
    aksEnvironment();
    process.env.AZURE_FEDERATED_TOKEN_FILE = path.join(dir, "missing");
    const { kind, msg } = await signInWith(wiConnection(), {});
    assert.equal(kind, "caught");
    assert.equal(msg.dataverse.code, "InvalidConnection");
    assert.match(msg.error.message, /token file .*missing does not exist/);
  });

  it("a token file that disappears later fails the message clearly, not as a sign-in failure", async () => {
    aksEnvironment();
    writeFileSync(tokenFile, t.emu.credentials.federatedToken());
    await loadFlow(t.emu, whoami, { connection: wiConnection(), credentials: { conn: {} } });
    unlinkSync(tokenFile);
    const { kind, msg } = await run("n1", {});
    assert.equal(kind, "caught");
    assert.match(msg.error.message, /token file .* does not exist/);
    assert.equal((await t.api.stats()).tokenRequests, 0);
  });

  it("an empty token file, or no tenant or client id anywhere, is a clear error", async () => {
    aksEnvironment();
    writeFileSync(tokenFile, "\n");
    assert.match((await signInWith(wiConnection(), {})).msg.error.message, /token file .* is empty/);
    await helper.unload();
    writeFileSync(tokenFile, t.emu.credentials.federatedToken());
    delete process.env.AZURE_TENANT_ID;
    assert.match((await signInWith(wiConnection(), {})).msg.error.message, /No tenant for workload identity.*AZURE_TENANT_ID/);
    await helper.unload();
    process.env.AZURE_TENANT_ID = t.emu.tenantId;
    delete process.env.AZURE_CLIENT_ID;
    assert.match((await signInWith(wiConnection(), {})).msg.error.message, /No client ID for workload identity.*AZURE_CLIENT_ID/);
  });
});

describe("certificate secrets stay secret", () => {
  const debugNode = nodeRedRequire("@node-red/nodes/core/common/21-debug.js");

  it("no private key, passphrase or PFX appears in a msg, status, log, debug, error, output or exported flow", async () => {
    const output: string[] = [];
    const restore: Array<() => void> = [];
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        output.push(String(chunk));
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = write));
    }
    try {
      const registered = t.emu.credentials.registered;
      const encrypted = encryptedKey(registered);
      const pfxText = pfx(registered);
      const flow = [
        { id: "tab", type: "tab", label: "leak" },
        { ...certificateConnection(), id: "pemconn" },
        { ...certificateConnection(), id: "pfxconn" },
        { ...certificateConnection(), id: "badpass" },
        { ...certificateConnection(), id: "unreg" },
        ...["pemconn", "pfxconn", "badpass", "unreg"].map((c) => ({
          id: `who-${c}`,
          type: "dataverse-whoami",
          z: "tab",
          connection: c,
          wires: [["out", "dbg"]],
        })),
        { id: "dbg", type: "debug", z: "tab", active: true, tosidebar: true, console: true, tostatus: true, complete: "true", targetType: "full" },
        { id: "out", type: "helper", z: "tab", wires: [] },
        { id: "catch-all", type: "catch", z: "tab", scope: null, wires: [["caught", "dbg"]] },
        { id: "caught", type: "helper", z: "tab", wires: [] },
      ];
      const clientId = t.emu.assertionApps.certificate;
      const credentials = {
        pemconn: { clientId, certificate: registered.certificatePem, privateKey: encrypted, passphrase: PASSPHRASE },
        pfxconn: { clientId, pfx: pfxText, passphrase: PASSPHRASE },
        badpass: { clientId, pfx: pfxText, passphrase: `${PASSPHRASE}-wrong` },
        unreg: { clientId, certificate: t.emu.credentials.unregistered.certificatePem, privateKey: t.emu.credentials.unregistered.privateKeyPem },
      };
      await helper.load([...nodes, debugNode], flow as Parameters<typeof helper.load>[1], credentials);
      const messages: unknown[] = [];
      for (const c of ["pemconn", "pfxconn", "badpass", "unreg"]) messages.push((await run(`who-${c}`, {})).msg);
      const exported = (helper as unknown as { _redNodes: { getFlows(): unknown } })._redNodes.getFlows();
      const statuses = flow.flatMap((n) => (helper.getNode(n.id) as any)?.status?.args ?? []);
      const haystacks: Record<string, string> = {
        messages: JSON.stringify(messages),
        statuses: JSON.stringify(statuses),
        log: JSON.stringify(helper.log().args),
        output: output.join(""),
        exportedFlow: JSON.stringify(exported),
      };
      assert.match(haystacks.log, /passphrase does not open the PFX/, "the deploy error was logged (so the log was captured)");
      const keyLine = (keyPem: string) => keyPem.split("\n")[3];
      const secrets: Record<string, string> = {
        "the private key": keyLine(registered.privateKeyPem),
        "the encrypted private key": keyLine(encrypted),
        "the unregistered private key": keyLine(t.emu.credentials.unregistered.privateKeyPem),
        "the passphrase": PASSPHRASE,
        "the PFX": pfxText.slice(200, 260),
      };
      for (const [where, text] of Object.entries(haystacks)) {
        for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${what} appears in ${where}`);
      }
    } finally {
      restore.forEach((r) => r());
    }
  });
});
