/**
 * authType workloadIdentity (a federated credential, as on AKS): the client assertion is the token
 * a platform writes to a file and rotates, so it is read fresh at every token request. Tenant, client
 * id and authority host come from the connection, else from the variables the AKS webhook sets.
 */
import { readFileSync } from "node:fs";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { connectionError } from "../errors";
import { appAuthority, checkClientId, msalSystem } from "./app";
import { orNoToken } from "./secret";
import type { SignInMethod, SignInSettings } from "./types";

export const workloadIdentity: SignInMethod = {
  check(settings) {
    const resolved = withEnvironment(settings);
    appAuthority(resolved);
    checkClientId(resolved.clientId);
    readAssertion(tokenFile(settings));
  },
  create(settings, parts) {
    const resolved = withEnvironment(settings);
    const { authority, signIn } = appAuthority(resolved, parts.environmentUrl);
    const file = tokenFile(settings);
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: signIn.clientId,
        clientAssertion: () => Promise.resolve(readAssertion(file)),
        authority: authority.authority,
        knownAuthorities: authority.knownAuthorities,
      },
      system: msalSystem(parts.networkClient),
    });
    return {
      signIn,
      // Read before msal is asked, so a missing file is reported as such and not as a failed sign-in.
      acquire: () => {
        readAssertion(file);
        return app.acquireTokenByClientCredential({ scopes: [`${parts.environmentUrl}/.default`], skipCache: true }).then(orNoToken);
      },
    };
  },
};

/** The connection's settings, with what it leaves empty taken from the environment. */
function withEnvironment(settings: SignInSettings): SignInSettings {
  const env = process.env;
  const tenant = settings.tenant?.trim() || env.AZURE_TENANT_ID?.trim();
  const clientId = settings.clientId?.trim() || env.AZURE_CLIENT_ID?.trim();
  if (!tenant) throw connectionError("tenant", "No tenant for workload identity: set the connection's tenant, or AZURE_TENANT_ID in Node-RED's environment");
  if (!clientId)
    throw connectionError("clientId", "No client ID for workload identity: set the connection's client ID, or AZURE_CLIENT_ID in Node-RED's environment");
  const explicitAuthority = settings.cloud === "custom" && settings.authority?.trim();
  const authorityHost = env.AZURE_AUTHORITY_HOST?.trim();
  const fromEnvironment = !explicitAuthority && authorityHost ? { cloud: "custom", authority: authorityHost } : {};
  return { ...settings, tenant, clientId, ...fromEnvironment };
}

function tokenFile(settings: SignInSettings): string {
  const file = settings.tokenFile?.trim() || process.env.AZURE_FEDERATED_TOKEN_FILE?.trim();
  if (!file) {
    throw connectionError(
      "tokenFile",
      'No token file for workload identity: set the connection\'s token file, or run where AZURE_FEDERATED_TOKEN_FILE is set (an AKS pod labelled azure.workload.identity/use: "true")',
    );
  }
  return file;
}

function readAssertion(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : `cannot be read (${code ?? "error"})`;
    throw connectionError("tokenFile", `The workload identity token file ${file} ${why}: check the token file setting or AZURE_FEDERATED_TOKEN_FILE`);
  }
  const assertion = text.trim();
  if (!assertion)
    throw connectionError("tokenFile", `The workload identity token file ${file} is empty: check that the platform writes the federated token there`);
  return assertion;
}
