/** A connection's `connectionString` at runtime: its values fill the settings left empty. */
import { ConnectionStringError, parseConnectionString, type ConnectionStringValues } from "./connection-string";
import { connectionError } from "./errors";
import type { SignInSettings } from "./signin";

const LABELS: Record<ConnectionStringValues["authType"], string> = { secret: "ClientSecret", certificate: "Certificate" };

export function withConnectionString<T extends SignInSettings & { connectionString?: string }>(settings: T): T {
  if (!settings.connectionString?.trim()) return settings;
  const values = parsed(settings.connectionString);
  const authType = settings.authType?.trim();
  if (authType && authType !== values.authType) {
    throw connectionError(
      "connectionString",
      `The connection string says AuthType=${LABELS[values.authType]}, but the connection signs in with '${authType}': choose the same in Sign in with, or clear one of them`,
    );
  }
  if (values.thumbprint && !settings.certificate && !settings.pfx) {
    throw connectionError(
      "connectionString",
      "The connection string names a certificate by its thumbprint, which only works with the Windows certificate store: set the certificate and private key (PEM), or a PFX, in the connection",
    );
  }
  const filled: T = { ...settings, authType: values.authType };
  for (const name of ["url", "tenant", "clientId", "clientSecret", "authority"] as const) {
    if (!filled[name]?.trim() && values[name]) filled[name] = values[name];
  }
  // public is the dialog's default: an authority in the string that names another cloud wins over it
  if (values.cloud && (!filled.cloud?.trim() || filled.cloud === "public")) filled.cloud = values.cloud;
  return filled;
}

function parsed(text: string): ConnectionStringValues {
  try {
    return parseConnectionString(text);
  } catch (err) {
    if (!(err instanceof ConnectionStringError)) throw err;
    throw connectionError("connectionString", `The connection string cannot be used: ${err.message}`);
  }
}
