/**
 * Automatic bulk writes: waiting creates, updates and upserts of one table go as one CreateMultiple,
 * UpdateMultiple or UpsertMultiple (or one $batch where the table lacks the message), and every
 * message still gets its own outcome, as if it had been sent alone.
 */
import { buildBatch, parseBatchResponse, type BatchPart } from "./batch";
import { classify } from "./classify";
import { asDataverseError, DataverseError } from "./errors";
import { keyLiteral, retryAfterSeconds, rowPath } from "./odata";
import type { ApiRequest, ApiResponse, BulkWrite } from "./request";
import { requestOptionHeaders, withTag } from "./operations/request-options";
import type { MemberOutcome } from "./scheduler";

export interface BulkContext {
  apiBase: string;
  /** Sends one request within this attempt; throws a DataverseError when no answer came. */
  exchange(req: ApiRequest): Promise<ApiResponse>;
  /** This write may have been applied by an attempt whose answer was lost. */
  markLost(req: ApiRequest): void;
  /** The DataverseError an error answer stands for. */
  errorOf(req: ApiRequest, res: ApiResponse): DataverseError;
  sizer: BulkSizer;
}

/**
 * An execution-time 429 halves the bulk size, once per pause however many requests it throttled; it
 * grows back by a tenth after each success. It stays at two or more, so bulk requests (and with them
 * the growing back) go on.
 */
export class BulkSizer {
  private current: number;
  private shrunk = false;

  constructor(private readonly max: number) {
    this.current = max;
  }

  get size(): number {
    return this.current;
  }

  shrink(): void {
    if (this.shrunk) return;
    this.shrunk = true;
    this.current = Math.min(this.current, Math.max(2, Math.floor(this.current / 2)));
  }

  grow(): void {
    this.shrunk = false;
    this.current = Math.min(this.max, this.current + Math.max(1, Math.ceil(this.current / 10)));
  }
}

const EXECUTION_TIME_LIMIT = "0x80072321";
/** How many key or id filters go into one query when learning or checking the ids of rows. */
const KEYS_PER_LOOKUP = 100;
/** How long an id look-up waits before its second try, at most (it holds one request slot meanwhile). */
const MAX_LOOKUP_WAIT_MS = 5_000;

/** One outcome per request, in order. All requests of a group have the same request options. */
export async function combineWrites(ctx: BulkContext, reqs: ApiRequest[]): Promise<MemberOutcome[]> {
  const first = reqs[0].bulk!;
  const request: ApiRequest =
    first.via === "$batch"
      ? batchRequest(ctx, reqs)
      : {
          method: "POST",
          path: `${first.set}/Microsoft.Dynamics.CRM.${first.message}`,
          body: { Targets: reqs.map((r) => targetOf(r.bulk!)) },
          table: first.set,
          idempotent: true,
          expect: first.message === "CreateMultiple" ? "json" : "any",
          // A group holds only writes with the same request options (pipeline.ts): the request carries them for all.
          options: reqs[0].options,
        };
  let res: ApiResponse;
  try {
    res = await ctx.exchange(request);
  } catch (err) {
    return noAnswer(ctx, reqs, err);
  }
  if (res.status >= 400) {
    const error = ctx.errorOf(request, res);
    if (res.status === 429 && error.code.toLowerCase() === EXECUTION_TIME_LIMIT) ctx.sizer.shrink();
    const retry = retryOutcomes(ctx, reqs, res, error);
    if (retry) return retry;
    // One bad row fails a whole bulk message on standard tables: each row is sent again, answered alone.
    if (first.via === "$batch") return reqs.map(() => ({ failed: error }));
    try {
      return await answerParts(ctx, reqs, await ctx.exchange(batchRequest(ctx, reqs)));
    } catch (err) {
      return noAnswer(ctx, reqs, err);
    }
  }
  ctx.sizer.grow();
  if (first.via === "$batch") return answerParts(ctx, reqs, res);
  return bulkAnswers(ctx, reqs, res);
}

/** A combined request got no answer: if it may have reached Dataverse, its rows are checked when tried again. */
function noAnswer(ctx: BulkContext, reqs: ApiRequest[], err: unknown): MemberOutcome[] {
  const error = asDataverseError(err);
  const verdict = classify({ networkCode: error.code, retryable: error.retryable }, true);
  if (verdict.kind === "transient" && verdict.reached) reqs.forEach(ctx.markLost);
  return reqs.map(() => (verdict.kind === "transient" ? { transient: error } : { failed: error }));
}

/** A row as a bulk message's target, built only when it goes in one: its type, and its id or @odata.id. */
function targetOf(write: BulkWrite): Record<string, unknown> {
  const address = write.key ? { "@odata.id": rowPath(write.set, { key: write.key }) } : { [write.idColumn]: write.id };
  return { "@odata.type": `Microsoft.Dynamics.CRM.${write.logicalName}`, ...write.row, ...address };
}

function batchRequest(ctx: BulkContext, reqs: ApiRequest[]): ApiRequest {
  const apiPath = new URL(ctx.apiBase).pathname;
  const batch = buildBatch(
    apiPath,
    reqs.map((r) => ({
      method: r.method as "POST" | "PATCH",
      path: withTag(r.path, r.options),
      headers: { ...requestOptionHeaders(r.options), ...r.headers },
      body: r.body,
    })),
  );
  return {
    method: "POST",
    path: "$batch",
    rawBody: { contentType: batch.contentType, text: batch.text },
    headers: { Prefer: "odata.continue-on-error" },
    // On the $batch as well as on each part: Dataverse applies the parts' own.
    options: reqs[0].options,
    idempotent: true,
    expect: "any",
  };
}

/** For a throttled or temporarily failed combined request: every write waits and is tried again. */
function retryOutcomes(ctx: BulkContext, reqs: ApiRequest[], res: ApiResponse, error: DataverseError): MemberOutcome[] | undefined {
  const verdict = classify({ status: res.status, code: error.code }, true);
  if (verdict.kind === "throttled") {
    const retryAfterMs = (retryAfterSeconds(res.headers["retry-after"]) ?? 0) * 1000;
    return reqs.map(() => ({ throttled: error, retryAfterMs }));
  }
  if (verdict.kind !== "transient") return undefined;
  if (verdict.reached) reqs.forEach(ctx.markLost);
  return reqs.map(() => ({ transient: error }));
}

/** A $batch answer: each part is its request's answer, as if it had been sent alone. */
async function answerParts(ctx: BulkContext, reqs: ApiRequest[], res: ApiResponse): Promise<MemberOutcome[]> {
  if (res.status >= 400) {
    const error = ctx.errorOf(reqs[0], res);
    return retryOutcomes(ctx, reqs, res, error) ?? reqs.map(() => ({ failed: error }));
  }
  let parts: BatchPart[];
  try {
    parts = parseBatchResponse(res.headers["content-type"], typeof res.body === "string" ? res.body : "");
  } catch (err) {
    return reqs.map(() => ({ failed: asDataverseError(err) }));
  }
  const bulk = { via: "$batch" as const, size: reqs.length };
  // Our own id already exists: an earlier try whose answer was lost wrote it. All such rows are
  // checked in one query, so the check stays within this request's slot (a GET per row would fan
  // out past the connection's concurrency and Dataverse's limit, and a throttled check is no answer).
  const ownRows = reqs.filter((req, i) => parts[i]?.status === 412 && req.bulk?.generatedId).map((req) => req.bulk!);
  const found = await existingIds(ctx, ownRows);
  return reqs.map((req, i): MemberOutcome => {
    const part = parts[i];
    if (!part) return { transient: new DataverseError({ message: "The $batch answer had no part for this row", retryable: true }) };
    const answer: ApiResponse = { status: part.status, headers: part.headers, body: part.body, bulk };
    if (part.status < 400) return { ok: answer };
    if (part.status === 412 && req.bulk?.generatedId) {
      // A check that got no answer is tried again later, not reported as a duplicate.
      if (!found) return { transient: uncheckedOwnRow() };
      if (found.has(req.bulk.id!)) return { ok: { status: 204, headers: entityId(ctx, req.bulk), body: undefined, bulk } };
    }
    const error = ctx.errorOf(req, answer);
    const verdict = classify({ status: part.status, code: error.code }, true);
    if (verdict.kind === "throttled") return { throttled: error, retryAfterMs: 0 };
    if (verdict.kind === "transient") return { transient: error };
    return { failed: error };
  });
}

/** Which of these rows (by id) exist, in a few queries; undefined when a query got no answer. */
async function existingIds(ctx: BulkContext, writes: BulkWrite[]): Promise<Set<string> | undefined> {
  const found = new Set<string>();
  for (let start = 0; start < writes.length; start += KEYS_PER_LOOKUP) {
    const chunk = writes.slice(start, start + KEYS_PER_LOOKUP);
    const { set, idColumn } = chunk[0];
    const filter = chunk.map((w) => `${idColumn} eq ${w.id}`).join(" or ");
    const res = await lookup(ctx, { method: "GET", path: `${set}?$select=${idColumn}&$filter=${encodeURIComponent(filter)}`, idempotent: true });
    const rows = (res?.body as { value?: unknown } | undefined)?.value;
    if (!Array.isArray(rows)) return undefined;
    for (const row of rows as Array<Record<string, unknown>>) if (typeof row[idColumn] === "string") found.add((row[idColumn] as string).toLowerCase());
  }
  return found;
}

function uncheckedOwnRow(): DataverseError {
  return new DataverseError({
    message: "A row with this message's own id already exists, and checking that an earlier try whose answer was lost wrote it got no answer",
    retryable: true,
  });
}

/** A bulk message's answer: CreateMultiple names the ids; the others are 204, and upserts by key look theirs up. */
async function bulkAnswers(ctx: BulkContext, reqs: ApiRequest[], res: ApiResponse): Promise<MemberOutcome[]> {
  const bulk = { via: reqs[0].bulk!.via, size: reqs.length };
  const ids = Array.isArray((res.body as { Ids?: unknown })?.Ids) ? ((res.body as { Ids: unknown[] }).Ids as string[]) : [];
  const byKey = await idsByKey(
    ctx,
    reqs.map((r) => r.bulk!).filter((b) => b.key !== undefined),
  );
  return reqs.map((req, i) => {
    const write = req.bulk!;
    const id = write.id ?? ids[i] ?? (write.key ? byKey.get(keyString(write.key)) : undefined);
    return { ok: { status: 204, headers: id ? entityId(ctx, { ...write, id }) : {}, body: undefined, bulk } };
  });
}

/** The ids of rows written by alternate key, in a few queries; a failed lookup leaves them unknown. */
async function idsByKey(ctx: BulkContext, writes: BulkWrite[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let start = 0; start < writes.length; start += KEYS_PER_LOOKUP) {
    const chunk = writes.slice(start, start + KEYS_PER_LOOKUP);
    const columns = Object.keys(chunk[0].key!);
    const filter = chunk
      .map(
        (w) =>
          `(${Object.entries(w.key!)
            .map(([c, v]) => `${c} eq ${filterLiteral(c, v)}`)
            .join(" and ")})`,
      )
      .join(" or ");
    const res = await lookup(ctx, {
      method: "GET",
      path: `${chunk[0].set}?$select=${[chunk[0].idColumn, ...columns].join(",")}&$filter=${encodeURIComponent(filter)}`,
      idempotent: true,
    });
    const rows =
      (res?.status === 200 && Array.isArray((res.body as { value?: unknown })?.value) ? (res.body as { value: Array<Record<string, unknown>> }).value : []) ??
      [];
    for (const row of rows) {
      const key = Object.fromEntries(columns.map((c) => [c, row[c] as string | number | boolean]));
      if (typeof row[chunk[0].idColumn] === "string") found.set(keyString(key), row[chunk[0].idColumn] as string);
    }
  }
  return found;
}

function filterLiteral(column: string, value: string | number | boolean): string {
  return decodeURIComponent(keyLiteral(column, value));
}

/** A read within a bulk attempt, tried again once after a throttled or failed answer; undefined if that fails too. */
async function lookup(ctx: BulkContext, req: ApiRequest): Promise<ApiResponse | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await ctx.exchange(req).catch(() => undefined);
    if (res?.status === 200) return res;
    const waitMs = Math.min(MAX_LOOKUP_WAIT_MS, Number(res?.headers["retry-after"] ?? 1) * 1000 || 1000);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  return undefined;
}

/** Key values compared as Dataverse does: text case-insensitively. */
function keyString(key: Record<string, string | number | boolean>): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((c) => [c, typeof key[c] === "string" ? (key[c] as string).toLowerCase() : key[c]]),
  );
}

function entityId(ctx: BulkContext, write: Pick<BulkWrite, "set" | "id">): Record<string, string> {
  return { "odata-entityid": `${ctx.apiBase}${write.set}(${write.id})` };
}
