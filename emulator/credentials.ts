// Test-only key material of the emulated tenant's certificate and federated credentials: made fresh
// (in memory) the first time something asks, so emulator starts that never use them pay nothing.
// None of these keys protects anything real.
import { createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { FEDERATED_AUDIENCE, FEDERATED_ISSUER, FEDERATED_SUBJECT, SUBJECT_NAME_CN } from "./identities";
import { generateKeyPair, type ForgeKeyPair } from "./tls";

export interface TestCertificate {
  /** PEM; for the subject-name certificate the chain: leaf, then its CA. */
  certificatePem: string;
  /** Unencrypted PKCS#8 PEM. */
  privateKeyPem: string;
  /** Base64url SHA-256 and SHA-1 thumbprints, as the x5t#S256 / x5t JWT headers carry them. */
  x5tS256: string;
  x5t: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

export interface FederatedTokenOptions {
  issuer?: string;
  subject?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. Default 3600. */
  expiresInSeconds?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const ORGANIZATION = "node-red-contrib-dataverse (test only)";

interface CertificateSpec {
  commonName: string;
  keys: ForgeKeyPair;
  notBefore: Date;
  notAfter: Date;
  /** Signed by this CA; self-signed when absent. */
  issuer?: { commonName: string; keys: ForgeKeyPair };
  ca?: boolean;
}

function makeCertificate(spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.keys.publicKey;
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  cert.serialNumber = serial.toString("hex");
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const name = (cn: string) => [
    { name: "commonName", value: cn },
    { name: "organizationName", value: ORGANIZATION },
  ];
  cert.setSubject(name(spec.commonName));
  cert.setIssuer(name(spec.issuer?.commonName ?? spec.commonName));
  cert.setExtensions(spec.ca ? [{ name: "basicConstraints", cA: true, critical: true }] : [{ name: "basicConstraints", cA: false }]);
  cert.sign((spec.issuer?.keys ?? spec.keys).privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function testCertificate(certificatePem: string, keys: ForgeKeyPair): TestCertificate {
  const x509 = new X509Certificate(certificatePem);
  const thumb = (fingerprint: string) => Buffer.from(fingerprint.replace(/:/g, ""), "hex").toString("base64url");
  return {
    certificatePem,
    privateKeyPem: keys.pem,
    x5tS256: thumb(x509.fingerprint256),
    x5t: thumb(x509.fingerprint),
    publicKey: x509.publicKey,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
  };
}

/** The certificates and the federated issuer key, made once per emulator. */
export class TestCredentials {
  private made?: ReturnType<typeof makeAll>;

  private get all(): ReturnType<typeof makeAll> {
    return (this.made ??= makeAll());
  }

  /** Registered on the certificate app, valid for a year. */
  get registered(): TestCertificate {
    return this.all.registered;
  }
  /** Registered on the certificate app too, but past its end date (same key as `registered`). */
  get expired(): TestCertificate {
    return this.all.expired;
  }
  /** Valid, but registered on no app. */
  get unregistered(): TestCertificate {
    return this.all.unregistered;
  }
  /** Leaf + CA chain, trusted by the subject-name app through its subject name and issuer. */
  get subjectName(): TestCertificate {
    return this.all.subjectName;
  }
  /** Issued by the trusted CA, but to a subject name no app trusts. */
  get otherSubject(): TestCertificate {
    return this.all.otherSubject;
  }
  /** The CA certificate the subject-name app trusts. */
  get trustedCa(): X509Certificate {
    return this.all.trustedCa;
  }
  /** The public key the trusted OIDC issuer signs federated tokens with. */
  get federatedIssuerKey(): KeyObject {
    return this.all.issuer.publicKey;
  }

  /** A token as the trusted OIDC issuer (a cluster's service account issuer) would write it. */
  federatedToken(options: FederatedTokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", kid: "emulator-oidc-issuer" };
    const payload = {
      aud: [options.audience ?? FEDERATED_AUDIENCE],
      iss: options.issuer ?? FEDERATED_ISSUER,
      sub: options.subject ?? FEDERATED_SUBJECT,
      iat: now,
      nbf: now,
      exp: now + (options.expiresInSeconds ?? 3600),
      jti: randomBytes(16).toString("hex"),
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64(header)}.${b64(payload)}`;
    return `${unsigned}.${sign("sha256", Buffer.from(unsigned), this.all.issuer.privateKey).toString("base64url")}`;
  }
}

function makeAll() {
  const now = Date.now();
  const year = { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 365 * DAY_MS) };
  const appKeys = generateKeyPair();
  const otherKeys = generateKeyPair();
  const caKeys = generateKeyPair();
  const leafKeys = generateKeyPair();
  const issuerKeys = generateKeyPair();
  const caPem = makeCertificate({ commonName: "Dataverse Emulator Test Issuing CA", keys: caKeys, ...year, ca: true });
  const issuer = { commonName: "Dataverse Emulator Test Issuing CA", keys: caKeys };
  const leafPem = makeCertificate({ commonName: SUBJECT_NAME_CN, keys: leafKeys, ...year, issuer });
  const otherLeafPem = makeCertificate({ commonName: "someone-else.contoso.test", keys: leafKeys, ...year, issuer });
  return {
    registered: testCertificate(makeCertificate({ commonName: "Dataverse Emulator Test App", keys: appKeys, ...year }), appKeys),
    expired: testCertificate(
      makeCertificate({
        commonName: "Dataverse Emulator Test App (expired)",
        keys: appKeys,
        notBefore: new Date(now - 400 * DAY_MS),
        notAfter: new Date(now - DAY_MS),
      }),
      appKeys,
    ),
    unregistered: testCertificate(makeCertificate({ commonName: "Dataverse Emulator Unregistered", keys: otherKeys, ...year }), otherKeys),
    subjectName: { ...testCertificate(leafPem, leafKeys), certificatePem: leafPem + caPem },
    otherSubject: { ...testCertificate(otherLeafPem, leafKeys), certificatePem: otherLeafPem + caPem },
    trustedCa: new X509Certificate(caPem),
    issuer: { privateKey: createPrivateKey(issuerKeys.pem), publicKey: createPublicKey(issuerKeys.pem) },
  };
}
