/**
 * Reads a connection's certificate credential (PEM certificate + private key, or a PFX) into what
 * msal-node signs client assertions with, and checks it at deploy. Node's crypto reads PEM; it cannot
 * read PKCS#12, so a PFX is opened with node-forge. No message here ever holds key material.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { connectionError } from "../errors";
import type { SignInSettings } from "./types";

export interface CertificateCredential {
  /** Hex SHA-256 thumbprint of the certificate that belongs to the key. */
  thumbprintSha256: string;
  /** Unencrypted PKCS#8 PEM, as msal-node wants it. */
  privateKey: string;
  /** PEM certificates, the key's own first: the x5c chain. */
  chain: string;
}

interface Material {
  certificates: X509Certificate[];
  key: KeyObject;
  /** The field to name when the key and certificate do not belong together. */
  keyField: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const UPLOAD_ADVICE = "upload its public part (.cer or .pem) under the app registration's Certificates & secrets";

export function readCertificateCredential(settings: SignInSettings, now = new Date()): CertificateCredential {
  const material = settings.pfx?.trim() ? fromPfx(settings.pfx, settings.passphrase) : fromPem(settings);
  const own = material.certificates.find((c) => c.checkPrivateKey(material.key));
  if (!own) {
    throw connectionError(
      material.keyField,
      "The private key does not belong to the certificate: use the key the certificate was created with (or the PFX exported with it)",
    );
  }
  checkValidity(own, settings.pfx?.trim() ? "pfx" : "certificate", now);
  const others = material.certificates.filter((c) => c !== own);
  return {
    thumbprintSha256: own.fingerprint256.replace(/:/g, "").toLowerCase(),
    privateKey: material.key.export({ type: "pkcs8", format: "pem" }).toString(),
    chain: [own, ...others].map((c) => c.toString()).join(""),
  };
}

function fromPem(settings: SignInSettings): Material {
  const certificate = settings.certificate?.trim() ?? "";
  const privateKey = settings.privateKey?.trim() ?? "";
  if (!certificate && !privateKey) {
    throw connectionError(
      "certificate",
      "The connection has no certificate: paste the certificate (PEM) and its private key (PEM), or the PFX file (base64) with its passphrase",
    );
  }
  // The certificate field is not a secret field: a key pasted there would be exported with the flow.
  if (/PRIVATE KEY-----/.test(certificate)) {
    throw connectionError("certificate", "The certificate field holds a private key: move the key into the Private key field, which is kept secret");
  }
  if (!certificate)
    throw connectionError("certificate", "The connection has a private key but no certificate: paste the certificate (PEM, -----BEGIN CERTIFICATE-----)");
  if (!privateKey) throw connectionError("privateKey", "The connection has a certificate but no private key: paste the private key (PEM) it was created with");
  return { certificates: parseCertificates(certificate), key: parsePrivateKey(privateKey, settings.passphrase), keyField: "privateKey" };
}

function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw connectionError("certificate", "The certificate is not PEM: paste the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----");
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw connectionError(
        "certificate",
        "The certificate could not be read: paste the whole PEM certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
      );
    }
  });
}

function parsePrivateKey(pem: string, passphrase: string | undefined): KeyObject {
  const encrypted = /ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) throw connectionError("passphrase", "The private key is encrypted: enter its passphrase");
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem", ...(encrypted ? { passphrase } : {}) });
  } catch (err) {
    if (encrypted && /bad decrypt/i.test((err as Error).message ?? "")) {
      throw connectionError("passphrase", "The passphrase does not open the private key: check the passphrase");
    }
    throw connectionError("privateKey", "The private key could not be read: paste the whole PEM key, from -----BEGIN ... PRIVATE KEY----- to its END line");
  }
  return checkRsa(key, "privateKey");
}

/** Entra ID and AD FS verify client assertions signed with RSA keys (RS256/PS256). */
function checkRsa(key: KeyObject, field: string): KeyObject {
  if (key.asymmetricKeyType !== "rsa") {
    throw connectionError(field, `The private key is ${key.asymmetricKeyType?.toUpperCase() ?? "not RSA"}: sign-in certificates must use an RSA key`);
  }
  return key;
}

function fromPfx(pfx: string, passphrase: string | undefined): Material {
  const der = Buffer.from(pfx.replace(/\s+/g, ""), "base64");
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString("binary")));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, passphrase ?? "");
  } catch (err) {
    if (/MAC could not be verified|Invalid password/i.test((err as Error).message ?? "")) {
      throw connectionError(
        "passphrase",
        passphrase ? "The passphrase does not open the PFX: check the passphrase" : "The PFX is protected: enter its passphrase",
      );
    }
    throw connectionError("pfx", "The PFX could not be read: paste the .pfx/.p12 file's content as base64 (for example the output of base64 -w0 cert.pfx)");
  }
  const keys = [forge.pki.oids.pkcs8ShroudedKeyBag, forge.pki.oids.keyBag].flatMap((type) => p12.getBags({ bagType: type })[type] ?? []);
  const keyBag = keys.find((bag) => bag.key);
  if (!keyBag?.key) throw connectionError("pfx", "The PFX holds no private key it can open: export the certificate with its private key");
  const key = checkRsa(createPrivateKey(forge.pki.privateKeyToPem(keyBag.key)), "pfx");
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const certificates = certBags.flatMap((bag) => (bag.cert ? [new X509Certificate(forge.pki.certificateToPem(bag.cert))] : []));
  if (certificates.length === 0) throw connectionError("pfx", "The PFX holds no certificate: export the certificate together with its private key");
  return { certificates, key, keyField: "pfx" };
}

function checkValidity(certificate: X509Certificate, field: string, now: Date): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now > to) {
    throw connectionError(field, `The certificate expired on ${to.toISOString()}: create a new one, ${UPLOAD_ADVICE}, and put it in the connection`);
  }
  if (now < from) {
    throw connectionError(field, `The certificate is not valid before ${from.toISOString()}: wait until then, or check this computer's clock`);
  }
}
