/**
 * The one way a request reaches Dataverse: through the connection's scheduler, with a token, over the
 * transport, its answer classified (classify.ts) and turned into a result or a DataverseError.
 */
import type { AxiosResponse } from "axios";
import { classify } from "./classify";
import { asDataverseError, DataverseError, ErrorCodes, fromDataverseResponse, fromNetworkError, outcomeUnknown } from "./errors";
import { JSON_CONTENT_TYPE, ODATA_HEADERS, retryAfterSeconds } from "./odata";
import type { ApiRequest, ApiResponse } from "./request";
import { combineWrites, type BulkSizer } from "./bulk";
import { requestOptionHeaders, requestOptionsKey, withTag } from "./operations/request-options";
import type { AttemptOutcome, MemberOutcome, RequestScheduler } from "./scheduler";
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
  /** Requests an earlier attempt of which may have reached Dataverse without us seeing the answer. */
  private readonly lostAnswers = new WeakSet<ApiRequest>();

  constructor(private readonly options: PipelineOptions) {
    this.host = new URL(options.apiBase).host;
  }

  /** Resolves with a 2xx answer, or rejects with a DataverseError a flow builder can act on. */
  send(req: ApiRequest, signal?: AbortSignal): Promise<ApiResponse> {
    // Only writes with the same request options go together: the bulk request carries them for all.
    const group = req.bulk ? { key: `${req.bulk.via}:${req.bulk.message}:${req.bulk.set}:${requestOptionsKey(req.options)}`, item: req } : undefined;
    return this.options.scheduler.run<ApiResponse>((abort) => this.attempt(req, abort), signal, {
      maxRetries: req.maxRetries,
      urgent: req.urgent,
      group,
    });
  }

  private async attempt(req: ApiRequest, abort: AbortSignal): Promise<AttemptOutcome<ApiResponse>> {
    const { scheduler, tokens } = this.options;
    let token = await tokenOrOutcome(tokens);
    if (typeof token !== "string") return token;
    let res = await this.exchangeOrOutcome(req, token, abort);
    if ("status" in res && res.status === 401) {
      // The token was revoked or expired early: one new token, one more try.
      tokens.invalidate(token);
      token = await tokenOrOutcome(tokens);
      if (typeof token !== "string") return token;
      res = await this.exchangeOrOutcome(req, token, abort);
    }
    if (!("status" in res)) return res;
    const hint = Number(res.headers["x-ms-dop-hint"]);
    if (hint) scheduler.setDopHint(hint);
    if (res.status >= 400 && this.lostAnswers.has(req) && req.afterLostAnswer) {
      const sameToken = token;
      try {
        res = (await req.afterLostAnswer(res, (check) => this.exchange(check, sameToken, abort))) ?? res;
      } catch (err) {
        // The check got no answer: the write is tried again, and checked again.
        return { transient: asDataverseError(err) };
      }
    }
    if (req.answersInParts && /^multipart\/mixed/i.test(res.headers["content-type"] ?? "")) return { ok: res };
    const retryAfter = retryAfterSeconds(res.headers["retry-after"]);
    const error = res.status < 400 ? undefined : this.errorOf(req, res, retryAfter);
    const verdict = classify({ status: res.status, code: error?.code }, req.idempotent);
    switch (verdict.kind) {
      case "success":
        return { ok: this.checkBody(req, res) };
      case "throttled":
        return { throttled: error!, retryAfterMs: (retryAfter ?? 0) * 1000 };
      case "transient":
        if (verdict.reached) this.lostAnswers.add(req);
        return { transient: error!, retryAfterMs: retryAfter === undefined ? undefined : retryAfter * 1000 };
      case "ambiguous":
        throw outcomeUnknown(error!);
      default:
        throw error!;
    }
  }

  /** The answer, or what a failure to get one means (throws when it is final). */
  private async exchangeOrOutcome(req: ApiRequest, token: string, abort: AbortSignal): Promise<ApiResponse | AttemptOutcome<ApiResponse>> {
    try {
      return await this.exchange(req, token, abort);
    } catch (err) {
      const error = asDataverseError(err);
      const verdict = classify({ networkCode: error.code, retryable: error.retryable }, req.idempotent);
      if (verdict.kind === "ambiguous") throw outcomeUnknown(error);
      if (verdict.kind !== "transient") throw error;
      if (verdict.reached) this.lostAnswers.add(req);
      return { transient: error };
    }
  }

  /** Sends waiting bulk writes as one request (bulk.ts); one outcome per write. */
  async combine(reqs: ApiRequest[], abort: AbortSignal, sizer: BulkSizer): Promise<MemberOutcome[]> {
    const { tokens, scheduler } = this.options;
    let token = await tokenOrOutcome(tokens).catch((err: unknown) => ({ failed: asDataverseError(err) }));
    if (typeof token !== "string") return reqs.map(() => token as MemberOutcome);
    const size = reqs.length;
    const exchange = async (req: ApiRequest): Promise<ApiResponse> => {
      // A bulk request takes longer the more rows it carries.
      const timed = { ...req, timeoutMs: Math.round((req.timeoutMs ?? this.options.timeoutMs) * (1 + size / 100)) };
      let res = await this.exchange(timed, token as string, abort);
      if (res.status === 401) {
        tokens.invalidate(token as string);
        token = await tokens.getToken();
        res = await this.exchange(timed, token, abort);
      }
      const hint = Number(res.headers["x-ms-dop-hint"]);
      if (hint) scheduler.setDopHint(hint);
      return res;
    };
    const markLost = (lost: ApiRequest) => this.lostAnswers.add(lost);
    return combineWrites(
      {
        apiBase: this.options.apiBase,
        exchange,
        markLost,
        errorOf: (req, res) => this.errorOf(req, res, retryAfterSeconds(res.headers["retry-after"])),
        sizer,
      },
      reqs,
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
        url: urlOf(apiBase, req),
        headers: {
          ...ODATA_HEADERS,
          Authorization: `Bearer ${token}`,
          ...(contentType ? { "Content-Type": contentType } : {}),
          ...requestOptionHeaders(req.options),
          ...req.headers,
        },
        data: body,
        responseType: req.expect === "binary" ? "arraybuffer" : "text",
        timeout: req.timeoutMs ?? timeoutMs,
        signal,
      });
    } catch (err) {
      throw fromNetworkError(err, this.host, req.timeoutMs ?? timeoutMs);
    }
    const data = req.expect === "binary" ? binaryAnswer(response) : response.data;
    return { status: response.status, headers: flattenHeaders(response.headers), body: data };
  }
}

function urlOf(apiBase: string, req: ApiRequest): string {
  const url = /^https?:\/\//i.test(req.path) ? req.path : apiBase + req.path;
  return req.path === "$batch" ? url : withTag(url, req.options);
}

/** Bytes of a 2xx answer; an error answer's JSON, so its code and message can be read. */
function binaryAnswer(response: AxiosResponse): unknown {
  // axios answers a Buffer in Node: taken as it is, not copied.
  const data = response.data as Buffer | ArrayBuffer | undefined;
  const bytes = Buffer.isBuffer(data) ? data : data ? Buffer.from(data) : Buffer.alloc(0);
  if (response.status < 400) return bytes;
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** A token, or a sign-in failure as the attempt's outcome: nothing was sent, so a temporary one is retried. */
async function tokenOrOutcome(tokens: TokenProvider): Promise<string | AttemptOutcome<ApiResponse>> {
  try {
    return await tokens.getToken();
  } catch (err) {
    const error = asDataverseError(err);
    if (error.retryable) return { transient: error };
    throw error;
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
