// Certificates for the emulator's HTTPS servers: a long-lived local CA (kept on disk so a client can
// trust it once) and a fresh server certificate per start, signed by that CA.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import forge from "node-forge";

export const CA_COMMON_NAME = "Dataverse Emulator Local CA";
const ORGANIZATION = "node-red-contrib-dataverse (test only)";

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  certPath: string;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

export interface ForgeKeyPair {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  /** The private key as unencrypted PKCS#8 PEM. */
  pem: string;
}

/** RSA keys come from Node's native generator: node-forge's pure-JS one takes seconds. */
export function generateKeyPair(): ForgeKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    pem: privateKey,
  };
}

/** Positive random serial number (the high bit cleared so DER does not read it as negative). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString("hex");
}

const DAY_MS = 24 * 60 * 60 * 1000;

function createCa(): { certPem: string; keyPem: string } {
  const keys = generateKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + 10 * 365 * DAY_MS);
  const name = [
    { name: "commonName", value: CA_COMMON_NAME },
    { name: "organizationName", value: ORGANIZATION },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * The key belongs to the certificate (another process may be writing the files right now), and
 * the CA is not about to expire (then a new one is made).
 */
function isMatchingPair(certPem: string, keyPem: string): boolean {
  try {
    const cert = forge.pki.certificateFromPem(certPem);
    const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    const pub = cert.publicKey as forge.pki.rsa.PublicKey;
    return pub.n.equals(key.n) && cert.validity.notAfter.getTime() > Date.now() + DAY_MS;
  } catch {
    return false;
  }
}

/** Writes via a temporary name and rename, so a concurrent reader never sees half a file. */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Reads the pair from disk when both files exist and belong together. */
function readCa(certPath: string, keyPath: string): CertificateAuthority | undefined {
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  const certPem = readFileSync(certPath, "utf8");
  const keyPem = readFileSync(keyPath, "utf8");
  return isMatchingPair(certPem, keyPem) ? { certPem, keyPem, certPath } : undefined;
}

/**
 * Loads `ca.pem` + `ca-key.pem` from `dir`, or creates them there. Test files run as parallel
 * processes sharing one folder, so creation happens under a lock file: the others wait for it.
 */
export async function loadOrCreateCa(dir: string): Promise<CertificateAuthority> {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  const lockPath = join(dir, "ca.lock");
  const deadline = Date.now() + 20_000;
  for (;;) {
    const existing = readCa(certPath, keyPath);
    if (existing) return existing;
    let lock: number | undefined;
    try {
      lock = openSync(lockPath, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (lock !== undefined) {
      try {
        const raced = readCa(certPath, keyPath);
        if (raced) return raced;
        const ca = createCa();
        writeAtomic(keyPath, ca.keyPem, 0o600);
        writeAtomic(certPath, ca.certPem, 0o644);
        return { ...ca, certPath };
      } finally {
        closeSync(lock);
        rmSync(lockPath, { force: true });
      }
    }
    // A lock older than a few seconds belongs to a process that died while generating.
    const lockInfo = statSync(lockPath, { throwIfNoEntry: false });
    if (lockInfo && (Date.now() > deadline || Date.now() - lockInfo.mtimeMs > 10_000)) {
      rmSync(lockPath, { force: true });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Server certificate for `host` plus the loopback names, valid for about a year. */
export function issueServerCertificate(ca: CertificateAuthority, host: string): ServerCertificate {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = generateKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  const now = Date.now();
  // Backdated a day so clients with a slightly slow clock accept it.
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + 365 * DAY_MS);
  cert.setSubject([
    { name: "commonName", value: "localhost" },
    { name: "organizationName", value: ORGANIZATION },
  ]);
  cert.setIssuer(caCert.subject.attributes);

  const altNames: Array<{ type: number; ip?: string; value?: string }> = [
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
    { type: 2, value: "localhost" },
  ];
  const bare = host.replace(/^\[|\]$/g, "");
  if (!["127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""].includes(bare)) {
    altNames.push(isIP(bare) ? { type: 7, ip: bare } : { type: 2, value: bare });
  }
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}
