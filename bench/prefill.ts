/**
 * Fills the emulator's service protection windows before a sustained scenario's timed phase, as a
 * client writing at the ceiling for the five minutes before would have: a steady stream of WhoAmI
 * requests spread evenly over one window, each carrying the modelled execution time of one request of
 * that client (rowCostMs is raised for the stream, then put back). Then
 * the timed phase starts with full windows that free up at the ceiling's pace, as in a steady state,
 * instead of with an empty window whose whole budget a short run could spend at once.
 *
 * The benchmark's parent process sends the stream, with its own token (one token request, which the
 * scenario leaves out of its count) and its own keep-alive agent, while the measured process waits
 * between its warm-up and its timed phase.
 */
import https from "node:https";
import { sleep, type ControlClient, type ScenarioSpec } from "./common";

export async function prefillWindow(spec: ScenarioSpec, control: ControlClient): Promise<{ throttled: number }> {
  const prefill = spec.prefill!;
  const emu = spec.emulator;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: emu.caPem });
  const call = (method: string, url: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(url, { method, agent, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: emu.clientId,
    client_secret: emu.clientSecret,
    scope: `${emu.dataverseUrl}/.default`,
  }).toString();
  const tokenAnswer = await call(
    "POST",
    `https://${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`,
    { "Content-Type": "application/x-www-form-urlencoded" },
    form,
  );
  const token = (JSON.parse(tokenAnswer.text) as { access_token?: string }).access_token;
  if (!token) throw new Error(`prefill: no token (HTTP ${tokenAnswer.status})`);

  const config = await control.config();
  await control.setConfig({ rowCostMs: Math.max(0, prefill.costMs - config.requestCostMs) });
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0" };
  const url = `${emu.dataverseUrl}/api/data/v9.2/WhoAmI`;
  const t0 = performance.now();
  const pending: Array<Promise<unknown>> = [];
  let throttled = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  try {
    for (let i = 0; i < prefill.requests; i++) {
      const due = t0 + ((i + 0.5) * prefill.spreadMs) / prefill.requests;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(
        call("GET", url, headers).then((res) => {
          // A 429 means the window is full already (the warm-up's last requests are still in it): fine.
          if (res.status === 429) throttled++;
          else if (res.status !== 200) {
            failed++;
            firstFailure ??= `HTTP ${res.status} ${res.text.slice(0, 300)}`;
          }
        }),
      );
    }
    await Promise.all(pending);
    // Until the window has passed since the stream began, so it holds the whole stream and nothing older.
    const left = t0 + prefill.spreadMs - performance.now();
    if (left > 0) await sleep(left);
  } finally {
    await control.setConfig({ rowCostMs: config.rowCostMs });
    agent.destroy();
  }
  if (failed > 0) throw new Error(`prefill: ${failed} of ${prefill.requests} requests failed, the first: ${firstFailure}`);
  return { throttled };
}
