// Reading a certificate credential: what msal-node gets (thumbprint, key, chain) and the validity checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { TestCredentials } from "../../emulator/credentials";
import { readCertificateCredential } from "../../src/client/signin/certificate-material";

const credentials = new TestCredentials();

test("the thumbprint is the hex SHA-256 of the certificate that belongs to the key, which leads the chain", () => {
  const { subjectName } = credentials;
  const [leafPem, caPem] = subjectName.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)!;
  // The CA pasted first: the chain still starts with the key's own certificate.
  const read = readCertificateCredential({ certificate: caPem + leafPem, privateKey: subjectName.privateKeyPem });
  const leaf = new X509Certificate(leafPem);
  assert.equal(read.thumbprintSha256, leaf.fingerprint256.replace(/:/g, "").toLowerCase());
  assert.equal(Buffer.from(read.thumbprintSha256, "hex").toString("base64url"), subjectName.x5tS256);
  assert.ok(read.chain.startsWith(leaf.toString()));
  assert.equal(read.chain.match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.match(read.privateKey, /^-----BEGIN PRIVATE KEY-----/);
});

test("a certificate not valid yet names the date and the clock", () => {
  const { registered } = credentials;
  const before = new Date(registered.notBefore.getTime() - 60_000);
  assert.throws(
    () => readCertificateCredential({ certificate: registered.certificatePem, privateKey: registered.privateKeyPem }, before),
    (e: any) => e.field === "certificate" && /not valid before .*clock/.test(e.message),
  );
});

test("an expired certificate names the field and what to do", () => {
  const { registered } = credentials;
  const later = new Date(registered.notAfter.getTime() + 60_000);
  assert.throws(
    () => readCertificateCredential({ certificate: registered.certificatePem, privateKey: registered.privateKeyPem }, later),
    (e: any) => e.field === "certificate" && e.code === "InvalidConnection" && /expired on .*Certificates & secrets/.test(e.message),
  );
});

test("an EC key is refused: sign-in certificates use RSA", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.throws(
    () => readCertificateCredential({ certificate: credentials.registered.certificatePem, privateKey: ec }),
    (e: any) => e.field === "privateKey" && /RSA/.test(e.message),
  );
});
