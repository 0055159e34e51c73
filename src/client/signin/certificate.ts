/**
 * authType certificate: the app proves itself with a client assertion signed by its certificate's
 * key (msal-node's clientCertificate, SHA-256 thumbprint), optionally with the chain (x5c) for
 * subject name / issuer trust.
 */
import { ConfidentialClientApplication } from "@azure/msal-node";
import { appAuthority, checkClientId, msalSystem } from "./app";
import { readCertificateCredential } from "./certificate-material";
import { orNoToken } from "./secret";
import type { SignInMethod } from "./types";

export const certificate: SignInMethod = {
  check(settings) {
    appAuthority(settings);
    checkClientId(settings.clientId);
    readCertificateCredential(settings);
  },
  create(settings, parts) {
    const { authority, signIn } = appAuthority(settings, parts.environmentUrl);
    const credential = readCertificateCredential(settings);
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: signIn.clientId,
        clientCertificate: {
          thumbprintSha256: credential.thumbprintSha256,
          privateKey: credential.privateKey,
          ...(settings.sendX5c ? { x5c: credential.chain } : {}),
        },
        authority: authority.authority,
        knownAuthorities: authority.knownAuthorities,
      },
      system: msalSystem(parts.networkClient),
    });
    return {
      signIn,
      acquire: () => app.acquireTokenByClientCredential({ scopes: [`${parts.environmentUrl}/.default`], skipCache: true }).then(orNoToken),
    };
  },
};
