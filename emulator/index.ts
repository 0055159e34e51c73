// Local emulator of the Microsoft Entra ID token endpoint and the Dataverse Web API v9.2, for the
// integration tests, the benchmark, and `npm start` without a tenant.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import forge from "node-forge";
import { controlHttpHandler, createControl, type EmulatorControl } from "./control";
import { EmulatorCore } from "./core";
import { dataverseSite } from "./dataverse";
import {
  CLIENT_ID,
  CLIENT_SECRET,
  EXPIRED_SECRET_CLIENT_ID,
  EXPIRED_SECRET_CLIENT_SECRET,
  NO_APP_USER_CLIENT_ID,
  NO_APP_USER_CLIENT_SECRET,
  TENANT_ID,
} from "./identities";
import { loginSite } from "./login";
import { createHttpsServer, listen, pipeline } from "./server";
import { CA_COMMON_NAME, issueServerCertificate, loadOrCreateCa } from "./tls";

export type { EmulatorControl } from "./control";
export type { EmulatorConfig } from "./config";
export type { FaultRule, FaultRuleState, FaultAction } from "./faults";
export type { EmulatorStats, RequestLogEntry, ServerName } from "./requestlog";
export type { WebServerStats } from "./webservers";
export { SEED_IDS } from "./seed";

export interface EmulatorOptions {
  /** Interface to listen on (default "127.0.0.1"). */
  host?: string;
  /** Default 0 = ephemeral. */
  dataversePort?: number;
  /** Default 0 = ephemeral. */
  loginPort?: number;
  /** Folder holding ca.pem + ca-key.pem; created there if missing. Default: a fresh temp folder. */
  caDir?: string;
  /** No console output (the library itself never logs; kept for callers that pass it along). */
  quiet?: boolean;
}

// A type alias (not an interface) so it can be passed where a Record<string, string> is expected.
export type AppCredentials = { clientId: string; clientSecret: string };

export interface RunningEmulator {
  /** The Dataverse environment URL, `https://127.0.0.1:<port>` (no trailing slash). */
  dataverseUrl: string;
  /** Entra ID host `127.0.0.1:<loginPort>` (cloud "custom"). */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  apps: { expiredSecret: AppCredentials; noApplicationUser: AppCredentials };
  /** PEM file holding only the emulator CA certificate. */
  caPath: string;
  caPem: string;
  control: EmulatorControl;
  /** Closes both servers, cutting open connections (hung requests included), and clears all timers. */
  close(): Promise<void>;
}

/** URL host for a listening address: wildcard addresses are reached through loopback. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const ownCaDir = options.caDir === undefined;
  const caDir = options.caDir ?? mkdtempSync(join(tmpdir(), "dataverse-emulator-"));
  const ca = await loadOrCreateCa(caDir);
  const cert = issueServerCertificate(ca, host);

  const core = new EmulatorCore();
  const control = createControl(core);
  const deps = { log: core.log, stats: core.stats, faults: core.faults, timers: core.timers };
  const tls = { key: cert.keyPem, cert: cert.certPem };
  const dataverse = createHttpsServer(tls, pipeline(dataverseSite(core, controlHttpHandler(control)), deps));
  const login = createHttpsServer(tls, pipeline(loginSite(core), deps));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      core.timers.close();
      await Promise.all([dataverse.close(), login.close()]);
      if (ownCaDir) rmSync(caDir, { recursive: true, force: true });
    })());

  try {
    const dataversePort = await listen(dataverse.server, options.dataversePort ?? 0, host);
    const loginPort = await listen(login.server, options.loginPort ?? 0, host);
    core.dataverseUrl = `https://${urlHost(host)}:${dataversePort}`;
    core.authorityHost = `${urlHost(host)}:${loginPort}`;
  } catch (e) {
    await close();
    throw e;
  }

  return {
    dataverseUrl: core.dataverseUrl,
    authorityHost: core.authorityHost,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    apps: {
      expiredSecret: { clientId: EXPIRED_SECRET_CLIENT_ID, clientSecret: EXPIRED_SECRET_CLIENT_SECRET },
      noApplicationUser: { clientId: NO_APP_USER_CLIENT_ID, clientSecret: NO_APP_USER_CLIENT_SECRET },
    },
    caPath: ca.certPath,
    caPem: ca.certPem,
    control,
    close,
  };
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** True for a certificate of an emulator CA (this run's or an older, regenerated one). */
function isEmulatorCa(pem: string): boolean {
  try {
    return forge.pki.certificateFromPem(pem).subject.getField("CN")?.value === CA_COMMON_NAME;
  } catch {
    return false;
  }
}

/**
 * Writes the PEM bundle to pass as NODE_EXTRA_CA_CERTS: the certificates of the current
 * NODE_EXTRA_CA_CERTS file (if any, minus emulator CAs from earlier runs, so the file does not grow
 * when the variable already points at a bundle) followed by the emulator CA. Returns outPath.
 */
export function writeTrustBundle(caPem: string, outPath: string): string {
  const parts: string[] = [];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra && existsSync(extra)) {
    try {
      for (const pem of readFileSync(extra, "utf8").match(PEM_CERT_RE) ?? []) {
        if (!isEmulatorCa(pem) && !parts.includes(pem)) parts.push(pem);
      }
    } catch {
      // unreadable: the bundle then holds the emulator CA only, next to Node's built-in roots
    }
  }
  parts.push(caPem.trim());
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${parts.join("\n")}\n`);
  return outPath;
}

/** The environment variables a user sets to point the nodes (or scripts) at this emulator. */
export function emulatorEnv(e: RunningEmulator, bundlePath: string): Record<string, string> {
  return {
    DATAVERSE_URL: e.dataverseUrl,
    DATAVERSE_CLOUD: "custom",
    DATAVERSE_AUTHORITY: `https://${e.authorityHost}`,
    DATAVERSE_TENANT: e.tenantId,
    DATAVERSE_CLIENT_ID: e.clientId,
    DATAVERSE_CLIENT_SECRET: e.clientSecret,
    NODE_EXTRA_CA_CERTS: bundlePath,
  };
}
