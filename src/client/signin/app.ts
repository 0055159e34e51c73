/** What the app-registration sign-in types (secret, certificate, workload identity) share. */
import { LogLevel, type INetworkModule, type NodeSystemOptions } from "@azure/msal-node";
import { checkTenant, cloudOf, resolveAuthority, type Authority } from "../clouds";
import { connectionError, type SignInContext } from "../errors";
import { isGuid } from "../validate";
import type { SignInSettings } from "./types";

export function checkClientId(value: unknown): string {
  const clientId = typeof value === "string" ? value.trim() : "";
  if (!clientId)
    throw connectionError("clientId", "The connection has no client ID: set the Application (client) ID from the app registration's Overview page");
  if (!isGuid(clientId)) throw connectionError("clientId", "The client ID must be the app registration's Application (client) ID, a GUID");
  return clientId;
}

/** The authority an app signs in at, and the context its errors are told in. */
export function appAuthority(settings: SignInSettings, environmentUrl = settings.url ?? ""): { authority: Authority; signIn: SignInContext } {
  // AD FS has no tenants: its URL is the whole authority.
  const tenant = cloudOf(settings.cloud) === "adfs" ? "adfs" : checkTenant(settings.tenant);
  const authority = resolveAuthority(settings.cloud, tenant, settings.authority);
  const clientId = (settings.clientId ?? "").trim();
  return { authority, signIn: { clientId, tenant, url: environmentUrl, authorityHost: authority.host } };
}

/** msal-node on our transport; its log lines can include request details, so they never reach Node-RED's log. */
export function msalSystem(networkClient: INetworkModule): NodeSystemOptions {
  return { networkClient, loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined } };
}
