/**
 * authType managedIdentity: the identity Azure gives the resource Node-RED runs in (App Service,
 * Container Apps, Functions, VMs, Arc), through msal-node's ManagedIdentityApplication, which finds the
 * endpoint from the host's environment variables. No tenant and no secret: system-assigned when the
 * client ID is empty, else the user-assigned identity with that client ID.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ManagedIdentityApplication, type INetworkModule, type NetworkResponse } from "@azure/msal-node";
import { connectionError, DataverseError, fromSignInError, type SignInContext } from "../errors";
import { isGuid } from "../validate";
import { msalSystem } from "./app";
import { orNoToken } from "./secret";
import type { SignInMethod, SignInSettings } from "./types";

export const managedIdentity: SignInMethod = {
  check(settings) {
    userAssignedClientId(settings);
  },
  create(settings, parts) {
    const clientId = userAssignedClientId(settings);
    const app = new ManagedIdentityApplication({
      ...(clientId ? { managedIdentityIdParams: { userAssignedClientId: clientId } } : {}),
      system: msalSystem(forwardingNetworkClient),
    });
    const signIn: SignInContext = { clientId, tenant: "the identity's tenant", url: parts.environmentUrl, authorityHost: "the managed identity endpoint" };
    return {
      signIn,
      async acquire() {
        const seen: WireFacts = {};
        try {
          // forceRefresh: our TokenProvider decides when a token is needed; msal's shared cache must not answer.
          const result = await currentNetwork.run(watched(parts.networkClient, seen), () =>
            app.acquireToken({ resource: parts.environmentUrl, forceRefresh: true }),
          );
          return orNoToken(result);
        } catch (err) {
          throw managedIdentityError(err, signIn, seen);
        }
      },
    };
  },
};

function userAssignedClientId(settings: SignInSettings): string {
  const clientId = (settings.clientId ?? "").trim();
  if (clientId && !isGuid(clientId)) {
    throw connectionError(
      "clientId",
      "For a user-assigned managed identity the client ID must be the identity's Client ID (a GUID, on its Overview page); leave it empty for the system-assigned identity",
    );
  }
  return clientId;
}

/**
 * msal-node picks the managed identity source, with the network client of the first application that
 * asks, once per process. So every application gets this one client, which sends through the network
 * client of the connection whose token request is running (its transport, TLS and proxy settings).
 */
const currentNetwork = new AsyncLocalStorage<INetworkModule>();
const forwardingNetworkClient: INetworkModule = {
  sendGetRequestAsync: (url, options, timeout) => activeNetwork().sendGetRequestAsync(url, options, timeout),
  sendPostRequestAsync: (url, options) => activeNetwork().sendPostRequestAsync(url, options),
};

function activeNetwork(): INetworkModule {
  const network = currentNetwork.getStore();
  if (!network) throw new Error("managed identity request outside a connection's token request");
  return network;
}

/** What the wire showed during one token request: msal reduces both to generic codes. */
interface WireFacts {
  transportError?: { code?: string; message?: string };
  errorBody?: unknown;
}

function watched(network: INetworkModule, seen: WireFacts): INetworkModule {
  const observe = async <T>(send: () => Promise<NetworkResponse<T>>): Promise<NetworkResponse<T>> => {
    try {
      const response = await send();
      if (response.status >= 400) seen.errorBody = response.body;
      return response;
    } catch (err) {
      seen.transportError = err as WireFacts["transportError"];
      throw err;
    }
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => observe(() => network.sendGetRequestAsync(url, options, timeout)),
    sendPostRequestAsync: (url, options) => observe(() => network.sendPostRequestAsync(url, options)),
  };
}

/** msal-node error codes meaning there is no managed identity endpoint here, or it cannot be reached. */
const UNAVAILABLE_CODES = new Set(["unable_to_create_source", "network_error", "network_unavailable", "platform_not_supported"]);

const WHERE_IT_WORKS =
  "Managed identity works only inside Azure (App Service, Container Apps, Functions, virtual machines) or on an Arc-enabled server, with the identity turned on for that resource; elsewhere use a client secret or certificate";

function managedIdentityError(err: unknown, signIn: SignInContext, seen: WireFacts): DataverseError {
  const e = (err ?? {}) as { errorCode?: string; errorMessage?: string; message?: string };
  const code = e.errorCode ?? "";
  if (seen.transportError || UNAVAILABLE_CODES.has(code) || code.endsWith("_url_malformed")) {
    const why = seen.transportError ? (seen.transportError.code ?? seen.transportError.message ?? "no answer") : code;
    return new DataverseError({
      message: `Managed identity is not available on this host (${why}). ${WHERE_IT_WORKS}`,
      code: "ManagedIdentityUnavailable",
      retryable: seen.transportError?.code === "ETIMEDOUT" || seen.transportError?.code === "ECONNRESET",
    });
  }
  const answered = endpointMessage(seen.errorBody) || e.errorMessage || "";
  if (/AADSTS500011/.test(answered)) {
    return new DataverseError({
      message: `Sign-in failed: the environment ${signIn.url} was not found in the managed identity's tenant. Check the environment URL (for example https://yourorg.crm.dynamics.com) and that the environment belongs to that tenant (AADSTS500011)`,
      code: "AADSTS500011",
    });
  }
  if (/proper managed identity|identity not found|no managed identity|not assigned/i.test(answered)) {
    const message = signIn.clientId
      ? `Managed identity with client ID ${signIn.clientId} is not assigned to this host: add the user-assigned identity to the App Service, Container App or VM Node-RED runs in (Identity > User assigned), or clear the client ID to use the system-assigned identity`
      : "This host has no system-assigned managed identity: turn it on (Identity > System assigned > On) for the App Service, Container App or VM Node-RED runs in, or set the client ID of a user-assigned identity";
    return new DataverseError({ message: `${message} (${answered})`, code: "ManagedIdentityNotAssigned" });
  }
  return fromSignInError(err, signIn);
}

/** The App Service / Arc / IMDS endpoints answer errors as {statusCode, message} or {error, error_description}. */
function endpointMessage(body: unknown): string {
  const b = (body ?? {}) as { message?: unknown; error_description?: unknown };
  if (typeof b.message === "string") return b.message;
  return typeof b.error_description === "string" ? b.error_description : "";
}
