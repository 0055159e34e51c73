/** The sign-in types a connection's authType can name. */
import { connectionError } from "../errors";
import { certificate } from "./certificate";
import { managedIdentity } from "./managed-identity";
import { secret } from "./secret";
import { workloadIdentity } from "./workload-identity";
import type { SignInMethod, SignInSettings } from "./types";

const METHODS: Record<string, SignInMethod> = { secret, certificate, managedIdentity, workloadIdentity };

export const AUTH_TYPES = Object.keys(METHODS);

export function signInMethod(settings: SignInSettings): SignInMethod {
  const authType = settings.authType?.trim() || "secret";
  const method = Object.hasOwn(METHODS, authType) ? METHODS[authType] : undefined;
  if (!method) throw connectionError("authType", `Authentication type '${authType}' is not supported; use one of ${AUTH_TYPES.join(", ")}`);
  return method;
}

export type { Credential, SignInMethod, SignInSettings } from "./types";
