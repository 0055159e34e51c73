/**
 * Access tokens for one connection, whatever the sign-in type: one token request at a time however
 * many requests wait for it (single flight), and the token reused until shortly before it expires.
 * Our own cache decides when to ask; the credential always goes to the network then.
 */
import type { INetworkModule } from "@azure/msal-node";
import { DataverseError, fromNetworkError, fromSignInError } from "./errors";
import type { Credential } from "./signin";
import type { NetworkObserver } from "./transport";

export interface TokenProviderOptions {
  /** Built on the network module it is given, which reports what msal would hide to the provider. */
  credential: (networkClient: INetworkModule) => Credential;
  /** Built by the caller on the shared transport. */
  networkClient: (observer: NetworkObserver) => INetworkModule;
}

/** Renew this long before expiry (at most 5 minutes, at most a tenth of the token's lifetime). */
const MAX_RENEW_EARLY_MS = 5 * 60_000;
/** A token this close to expiry is not handed out: it could expire on the way. */
const EXPIRY_SAFETY_MS = 30_000;

export class TokenProvider {
  private readonly credential: Credential;
  private cached?: { token: string; renewAt: number; expiresAt: number };
  private pending?: Promise<string>;
  private lastTransportError: unknown;
  private lastErrorResponse?: { status: number; body: unknown };

  constructor(options: TokenProviderOptions) {
    this.credential = options.credential(
      options.networkClient({
        onTransportError: (err) => (this.lastTransportError = err),
        onErrorResponse: (status, body) => (this.lastErrorResponse = { status, body }),
      }),
    );
  }

  /**
   * The current token. Shortly before it expires a new one is requested in the background while the
   * old one is still handed out, so no request waits on the token endpoint at expiry.
   */
  getToken(): Promise<string> {
    const now = Date.now();
    const cached = this.cached;
    if (cached && now < cached.renewAt) return Promise.resolve(cached.token);
    const renewal = this.renew();
    if (cached && now < cached.expiresAt - EXPIRY_SAFETY_MS) {
      renewal.catch(() => undefined); // a failed early renewal is tried again by the next caller
      return Promise.resolve(cached.token);
    }
    return renewal;
  }

  private renew(): Promise<string> {
    this.pending ??= this.requestToken().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * Dataverse refused `token` (401): forget it, unless a newer one already replaced it, so a burst of
   * 401s for the same token leads to exactly one new token request.
   */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async requestToken(): Promise<string> {
    this.lastTransportError = undefined;
    this.lastErrorResponse = undefined;
    const sentAt = Date.now();
    let result;
    try {
      result = await this.credential.acquire();
    } catch (err) {
      // A credential that already told what went wrong (in its own words) is believed.
      if (err instanceof DataverseError) throw err;
      const { signIn } = this.credential;
      if (this.lastTransportError) throw fromNetworkError(this.lastTransportError, signIn.authorityHost);
      throw fromSignInError(err, signIn, this.lastErrorResponse);
    }
    if (!result.accessToken) throw fromSignInError(new Error("the sign-in endpoint returned no access token"), this.credential.signIn);
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : sentAt + 60_000;
    const renewEarly = Math.min(MAX_RENEW_EARLY_MS, (expiresAt - sentAt) / 10);
    this.cached = { token: result.accessToken, renewAt: expiresAt - renewEarly, expiresAt };
    return result.accessToken;
  }
}
