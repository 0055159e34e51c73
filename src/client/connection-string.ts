/**
 * .NET (XRM tooling / ServiceClient) connection strings, such as
 * `AuthType=ClientSecret;Url=https://contoso.crm.dynamics.com;ClientId=…;ClientSecret=…`, read into the
 * connection's settings. One module for the runtime and the editor: the build also writes it as
 * resources/dataverse-connection-string.js (window.DataverseConnectionString), so it imports nothing.
 *
 * Grammar as .NET's DbConnectionStringBuilder reads it: `key=value` pairs separated by `;`, keys in any
 * case with spaces around them ignored, values optionally quoted with '…' or "…" (the quote doubled
 * inside), a later key replacing an earlier one. Errors never repeat a value: it may be a secret.
 */

/** What a connection string says, by the connection's own names. */
export interface ConnectionStringValues {
  authType: "secret" | "certificate";
  url?: string;
  clientId?: string;
  clientSecret?: string;
  tenant?: string;
  /** From the authority's host: public, gcchigh, china, adfs or custom. */
  cloud?: string;
  authority?: string;
  /** AuthType=Certificate names a certificate in the Windows certificate store, which Node.js cannot read. */
  thumbprint?: string;
}

export class ConnectionStringError extends Error {
  override name = "ConnectionStringError";
}

/** Every spelling of a key (lower case, without spaces), by what it means. */
const KEYS: Record<string, string> = {
  authtype: "authType",
  authenticationtype: "authType",
  url: "url",
  serviceuri: "url",
  server: "url",
  clientid: "clientId",
  appid: "clientId",
  applicationid: "clientId",
  clientsecret: "clientSecret",
  secret: "clientSecret",
  thumbprint: "thumbprint",
  certthumbprint: "thumbprint",
  certificatethumbprint: "thumbprint",
  tenantid: "tenant",
  tenant: "tenant",
  authority: "authority",
  username: "userName",
  userid: "userName",
  password: "password",
};

/** Why the AuthTypes that sign in as a person (or as Windows) cannot be used by a Node-RED connection. */
const UNUSABLE: Record<string, string> = {
  oauth:
    "AuthType=OAuth signs in as a person (a user name and password, or a sign-in window); this connection signs in as an app: use AuthType=ClientSecret or AuthType=Certificate with an app registration",
  office365:
    "AuthType=Office365 signs in as a person with a user name and password, which Microsoft has retired; use AuthType=ClientSecret or AuthType=Certificate with an app registration",
  ad: "AuthType=AD signs in with the Windows account (Active Directory) the program runs as, which Node.js cannot do; on-premises, use an AD FS application with a client secret or certificate (cloud: On-premises (AD FS))",
  ifd: "AuthType=IFD signs in as a person with a user name and password through AD FS; use an AD FS server application with a client secret or certificate instead (cloud: On-premises (AD FS))",
};

const AUTH_TYPES: Record<string, ConnectionStringValues["authType"]> = { clientsecret: "secret", certificate: "certificate" };

/** The key=value pairs, keys as written (trimmed); throws on a broken grammar. */
export function connectionStringPairs(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let at = 0;
  while (at < text.length) {
    const equals = findEquals(text, at);
    if (equals === -1) {
      if (text.slice(at).replace(/;/g, "").trim() !== "") throw new ConnectionStringError(`part ${pairs.length + 1} has no '=': write it as Key=Value`);
      break;
    }
    const key = text
      .slice(at, equals)
      .replace(/==/g, "=")
      .replace(/^[\s;]+/, "")
      .trim();
    if (key.includes(";") || key === "") throw new ConnectionStringError(`part ${pairs.length + 1} has no key before '=': write it as Key=Value`);
    const value = readValue(text, equals + 1, pairs.length + 1);
    pairs.push([key, value.value]);
    at = value.end;
  }
  return pairs;
}

/** The first '=' from `from` that is not doubled ('==' is an '=' inside a key). */
function findEquals(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] !== "=") continue;
    if (text[i + 1] === "=") i++;
    else return i;
  }
  return -1;
}

/** A value from `start` up to its ';' (or the end): plain and trimmed, or quoted. */
function readValue(text: string, start: number, part: number): { value: string; end: number } {
  let at = start;
  while (at < text.length && /\s/.test(text[at])) at++;
  const quote = text[at];
  if (quote !== '"' && quote !== "'") {
    const end = text.indexOf(";", at);
    const stop = end === -1 ? text.length : end;
    return { value: text.slice(at, stop).trim(), end: stop + 1 };
  }
  let value = "";
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] !== quote) {
      value += text[i];
      continue;
    }
    if (text[i + 1] === quote) {
      value += quote;
      i++;
      continue;
    }
    const rest = text.indexOf(";", i + 1);
    const stop = rest === -1 ? text.length : rest;
    if (text.slice(i + 1, stop).trim() !== "") throw new ConnectionStringError(`part ${part} has text after its closing quote`);
    return { value, end: stop + 1 };
  }
  throw new ConnectionStringError(`part ${part} opens a quote (${quote}) that is never closed`);
}

/** The connection's settings from a connection string; throws ConnectionStringError with the reason. */
export function parseConnectionString(text: string): ConnectionStringValues {
  if (/^\s*\$\{[^}]*\}\s*$/.test(text)) {
    throw new ConnectionStringError(`it is the environment variable ${text.trim()}, which is not set`);
  }
  const said: Record<string, string> = {};
  for (const [key, value] of connectionStringPairs(text)) {
    const name = KEYS[key.replace(/\s+/g, "").toLowerCase()];
    if (name) said[name] = value;
  }
  const authType = authTypeOf(said);
  const values: ConnectionStringValues = { authType };
  if (said.url) values.url = said.url.replace(/\/+$/, "");
  if (said.clientId) values.clientId = said.clientId;
  if (authType === "secret" && said.clientSecret) values.clientSecret = said.clientSecret;
  if (authType === "certificate" && said.thumbprint) values.thumbprint = said.thumbprint;
  Object.assign(values, said.authority ? fromAuthority(said.authority) : {});
  if (said.tenant) values.tenant = said.tenant;
  return values;
}

function authTypeOf(said: Record<string, string>): ConnectionStringValues["authType"] {
  const written = (said.authType ?? "").trim();
  if (!written) throw new ConnectionStringError("it has no AuthType: add AuthType=ClientSecret or AuthType=Certificate");
  const key = written.toLowerCase();
  if (Object.hasOwn(AUTH_TYPES, key)) return AUTH_TYPES[key];
  if (Object.hasOwn(UNUSABLE, key)) throw new ConnectionStringError(UNUSABLE[key]);
  throw new ConnectionStringError("its AuthType is not one this connection knows: use AuthType=ClientSecret or AuthType=Certificate");
}

const ENTRA_HOSTS: Record<string, string> = {
  "login.microsoftonline.com": "public",
  "login.windows.net": "public",
  "login.microsoftonline.us": "gcchigh",
  "login.chinacloudapi.cn": "china",
};

/** Tenant, cloud and authority from an authority URL such as https://login.microsoftonline.com/<tenant>. */
function fromAuthority(authority: string): Partial<ConnectionStringValues> {
  const match = /^(https?:\/\/)?([^/?#\s]+)(\/[^?#\s]*)?/i.exec(authority.trim());
  if (!match) throw new ConnectionStringError("its Authority is not a URL like https://login.microsoftonline.com/<tenant ID>");
  const host = match[2].toLowerCase();
  const segments = (match[3] ?? "").split("/").filter(Boolean);
  if (segments[segments.length - 1]?.toLowerCase() === "adfs") return { cloud: "adfs", authority: `https://${match[2]}${match[3].replace(/\/+$/, "")}` };
  const tenant = segments.length ? { tenant: segments[segments.length - 1] } : {};
  if (Object.hasOwn(ENTRA_HOSTS, host)) return { ...tenant, cloud: ENTRA_HOSTS[host] };
  const prefix = segments.slice(0, -1).join("/");
  return { ...tenant, cloud: "custom", authority: `https://${match[2]}${prefix ? `/${prefix}` : ""}` };
}
