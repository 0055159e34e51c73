/**
 * Access tokens for one connection: one msal-node ConfidentialClientApplication, one token request at
 * a time however many requests wait for it (single flight), and the token reused until shortly before
 * it expires. Our own cache decides when to ask; msal is always asked to go to the network then.
 */
import { ConfidentialClientApplication, LogLevel, type INetworkModule } from "@azure/msal-node";
import { fromNetworkError, fromSignInError, type SignInContext } from "./errors";
import type { NetworkObserver } from "./transport";

export interface TokenProviderOptions {
  clientId: string;
  clientSecret: string;
  authority: string;
  knownAuthorities: string[];
  scope: string;
  signIn: SignInContext;
  /** Built by the caller on the shared transport, reporting what msal would hide to the observer. */
  networkClient: (observer: NetworkObserver) => INetworkModule;
}

/** Renew this long before expiry (at most 5 minutes, at most a tenth of the token's lifetime). */
const MAX_RENEW_EARLY_MS = 5 * 60_000;
/** A token this close to expiry is not handed out: it could expire on the way. */
const EXPIRY_SAFETY_MS = 30_000;

export class TokenProvider {
  private readonly cca: ConfidentialClientApplication;
  private cached?: { token: string; renewAt: number; expiresAt: number };
  private pending?: Promise<string>;
  private lastTransportError: unknown;
  private lastErrorResponse?: { status: number; body: unknown };

  constructor(private readonly options: TokenProviderOptions) {
    this.cca = new ConfidentialClientApplication({
      auth: {
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        authority: options.authority,
        knownAuthorities: options.knownAuthorities,
      },
      system: {
        networkClient: options.networkClient({
          onTransportError: (err) => (this.lastTransportError = err),
          onErrorResponse: (status, body) => (this.lastErrorResponse = { status, body }),
        }),
        // msal's log lines can include request details; they never go to Node-RED's log.
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
      },
    });
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
      result = await this.cca.acquireTokenByClientCredential({ scopes: [this.options.scope], skipCache: true });
    } catch (err) {
      if (this.lastTransportError) throw fromNetworkError(this.lastTransportError, this.options.signIn.authorityHost);
      throw fromSignInError(err, this.options.signIn, this.lastErrorResponse);
    }
    if (!result?.accessToken) throw fromSignInError(new Error("the sign-in endpoint returned no access token"), this.options.signIn);
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : sentAt + 60_000;
    const renewEarly = Math.min(MAX_RENEW_EARLY_MS, (expiresAt - sentAt) / 10);
    this.cached = { token: result.accessToken, renewAt: expiresAt - renewEarly, expiresAt };
    return result.accessToken;
  }
}
