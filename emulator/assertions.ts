// Client assertions (private_key_jwt) checked the way Entra ID does: a certificate's signed JWT
// (thumbprint registered on the app, or subject name + issuer trust with the chain in x5c), or a
// federated token from a trusted OIDC issuer (workload identity), each failure with its AADSTS code.
import { constants, verify, X509Certificate, type KeyObject } from "node:crypto";
import type { EmulatorConfig } from "./config";
import { TestCredentials, type TestCertificate } from "./credentials";
import { FEDERATED_AUDIENCE, FEDERATED_ISSUER, FEDERATED_SUBJECT, SUBJECT_NAME_CN, TENANT_DOMAIN, TENANT_ID, type AppRegistration } from "./identities";
import type { EmuResponse } from "./server";

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Entra ID allows about five minutes of clock difference. */
const SKEW_SECONDS = 300;
const CERT_DOCS = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";
const FEDERATION_DOCS =
  "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

export type Fail = (status: number, error: string, code: number, description: string) => EmuResponse;

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signed: Buffer;
  signature: Buffer;
}

/** What the emulator keeps about client assertions: the test key material and the jti values seen. */
export class ClientAssertions {
  readonly credentials = new TestCredentials();
  private readonly seen = new Map<string, number>();

  /** Forgets the jti values seen (on reset); the key material stays. */
  reset(): void {
    this.seen.clear();
  }

  /** True when `jti` was presented before by this app (while it could still be valid). */
  replayed(clientId: string, jti: string, exp: number, now: number): boolean {
    for (const [key, until] of this.seen) if (until < now) this.seen.delete(key);
    const key = `${clientId}:${jti}`;
    if (this.seen.has(key)) return true;
    this.seen.set(key, exp + SKEW_SECONDS);
    return false;
  }
}

interface CheckContext {
  assertions: ClientAssertions;
  config: EmulatorConfig;
  /** host:port of the login server: the token endpoint an assertion must be addressed to. */
  authorityHost: string;
  app: AppRegistration;
  fail: Fail;
}

/** undefined when the assertion proves the app; else the error answer. */
export function checkClientAssertion(ctx: CheckContext, form: Map<string, string>): EmuResponse | undefined {
  const { fail } = ctx;
  if (form.get("client_assertion_type") !== JWT_BEARER) {
    return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
  }
  const jwt = parseJwt(form.get("client_assertion") ?? "");
  if (!jwt) return fail(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
  if (ctx.app.assertionTrust === "federated") return checkFederated(ctx, jwt);
  return checkCertificateAssertion(ctx, jwt);
}

function parseJwt(token: string): Jwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (!header || typeof header !== "object" || !payload || typeof payload !== "object") return undefined;
    return { header, payload, signed: Buffer.from(`${parts[0]}.${parts[1]}`), signature: Buffer.from(parts[2], "base64url") };
  } catch {
    return undefined;
  }
}

function checkCertificateAssertion(ctx: CheckContext, jwt: Jwt): EmuResponse | undefined {
  const { app, fail } = ctx;
  const { header, payload } = jwt;
  if (payload.iss !== app.clientId || payload.sub !== app.clientId) {
    return fail(401, "invalid_client", 700021, `Client assertion application identifier doesn't match 'client_id' parameter. ${CERT_DOCS}`);
  }
  if (typeof payload.aud !== "string" || !tokenEndpoints(ctx.authorityHost).includes(payload.aud.toLowerCase())) {
    return fail(401, "invalid_client", 700023, `Client assertion audience claim does not match Realm issuer. ${CERT_DOCS}`);
  }
  const thumbprint = String(header["x5t#S256"] ?? header.x5t ?? "");
  const found = signingCertificate(ctx, header, thumbprint);
  if ("reason" in found) {
    if (found.code === 700030) return fail(401, "invalid_client", 700030, found.reason);
    return fail(401, "invalid_client", 700027, keyProblem(found.reason, thumbprint, app.clientId));
  }
  if (found.notAfter.getTime() < Date.now()) return fail(401, "invalid_client", 700027, keyProblem("The key used is expired.", thumbprint, app.clientId));
  if (!signatureValid(jwt, found.publicKey)) {
    return fail(
      401,
      "invalid_client",
      700027,
      keyProblem("Signature validation failed.", thumbprint, app.clientId, "Client assertion contains an invalid signature."),
    );
  }
  return checkTimes(ctx, payload, CERT_DOCS) ?? checkReplay(ctx, payload);
}

function keyProblem(reason: string, thumbprint: string, clientId: string, lead = "Client assertion failed signature validation."): string {
  return `${lead} [Reason - ${reason}, Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`;
}

/** The token endpoints (v1 and v2, by tenant id or domain) an assertion may be addressed to. */
function tokenEndpoints(authorityHost: string): string[] {
  return [TENANT_ID, TENANT_DOMAIN].flatMap((t) => [`https://${authorityHost}/${t}/oauth2/v2.0/token`, `https://${authorityHost}/${t}/oauth2/token`]);
}

type Found = { publicKey: KeyObject; notAfter: Date } | { reason: string; code?: number };

function signingCertificate(ctx: CheckContext, header: Record<string, unknown>, thumbprint: string): Found {
  const { credentials } = ctx.assertions;
  if (ctx.app.assertionTrust === "certificate") {
    const registered = [credentials.registered, credentials.expired].find((c) => matches(c, thumbprint));
    return registered ?? { reason: "The key was not found." };
  }
  if (ctx.app.assertionTrust === "subjectName") return trustedBySubjectName(credentials, header, thumbprint);
  return { reason: "The key was not found." };
}

const matches = (c: TestCertificate, thumbprint: string) => thumbprint !== "" && (c.x5tS256 === thumbprint || c.x5t === thumbprint);

/** Subject name + issuer trust: the chain in x5c must lead to the trusted CA and name the trusted subject. */
function trustedBySubjectName(credentials: TestCredentials, header: Record<string, unknown>, thumbprint: string): Found {
  const x5c = Array.isArray(header.x5c) ? header.x5c.filter((c): c is string => typeof c === "string") : [];
  if (x5c.length === 0) return { reason: "The key was not found." };
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
  } catch {
    return { reason: "The certificate chain is not valid." };
  }
  const leaf = chain[0];
  const thumbprints = [leaf.fingerprint256, leaf.fingerprint].map((f) => Buffer.from(f.replace(/:/g, ""), "hex").toString("base64url"));
  if (!thumbprints.includes(thumbprint)) return { reason: "The key was not found." };
  const ca = credentials.trustedCa;
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return { reason: "The certificate chain is not valid." };
  const cn = /CN=([^\n,]+)/.exec(leaf.subject)?.[1] ?? "";
  if (cn !== SUBJECT_NAME_CN) {
    return {
      code: 700030,
      reason: `Invalid certificate - subject name in certificate isn't authorized. SubjectNames/SubjectAlternativeNames (up to 10) in token certificate are: ${cn}.`,
    };
  }
  return { publicKey: leaf.publicKey, notAfter: new Date(leaf.validTo) };
}

function signatureValid(jwt: Jwt, key: KeyObject): boolean {
  try {
    if (jwt.header.alg === "RS256") return verify("sha256", jwt.signed, key, jwt.signature);
    if (jwt.header.alg === "PS256") {
      return verify("sha256", jwt.signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature);
    }
  } catch {
    return false;
  }
  return false;
}

/** exp and nbf against the emulator's clock (shifted by clockOffsetSeconds to play a wrong client clock). */
function checkTimes(ctx: CheckContext, payload: Record<string, unknown>, docs: string): EmuResponse | undefined {
  const nowMs = Date.now() + ctx.config.clockOffsetSeconds * 1000;
  const now = nowMs / 1000;
  const exp = typeof payload.exp === "number" ? payload.exp : 0;
  const nbf = typeof payload.nbf === "number" ? payload.nbf : 0;
  if (exp + SKEW_SECONDS >= now && nbf - SKEW_SECONDS <= now) return undefined;
  const at = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
  return ctx.fail(
    401,
    "invalid_client",
    700024,
    `Client assertion is not within its valid time range. Current time: ${at(now)}, assertion valid from ${at(nbf)}, expiry time of assertion ${at(exp)}. ${docs}`,
  );
}

/**
 * Entra ID accepts an assertion again until it expires (MSAL reuses one for ten minutes), so replays
 * are refused only when refuseAssertionReplay is set, to test a client that must not reuse them.
 */
function checkReplay(ctx: CheckContext, payload: Record<string, unknown>): EmuResponse | undefined {
  if (!ctx.config.refuseAssertionReplay) return undefined;
  const jti = typeof payload.jti === "string" ? payload.jti : "";
  const exp = typeof payload.exp === "number" ? payload.exp : 0;
  if (jti && !ctx.assertions.replayed(ctx.app.clientId, jti, exp, Date.now() / 1000)) return undefined;
  return ctx.fail(401, "invalid_client", 50013, `Assertion is invalid: the client assertion's jti '${jti}' was already used. ${CERT_DOCS}`);
}

function checkFederated(ctx: CheckContext, jwt: Jwt): EmuResponse | undefined {
  const { fail, app } = ctx;
  const { payload } = jwt;
  const issuer = String(payload.iss ?? "");
  if (issuer !== FEDERATED_ISSUER) {
    return fail(401, "invalid_client", 700211, `No matching federated identity record found for presented assertion issuer '${issuer}'. ${FEDERATION_DOCS}`);
  }
  if (jwt.header.alg !== "RS256" || !signatureValid(jwt, ctx.assertions.credentials.federatedIssuerKey)) {
    return fail(
      401,
      "invalid_client",
      50013,
      `Assertion failed signature validation. [Reason - The key was not found., Issuer: '${issuer}', app Id '${app.clientId}'.]`,
    );
  }
  const timeProblem = checkTimes(ctx, payload, FEDERATION_DOCS);
  if (timeProblem) return timeProblem;
  const audiences = Array.isArray(payload.aud) ? payload.aud.map(String) : [String(payload.aud ?? "")];
  if (!audiences.includes(FEDERATED_AUDIENCE)) {
    return fail(
      401,
      "invalid_client",
      700212,
      `No matching federated identity record found for presented assertion audience '${audiences.join(", ")}'. ${FEDERATION_DOCS}`,
    );
  }
  const subject = String(payload.sub ?? "");
  if (subject !== FEDERATED_SUBJECT) {
    return fail(401, "invalid_client", 700213, `No matching federated identity record found for presented assertion subject '${subject}'. ${FEDERATION_DOCS}`);
  }
  return undefined;
}
