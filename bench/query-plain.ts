/**
 * The floor of the query scenarios: a plain script with no Node-RED, reading the whole table with
 * axios on a keep-alive agent and one msal-node token, one page after the other, following
 * @odata.nextLink with the same headers (Prefer: odata.maxpagesize) as the package sends.
 */
import https from "node:https";
import { ConfidentialClientApplication, LogLevel } from "@azure/msal-node";
import axios from "axios";
import { controlClient, maxRssMb, QUERY_PAGE_SIZE, QUERY_TABLE, round, startTimedPhase, type ScenarioResult, type ScenarioSpec } from "./common";

export async function runQueryPlain(spec: ScenarioSpec): Promise<ScenarioResult> {
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
  const http = axios.create({ httpsAgent: agent, proxy: false, maxRedirects: 0, timeout: 60_000 });
  const headers = {
    Accept: "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    Authorization: `Bearer ${token}`,
    Prefer: `odata.maxpagesize=${QUERY_PAGE_SIZE}`,
  };

  /** Every row of the table, page by page; returns how many. */
  const readAll = async (): Promise<number> => {
    let rows = 0;
    let url: string | undefined = `${emu.dataverseUrl}/api/data/v9.2/${QUERY_TABLE}`;
    while (url) {
      const res: { data: { value: unknown[]; "@odata.nextLink"?: string } } = await http.get(url, { headers });
      rows += res.data.value.length;
      url = res.data["@odata.nextLink"];
    }
    return rows;
  };

  let errors = 0;
  let firstError: string | undefined;
  const read = () =>
    readAll().catch((err: unknown) => {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
      return 0;
    });

  await read();
  const warm = await control.stats();
  await control.resetStats();
  errors = 0;
  const reads = spec.reads ?? 1;
  const endPhase = await startTimedPhase(`${spec.scenario}-${spec.latencyMs}ms`);
  const started = performance.now();
  let rowsRead = 0;
  for (let i = 0; i < reads; i++) rowsRead += await read();
  const seconds = (performance.now() - started) / 1000;
  const { cpuPercent } = await endPhase();
  const stats = await control.stats();
  agent.destroy();
  return {
    scenario: spec.scenario,
    latencyMs: spec.latencyMs,
    messages: reads * (spec.tableRows ?? 0),
    warmup: spec.tableRows ?? 0,
    ok: reads - errors,
    errors,
    seconds: round(seconds, 3),
    rate: round(rowsRead / seconds),
    rowsRead,
    tokenRequests: warm.tokenRequests + stats.tokenRequests,
    dataverseRequests: stats.dataverseRequests,
    peakConcurrency: stats.peakConcurrency,
    peakRssMb: maxRssMb(),
    cpuPercent,
    ...(firstError ? { firstError } : {}),
  };
}
