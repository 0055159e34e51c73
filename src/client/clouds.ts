/** Where an app signs in, per Microsoft cloud. */
import { connectionError } from "./errors";

export const CLOUDS = ["public", "gcc", "gcchigh", "dod", "china", "custom", "adfs"] as const;
export type Cloud = (typeof CLOUDS)[number];

const AUTHORITY_HOSTS: Record<Exclude<Cloud, "custom" | "adfs">, string> = {
  public: "login.microsoftonline.com",
  gcc: "login.microsoftonline.com",
  gcchigh: "login.microsoftonline.us",
  dod: "login.microsoftonline.us",
  china: "login.chinacloudapi.cn",
};

export interface Authority {
  /** e.g. https://login.microsoftonline.com/<tenant> */
  authority: string;
  /** host[:port], for messages */
  host: string;
  /** Hosts msal may trust without asking the public cloud's instance discovery. */
  knownAuthorities: string[];
}

const TENANT = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+)$/;

export function checkTenant(value: unknown): string {
  const tenant = typeof value === "string" ? value.trim() : "";
  if (!tenant) throw connectionError("tenant", "The connection has no tenant: set the Directory (tenant) ID from the app registration's Overview page");
  if (["common", "organizations", "consumers"].includes(tenant.toLowerCase())) {
    throw connectionError(
      "tenant",
      `Tenant '${tenant}' cannot be used for app sign-in: set your Directory (tenant) ID or domain, like contoso.onmicrosoft.com`,
    );
  }
  if (!TENANT.test(tenant)) {
    throw connectionError("tenant", `Tenant '${tenant}' is neither a Directory (tenant) ID (a GUID) nor a domain like contoso.onmicrosoft.com`);
  }
  return tenant;
}

export function cloudOf(cloudSetting: unknown): Cloud {
  const cloud = (typeof cloudSetting === "string" && cloudSetting.trim() ? cloudSetting.trim() : "public") as Cloud;
  if (!CLOUDS.includes(cloud)) {
    throw connectionError("cloud", `Unknown cloud '${cloud}': use one of ${CLOUDS.join(", ")}`);
  }
  return cloud;
}

export function resolveAuthority(cloudSetting: unknown, tenant: string, customAuthority: unknown): Authority {
  const cloud = cloudOf(cloudSetting);
  if (cloud === "adfs") return adfsAuthority(customAuthority);
  if (cloud !== "custom") {
    const host = AUTHORITY_HOSTS[cloud];
    return { authority: `https://${host}/${tenant}`, host, knownAuthorities: [host] };
  }
  const raw = typeof customAuthority === "string" ? customAuthority.trim() : "";
  if (!raw) throw connectionError("authority", "The cloud is Custom but no authority host is set: enter the sign-in host, like login.example.com");
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw connectionError("authority", `The authority '${raw}' is not a host name or https URL`);
  }
  if (url.protocol !== "https:") throw connectionError("authority", `The authority must use https (sign-in never goes over plain http), got '${raw}'`);
  const prefix = url.pathname.replace(/\/+$/, "");
  return { authority: `https://${url.host}${prefix}/${tenant}`, host: url.host, knownAuthorities: [url.host] };
}

/**
 * On-premises AD FS (cloud adfs): the authority is the AD FS service URL, https://adfs.contoso.com/adfs,
 * with no tenant. msal-node knows AD FS by the path /adfs and reads <authority>/.well-known/openid-configuration.
 */
export function adfsAuthority(value: unknown): Authority {
  const raw = typeof value === "string" ? value.trim() : "";
  const example = "like https://adfs.contoso.com/adfs";
  if (!raw) throw connectionError("authority", `The cloud is AD FS but no AD FS URL is set: enter your AD FS service URL, ${example}`);
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw connectionError("authority", `The AD FS URL '${raw}' is not a URL ${example}`);
  }
  if (url.protocol !== "https:") throw connectionError("authority", `The AD FS URL must use https, ${example}; got '${raw}'`);
  if (url.pathname.replace(/\/+$/, "").toLowerCase() !== "/adfs" || url.search || url.hash) {
    throw connectionError("authority", `The AD FS URL must be the AD FS host followed by /adfs, ${example}; got '${raw}'`);
  }
  return { authority: `https://${url.host}/adfs`, host: url.host, knownAuthorities: [url.host] };
}
