/**
 * The cost floor: a plain script with no Node-RED, no scheduler and no checks. One token from a real
 * msal-node ConfidentialClientApplication, then creates with axios on a keep-alive agent, a pool of
 * `concurrency` workers, the same headers and body shape the package's client sends (including the
 * client-chosen primary id that makes its creates safe to retry). "plain-https" sends the same
 * requests with node:https instead of axios: what the HTTP library itself costs.
 */
import { randomUUID } from "node:crypto";
import https from "node:https";
import { ConfidentialClientApplication, LogLevel } from "@azure/msal-node";
import axios from "axios";
import { accountRow, controlClient, maxRssMb, startTimedPhase, round, type ScenarioResult, type ScenarioSpec } from "./common";

export async function runPlain(spec: ScenarioSpec): Promise<ScenarioResult> {
  const emu = spec.emulator;
  const control = controlClient(emu.dataverseUrl, emu.caPem);
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId: emu.clientId,
      clientSecret: emu.clientSecret,
      authority: `https://${emu.authorityHost}/${emu.tenantId}`,
      knownAuthorities: [emu.authorityHost],
    },
    system: { loggerOptions: { logLevel: LogLevel.Error, loggerCallback: () => undefined } },
  });
  const token = (await cca.acquireTokenByClientCredential({ scopes: [`${emu.dataverseUrl}/.default`] }))?.accessToken;
  if (!token) throw new Error("no access token");

  const agent = new https.Agent({ keepAlive: true });
  const http = axios.create({ httpsAgent: agent, proxy: false, validateStatus: () => true, maxRedirects: 0, timeout: 60_000 });
  const url = `${emu.dataverseUrl}/api/data/v9.2/accounts`;
  const post =
    spec.scenario === "plain-https"
      ? (data: string, headers: Record<string, string>) =>
          new Promise<{ status: number; data: unknown }>((resolve, reject) => {
            const req = https.request(
              url,
              { method: "POST", agent, timeout: 60_000, headers: { ...headers, "Content-Length": String(Buffer.byteLength(data)) } },
              (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => (text += chunk));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, data: text ? JSON.parse(text) : text }));
                res.on("error", reject);
              },
            );
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", reject);
            req.end(data);
          })
      : (data: string, headers: Record<string, string>) => http.request({ method: "POST", url, headers, data, responseType: "json" });
  const headers = {
    Accept: "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    Authorization: `Bearer ${token}`,
    "Content-Type": "application/json; charset=utf-8",
  };

  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const createAll = async (from: number, count: number) => {
    let next = from;
    const end = from + count;
    const worker = async () => {
      while (next < end) {
        const i = next++;
        try {
          const res = await post(JSON.stringify({ ...accountRow(i), accountid: randomUUID() }), headers);
          if (res.status === 204) ok++;
          else {
            errors++;
            firstError ??= `HTTP ${res.status} ${JSON.stringify(res.data).slice(0, 200)}`;
          }
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  };

  await createAll(0, spec.warmup);
  const warm = await control.stats();
  await control.resetStats();
  ok = 0;
  errors = 0;
  const endPhase = await startTimedPhase(`${spec.scenario}-${spec.latencyMs}ms`);
  const started = performance.now();
  await createAll(spec.warmup, spec.messages);
  const seconds = (performance.now() - started) / 1000;
  const { cpuPercent } = await endPhase();
  const stats = await control.stats();
  agent.destroy();
  return {
    scenario: spec.scenario,
    latencyMs: spec.latencyMs,
    messages: spec.messages,
    warmup: spec.warmup,
    ok,
    errors,
    seconds: round(seconds, 3),
    rate: round(ok / seconds),
    tokenRequests: warm.tokenRequests + stats.tokenRequests,
    dataverseRequests: stats.dataverseRequests,
    peakConcurrency: stats.peakConcurrency,
    peakRssMb: maxRssMb(),
    cpuPercent,
    ...(firstError ? { firstError } : {}),
  };
}
