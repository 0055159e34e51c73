/**
 * The one way a request reaches Dataverse: through the connection's scheduler, with a token, over the
 * transport, its answer classified (classify.ts) and turned into a result or a DataverseError.
 */
import type { AxiosResponse } from "axios";
import { classify } from "./classify";
import { asDataverseError, DataverseError, ErrorCodes, fromDataverseResponse, fromNetworkError, outcomeUnknown } from "./errors";
import { JSON_CONTENT_TYPE, ODATA_HEADERS, retryAfterSeconds } from "./odata";
import type { ApiRequest, ApiResponse } from "./request";
import type { AttemptOutcome, RequestScheduler } from "./scheduler";
import type { TokenProvider } from "./tokens";
import { flattenHeaders, type Transport } from "./transport";

export interface PipelineOptions {
  apiBase: string;
  clientId: string;
  timeoutMs: number;
  transport: Transport;
  tokens: TokenProvider;
  scheduler: RequestScheduler;
}

export class RequestPipeline {
  private readonly host: string;

  constructor(private readonly options: PipelineOptions) {
    this.host = new URL(options.apiBase).host;
  }

  /** Resolves with a 2xx answer, or rejects with a DataverseError a flow builder can act on. */
  send(req: ApiRequest, signal?: AbortSignal): Promise<ApiResponse> {
    let lostAnswer = false; // an earlier attempt may have reached Dataverse without us seeing the answer
    const { scheduler, tokens } = this.options;
    return scheduler.run<ApiResponse>(
      async (abort): Promise<AttemptOutcome<ApiResponse>> => {
        let token: string;
        try {
          token = await tokens.getToken();
        } catch (err) {
          const error = asDataverseError(err);
          if (error.retryable) return { transient: error };
          throw error;
        }
        let res: ApiResponse;
        try {
          res = await this.exchange(req, token, abort);
          if (res.status === 401) {
            // The token was revoked or expired early: one new token, one more try.
            tokens.invalidate(token);
            token = await tokens.getToken();
            res = await this.exchange(req, token, abort);
          }
        } catch (err) {
          const error = asDataverseError(err);
          const verdict = classify({ networkCode: error.code, retryable: error.retryable }, req.idempotent);
          if (verdict.kind === "ambiguous") throw outcomeUnknown(error);
          if (verdict.kind !== "transient") throw error;
          lostAnswer ||= verdict.reached;
          return { transient: error };
        }
        const hint = Number(res.headers["x-ms-dop-hint"]);
        if (hint) scheduler.setDopHint(hint);
        if (res.status >= 400 && lostAnswer && req.afterLostAnswer) {
          const recovered = await req.afterLostAnswer(res, (check) => this.exchange(check, token, abort));
          if (recovered) return { ok: recovered };
        }
        const retryAfter = retryAfterSeconds(res.headers["retry-after"]);
        const error = res.status < 400 ? undefined : this.errorOf(req, res, retryAfter);
        const verdict = classify({ status: res.status, code: error?.code }, req.idempotent);
        switch (verdict.kind) {
          case "success":
            return { ok: this.checkBody(req, res) };
          case "throttled":
            return { throttled: error!, retryAfterMs: (retryAfter ?? 0) * 1000 };
          case "transient":
            lostAnswer ||= verdict.reached;
            return { transient: error!, retryAfterMs: retryAfter === undefined ? undefined : retryAfter * 1000 };
          case "ambiguous":
            throw outcomeUnknown(error!);
          default:
            throw error!;
        }
      },
      signal,
      { maxRetries: req.maxRetries, urgent: req.urgent },
    );
  }

  private errorOf(req: ApiRequest, res: ApiResponse, retryAfter: number | undefined): DataverseError {
    return fromDataverseResponse({
      status: res.status,
      body: res.body,
      requestId: requestIdOf(res.headers),
      retryAfterSeconds: retryAfter,
      table: req.table,
      clientId: this.options.clientId,
      method: req.method,
      requestBody: req.body,
    });
  }

  /** A 2xx answer that should be JSON but is not (a proxy's HTML page) is no answer from Dataverse. */
  private checkBody(req: ApiRequest, res: ApiResponse): ApiResponse {
    const expectsJson = req.expect === "json" || (req.expect === undefined && res.status !== 204 && req.method === "GET");
    if (expectsJson && (typeof res.body !== "object" || res.body === null || Buffer.isBuffer(res.body))) {
      throw new DataverseError({
        message: `${this.host} answered HTTP ${res.status} without the JSON Dataverse sends${res.headers["content-type"] ? ` (content type ${res.headers["content-type"]})` : ""}. A proxy or sign-in page may be in the way: check the environment URL and the network path to it`,
        status: res.status,
        code: ErrorCodes.invalidResponse,
        requestId: requestIdOf(res.headers),
      });
    }
    return res;
  }

  private async exchange(req: ApiRequest, token: string, signal: AbortSignal): Promise<ApiResponse> {
    const { apiBase, transport, timeoutMs } = this.options;
    const body = req.rawBody ? req.rawBody.text : req.body === undefined ? undefined : JSON.stringify(req.body);
    const contentType = req.rawBody?.contentType ?? (req.body !== undefined ? JSON_CONTENT_TYPE : undefined);
    let response: AxiosResponse;
    try {
      response = await transport.http.request({
        method: req.method,
        url: /^https?:\/\//i.test(req.path) ? req.path : apiBase + req.path,
        headers: { ...ODATA_HEADERS, Authorization: `Bearer ${token}`, ...(contentType ? { "Content-Type": contentType } : {}), ...req.headers },
        data: body,
        responseType: req.expect === "binary" ? "arraybuffer" : "text",
        timeout: req.timeoutMs ?? timeoutMs,
        signal,
      });
    } catch (err) {
      throw fromNetworkError(err, this.host, req.timeoutMs ?? timeoutMs);
    }
    const data = req.expect === "binary" && response.status < 400 ? Buffer.from(response.data as ArrayBuffer) : response.data;
    return { status: response.status, headers: flattenHeaders(response.headers), body: data };
  }
}

/** REQ_ID, else the last of the x-ms-service-request-id values (real answers carry two). */
export function requestIdOf(headers: Record<string, string>): string | undefined {
  if (headers["req_id"]) return headers["req_id"];
  const ids = headers["x-ms-service-request-id"]
    ?.split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  return ids?.length ? ids[ids.length - 1] : undefined;
}
