/**
 * How a connection signs in. Each sign-in type (authType) is one module in this folder: it checks its
 * settings and builds a Credential; the TokenProvider caches, single-flights and maps errors for all.
 */
import type { INetworkModule } from "@azure/msal-node";
import type { SignInContext } from "../errors";

/** What a sign-in type reads from the connection's settings (all optional here; each type checks its own). */
export interface SignInSettings {
  url?: string;
  authType?: string;
  tenant?: string;
  cloud?: string;
  authority?: string;
  clientId?: string;
  clientSecret?: string;
  /** certificate: PEM certificate (may hold the chain), with `privateKey` (PEM); or `pfx` (base64) with `passphrase`. */
  certificate?: string;
  privateKey?: string;
  pfx?: string;
  passphrase?: string;
  /** certificate: send the chain (x5c) for subject name / issuer trust. */
  sendX5c?: boolean;
  /** workloadIdentity: the federated token file; empty means AZURE_FEDERATED_TOKEN_FILE. */
  tokenFile?: string;
}

export interface TokenAnswer {
  accessToken: string;
  expiresOn: Date | null;
}

/** A way to get a new access token; called only when the TokenProvider decides one is needed. */
export interface Credential {
  /** For error messages: who signs in where. */
  signIn: SignInContext;
  acquire(): Promise<TokenAnswer>;
}

export interface CredentialParts {
  /** The environment URL, e.g. https://contoso.crm.dynamics.com (the token's audience). */
  environmentUrl: string;
  /** msal-node's network module on the connection's transport. */
  networkClient: INetworkModule;
}

export interface SignInMethod {
  /** Throws the first problem with the settings as a DataverseError naming the field. */
  check(settings: SignInSettings): void;
  create(settings: SignInSettings, parts: CredentialParts): Credential;
}
