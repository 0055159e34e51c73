/** authType secret: an Entra ID (or AD FS) app registration's client id and client secret. */
import { ConfidentialClientApplication } from "@azure/msal-node";
import { connectionError } from "../errors";
import { appAuthority, checkClientId, msalSystem } from "./app";
import type { SignInMethod } from "./types";

export const secret: SignInMethod = {
  check(settings) {
    appAuthority(settings);
    checkClientId(settings.clientId);
    if (!settings.clientSecret)
      throw connectionError(
        "clientSecret",
        "The connection has no client secret: create one under the app registration's Certificates & secrets and paste its Value",
      );
  },
  create(settings, parts) {
    const { authority, signIn } = appAuthority(settings, parts.environmentUrl);
    const app = new ConfidentialClientApplication({
      auth: { clientId: signIn.clientId, clientSecret: settings.clientSecret, authority: authority.authority, knownAuthorities: authority.knownAuthorities },
      system: msalSystem(parts.networkClient),
    });
    return {
      signIn,
      acquire: () => app.acquireTokenByClientCredential({ scopes: [`${parts.environmentUrl}/.default`], skipCache: true }).then(orNoToken),
    };
  },
};

/** msal answers null when it has nothing; that is an answer without a token. */
export function orNoToken<T>(result: T | null): T {
  if (!result) throw new Error("the sign-in endpoint returned no access token");
  return result;
}
