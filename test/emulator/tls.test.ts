// Certificates and trust: the CA is reused from its folder, the server certificate covers the
// loopback names, and the trust bundle adds the emulator CA to the existing extra CAs once.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import path from "node:path";
import forge from "node-forge";
import { emulatorEnv, startEmulator, writeTrustBundle, type RunningEmulator } from "../../emulator";

let dir: string;
let emu: RunningEmulator;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "emulator-tls-test-"));
  emu = await startEmulator({ caDir: path.join(dir, "ca") });
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const certCount = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

describe("certificates", () => {
  it("keeps the CA in its folder and reuses it on the next start", async () => {
    assert.equal(readFileSync(emu.caPath, "utf8"), emu.caPem);
    const ca = forge.pki.certificateFromPem(emu.caPem);
    assert.equal((ca.getExtension("basicConstraints") as { cA?: boolean }).cA, true);
    assert.ok(ca.validity.notAfter.getTime() - Date.now() > 9 * 365 * 24 * 3600 * 1000);
    const second = await startEmulator({ caDir: path.join(dir, "ca") });
    try {
      assert.equal(second.caPem, emu.caPem);
    } finally {
      await second.close();
    }
  });

  it("serves a CA-signed certificate for 127.0.0.1, ::1 and localhost", async () => {
    const peer = await new Promise<ReturnType<TLSSocket["getPeerCertificate"]>>((resolve, reject) => {
      const req = https.get(`${emu.dataverseUrl}/`, { ca: emu.caPem, agent: false }, (res) => {
        resolve((res.socket as TLSSocket).getPeerCertificate());
        res.resume();
      });
      req.on("error", reject);
    });
    const san = peer.subjectaltname ?? "";
    assert.match(san, /IP Address:127\.0\.0\.1/);
    assert.match(san, /IP Address:0:0:0:0:0:0:0:1/);
    assert.match(san, /DNS:localhost/);
    assert.ok(new Date(peer.valid_from).getTime() < Date.now() - 12 * 3600 * 1000, "backdated");
  });
});

describe("writeTrustBundle / emulatorEnv", () => {
  it("appends the emulator CA to the current NODE_EXTRA_CA_CERTS file, once", () => {
    const other = path.join(dir, "corporate.pem");
    const otherPem = makeOtherCa();
    writeFileSync(other, otherPem);
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    try {
      process.env.NODE_EXTRA_CA_CERTS = other;
      const out = writeTrustBundle(emu.caPem, path.join(dir, "out", "bundle.pem"));
      const bundle = readFileSync(out, "utf8");
      assert.equal(certCount(bundle), 2);
      assert.ok(bundle.includes(otherPem.trim()) && bundle.includes(emu.caPem.trim()));
      // Pointing NODE_EXTRA_CA_CERTS at the bundle itself and writing again does not grow it.
      process.env.NODE_EXTRA_CA_CERTS = out;
      assert.equal(certCount(readFileSync(writeTrustBundle(emu.caPem, out), "utf8")), 2);
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
    }
  });

  it("lists the environment variables of the emulator", () => {
    assert.deepEqual(emulatorEnv(emu, "/x/bundle.pem"), {
      DATAVERSE_URL: emu.dataverseUrl,
      DATAVERSE_CLOUD: "custom",
      DATAVERSE_AUTHORITY: `https://${emu.authorityHost}`,
      DATAVERSE_TENANT: "7d6a1c6e-2f4b-4c1a-9a0e-5b3c2d1e0f11",
      DATAVERSE_CLIENT_ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
      DATAVERSE_CLIENT_SECRET: "Emu8Q~s3cr3t.V4lue-For_Tests-0nly",
      NODE_EXTRA_CA_CERTS: "/x/bundle.pem",
    });
  });
});

/** A self-signed certificate standing in for a corporate CA (small key: only its PEM matters). */
function makeOtherCa(): string {
  const keys = forge.pki.rsa.generateKeyPair(512);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: "Corporate Root (test)" }]);
  cert.setIssuer([{ name: "commonName", value: "Corporate Root (test)" }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
