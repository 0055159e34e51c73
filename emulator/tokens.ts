// Access tokens: JWT-shaped (so code that peeks at claims works), signed with a per-start key,
// and remembered in memory so Dataverse can tell issued, expired and invalidated tokens apart.
import { createHmac, randomBytes } from "node:crypto";
import type { AppRegistration } from "./identities";
import { TENANT_ID } from "./identities";
import { newGuid } from "./util";

export interface IssuedToken {
  app: AppRegistration;
  audience: string;
  expiresAtMs: number;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export class TokenService {
  private readonly key = randomBytes(32);
  private tokens = new Map<string, IssuedToken>();

  /** Issues a token for `app` to call `audience` (the environment URL); `issuer` is Entra ID's unless AD FS issues it. */
  issue(
    app: AppRegistration,
    audience: string,
    lifetimeSeconds: number,
    issuer = `https://sts.windows.net/${TENANT_ID}/`,
  ): { token: string; issuedAt: number; expiresOn: number } {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const exp = now + Math.floor(lifetimeSeconds);
    const header = { typ: "JWT", alg: "HS256", kid: "dataverse-emulator" };
    const payload = {
      aud: audience,
      iss: issuer,
      iat: now,
      nbf: now,
      exp,
      aio: b64url(randomBytes(24)),
      appid: app.clientId,
      appidacr: "1",
      idp: issuer,
      idtyp: "app",
      oid: app.objectId,
      rh: b64url(randomBytes(12)),
      sub: app.objectId,
      tid: TENANT_ID,
      uti: b64url(randomBytes(16)),
      ver: "1.0",
      xms_tcdt: 1_600_000_000,
      jti: newGuid(),
    };
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const token = `${unsigned}.${createHmac("sha256", this.key).update(unsigned).digest("base64url")}`;
    this.prune(nowMs);
    this.tokens.set(token, { app, audience, expiresAtMs: nowMs + lifetimeSeconds * 1000 });
    return { token, issuedAt: now, expiresOn: exp };
  }

  /** The token's record if it is one we issued and it has neither expired nor been invalidated. */
  validate(token: string): IssuedToken | undefined {
    const issued = this.tokens.get(token);
    return issued && Date.now() < issued.expiresAtMs ? issued : undefined;
  }

  /** Every token issued so far stops working. */
  invalidateAll(): void {
    this.tokens.clear();
  }

  /** Forget expired tokens now and then, so a long benchmark does not grow the map forever. */
  private prune(nowMs: number): void {
    if (this.tokens.size < 10_000) return;
    for (const [token, t] of this.tokens) if (t.expiresAtMs <= nowMs) this.tokens.delete(token);
  }
}
