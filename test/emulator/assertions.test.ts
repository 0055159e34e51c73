// Client assertions at the emulated token endpoint: certificate-signed JWTs (registered thumbprint or
// subject name + issuer with x5c) and federated tokens (workload identity), each check with its AADSTS.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { constants, createPrivateKey, randomUUID, sign } from "node:crypto";
import type { RunningEmulator, TestCertificate } from "../../emulator";
import { useEmulator, type Client } from "./helpers";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

let emu: RunningEmulator;
let client: Client;
useEmulator((e, c) => {
  emu = e;
  client = c;
});

interface AssertionOptions {
  cert?: TestCertificate;
  /** Sign with this certificate's key instead (a key that does not match the thumbprint). */
  signWith?: TestCertificate;
  alg?: "PS256" | "RS256";
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  x5c?: boolean;
  clientId?: string;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function assertion(options: AssertionOptions = {}): string {
  const cert = options.cert ?? emu.credentials.registered;
  const clientId = options.clientId ?? emu.assertionApps.certificate;
  const alg = options.alg ?? "PS256";
  const now = Math.floor(Date.now() / 1000);
  const chain = (cert.certificatePem.match(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g) ?? []).map((pem) =>
    pem.replace(/-----[A-Z ]+-----|\s/g, ""),
  );
  const header = { alg, typ: "JWT", "x5t#S256": cert.x5tS256, ...(options.x5c ? { x5c: chain } : {}), ...options.header };
  const payload = {
    aud: `https://${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    nbf: now,
    exp: now + 600,
    ...options.claims,
  };
  const unsigned = `${b64(header)}.${b64(payload)}`;
  const key = createPrivateKey((options.signWith ?? cert).privateKeyPem);
  const signature =
    alg === "PS256"
      ? sign("sha256", Buffer.from(unsigned), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign("sha256", Buffer.from(unsigned), key);
  return `${unsigned}.${signature.toString("base64url")}`;
}

function requestToken(clientAssertion: string, clientId = emu.assertionApps.certificate, type = JWT_BEARER) {
  return client.token({
    grant_type: "client_credentials",
    client_id: clientId,
    client_assertion_type: type,
    client_assertion: clientAssertion,
    scope: `${emu.dataverseUrl}/.default`,
  });
}

async function refused(res: Promise<{ status: number; json(): any }>, code: number, text: RegExp, status = 401): Promise<any> {
  const answer = await res;
  const body = answer.json();
  assert.equal(answer.status, status, JSON.stringify(body));
  assert.deepEqual(body.error_codes, [code]);
  assert.match(body.error_description, new RegExp(`^AADSTS${code}: `));
  assert.match(body.error_description, text);
  return body;
}

describe("certificate client assertions", () => {
  it("a PS256 or RS256 assertion signed by the registered certificate gets a token Dataverse accepts", async () => {
    for (const alg of ["PS256", "RS256"] as const) {
      const res = await requestToken(assertion({ alg }));
      assert.equal(res.status, 200, res.text);
      const who = await client.api("GET", "WhoAmI", { token: res.json().access_token });
      assert.equal(who.status, 200);
    }
  });

  it("the SHA-1 x5t header is accepted too", async () => {
    const cert = emu.credentials.registered;
    const res = await requestToken(assertion({ header: { "x5t#S256": undefined, x5t: cert.x5t } }));
    assert.equal(res.status, 200, res.text);
  });

  it("a certificate not registered on the app: AADSTS700027, the key was not found", async () => {
    const body = await refused(requestToken(assertion({ cert: emu.credentials.unregistered })), 700027, /The key was not found/);
    assert.match(body.error_description, new RegExp(emu.credentials.unregistered.x5tS256.replace(/[-]/g, "\\-")));
    assert.equal(body.error, "invalid_client");
  });

  it("signed by another key than the registered certificate's: AADSTS700027, invalid signature", async () => {
    await refused(requestToken(assertion({ signWith: emu.credentials.unregistered })), 700027, /invalid signature/);
  });

  it("a registered certificate past its end date: AADSTS700027, the key used is expired", async () => {
    await refused(requestToken(assertion({ cert: emu.credentials.expired })), 700027, /The key used is expired/);
  });

  it("an assertion for another token endpoint: AADSTS700023", async () => {
    await refused(requestToken(assertion({ claims: { aud: "https://login.microsoftonline.com/other/oauth2/v2.0/token" } })), 700023, /audience claim/);
  });

  it("iss or sub not the client id: AADSTS700021", async () => {
    await refused(requestToken(assertion({ claims: { sub: emu.clientId } })), 700021, /application identifier/);
    await refused(requestToken(assertion({ claims: { iss: emu.clientId } })), 700021, /application identifier/);
  });

  it("expired, or not yet valid beyond five minutes of skew: AADSTS700024; within the skew it is fine", async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(requestToken(assertion({ claims: { nbf: now - 1200, exp: now - 400 } })), 700024, /not within its valid time range/);
    await refused(requestToken(assertion({ claims: { nbf: now + 400, exp: now + 1000 } })), 700024, /assertion valid from/);
    assert.equal((await requestToken(assertion({ claims: { nbf: now - 700, exp: now - 100 } }))).status, 200);
  });

  it("a client whose clock is wrong (clockOffsetSeconds) gets AADSTS700024", async () => {
    emu.control.setConfig({ clockOffsetSeconds: 3600 });
    await refused(requestToken(assertion()), 700024, /Current time/);
  });

  it("a reused assertion is accepted as Entra ID does, and refused with refuseAssertionReplay", async () => {
    const once = assertion();
    assert.equal((await requestToken(once)).status, 200);
    assert.equal((await requestToken(once)).status, 200);
    emu.control.setConfig({ refuseAssertionReplay: 1 });
    const fresh = assertion();
    assert.equal((await requestToken(fresh)).status, 200);
    await refused(requestToken(fresh), 50013, /jti .* already used/);
  });

  it("a malformed assertion: AADSTS50027; no assertion type: AADSTS900144", async () => {
    await refused(requestToken("not-a-jwt"), 50027, /malformed/, 400);
    await refused(requestToken(assertion(), emu.assertionApps.certificate, ""), 900144, /client_assertion_type/, 400);
  });

  it("an app with only a secret: AADSTS700027", async () => {
    await refused(requestToken(assertion({ clientId: emu.clientId }), emu.clientId), 700027, /key was not found/);
  });
});

describe("subject name and issuer trust (x5c)", () => {
  const app = () => emu.assertionApps.subjectName;

  it("the chain in x5c from the trusted CA with the trusted subject name gets a token", async () => {
    const res = await requestToken(assertion({ cert: emu.credentials.subjectName, x5c: true, clientId: app() }), app());
    assert.equal(res.status, 200, res.text);
  });

  it("without x5c the certificate is unknown: AADSTS700027", async () => {
    await refused(requestToken(assertion({ cert: emu.credentials.subjectName, clientId: app() }), app()), 700027, /key was not found/);
  });

  it("a certificate of the trusted CA for another subject name: AADSTS700030", async () => {
    await refused(
      requestToken(assertion({ cert: emu.credentials.otherSubject, x5c: true, clientId: app() }), app()),
      700030,
      /subject name in certificate isn't authorized.*someone-else\.contoso\.test/,
    );
  });

  it("a certificate not issued by the trusted CA: AADSTS700027", async () => {
    await refused(requestToken(assertion({ cert: emu.credentials.unregistered, x5c: true, clientId: app() }), app()), 700027, /chain is not valid/);
  });
});

describe("federated credentials (workload identity)", () => {
  const app = () => emu.assertionApps.workloadIdentity;

  it("a token of the trusted issuer for the registered subject and audience gets a token Dataverse accepts", async () => {
    const res = await requestToken(emu.credentials.federatedToken(), app());
    assert.equal(res.status, 200, res.text);
    assert.equal((await client.api("GET", "WhoAmI", { token: res.json().access_token })).status, 200);
  });

  it("another issuer: AADSTS700211", async () => {
    await refused(requestToken(emu.credentials.federatedToken({ issuer: "https://token.actions.githubusercontent.com" }), app()), 700211, /assertion issuer/);
  });

  it("another subject: AADSTS700213", async () => {
    await refused(requestToken(emu.credentials.federatedToken({ subject: "system:serviceaccount:default:other" }), app()), 700213, /assertion subject/);
  });

  it("another audience: AADSTS700212", async () => {
    await refused(requestToken(emu.credentials.federatedToken({ audience: "api://something-else" }), app()), 700212, /assertion audience/);
  });

  it("an expired token: AADSTS700024", async () => {
    await refused(requestToken(emu.credentials.federatedToken({ expiresInSeconds: -1000 }), app()), 700024, /valid time range/);
  });

  it("a token not signed by the issuer: AADSTS50013", async () => {
    const [h, p] = emu.credentials.federatedToken().split(".");
    const forged = `${h}.${p}.${Buffer.from("forged").toString("base64url")}`;
    await refused(requestToken(forged, app()), 50013, /signature validation/);
  });
});
