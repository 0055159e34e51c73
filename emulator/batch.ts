// $batch: many Web API requests in one multipart/mixed request. Each request runs through the same
// route as a single request (so every single-request behaviour holds inside a batch); change sets
// run as one transaction; the answer is a multipart/mixed body in the real service's layout.
import { callerOf } from "./callers";
import { apiContext, errorResponse, isApiPath, type DvContext } from "./context";
import { badRequest, DataverseError, unknownSegment } from "./errors";
import { singleRequestMs } from "./limits";
import { httpResponsePart, multipartBody, multipartBoundary, multipartPart, readHttpRequest, readParts, type HeaderList, type MimePart } from "./multipart";
import { addTally, newTally } from "./requestlog";
import type { EmuRequest, EmuResponse } from "./server";
import { newGuid } from "./util";

/** Dataverse's limit: requests in one batch, change-set requests included. */
export const MAX_BATCH_OPERATIONS = 1000;

type Route = (ctx: DvContext) => EmuResponse;

interface Operation {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

type Item = { kind: "request"; op: Operation } | { kind: "changeset"; ops: Operation[] };

/** `$1`, `$1/lastname`: a reference to the row written by the change-set request with Content-ID 1. */
const REFERENCE = /^\$([^/?]+)(.*)$/s;

const referenceError = (id: string) => badRequest(`Content-ID Reference: '$${id}' does not exist in the batch context.`);

// ---------------------------------------------------------------------------------------------
// Reading the request: everything is checked before anything runs (like the real service, whose
// batch reader fails the whole request with 400).

function readOperation(part: MimePart, inChangeSet: boolean): Operation {
  const type = part.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/http") {
    throw badRequest(`The batch request contains a part with the content type '${part.headers.get("content-type") ?? ""}'; expected 'application/http'.`);
  }
  const request = readHttpRequest(part.content);
  if (/(^|\/)\$batch(\?|$)/.test(request.url)) throw badRequest("A batch request can't contain another batch request.");
  const contentId = part.headers.get("content-id");
  if (inChangeSet && request.method === "GET") {
    throw badRequest(
      `An invalid HTTP method '${request.method}' was detected for a request in a change set. Requests in change sets only support the HTTP methods 'POST', 'PUT', 'DELETE', and 'PATCH'.`,
    );
  }
  if (inChangeSet && contentId === undefined) {
    throw badRequest("The header with name 'Content-ID' was not present in the header collection of the batch operation.");
  }
  return { ...request, contentId };
}

/** Every `$n` a request uses: in its URL, and in `@odata.bind` / `@odata.id` values of its JSON body. */
function referencesOf(op: Operation): string[] {
  const found: string[] = [];
  const urlRef = op.url.match(REFERENCE);
  if (urlRef) found.push(urlRef[1]);
  forEachReference(parseJson(op.body), (id) => {
    found.push(id);
  });
  return found;
}

function parseJson(body: string): unknown {
  try {
    return body ? JSON.parse(body) : undefined;
  } catch {
    return undefined; // the route answers a body that is not JSON
  }
}

/** Calls `visit` for each `$n` reference in the body, replacing it by what `visit` returns (if anything). */
function forEachReference(value: unknown, visit: (id: string, rest: string) => string | void): void {
  if (typeof value !== "object" || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    const m = typeof v === "string" && (key.endsWith("@odata.bind") || key === "@odata.id") ? v.match(REFERENCE) : null;
    if (m) {
      const replaced = visit(m[1], m[2]);
      if (typeof replaced === "string") (value as Record<string, unknown>)[key] = replaced;
    } else forEachReference(v, visit);
  }
}

function readChangeSet(part: MimePart, boundary: string): Operation[] {
  const ops = readParts(part.content, boundary).map((p) => readOperation(p, true));
  if (ops.length > MAX_BATCH_OPERATIONS) {
    throw badRequest(
      `The current change set contains too many operations. A maximum number of '${MAX_BATCH_OPERATIONS}' operations are allowed in a change set.`,
    );
  }
  const declared = new Set<string>();
  for (const op of ops) {
    // A reference names a request earlier in the same change set.
    for (const id of referencesOf(op)) if (!declared.has(id)) throw referenceError(id);
    if (declared.has(op.contentId!)) throw badRequest(`The content ID '${op.contentId}' was found more than once in the same change set.`);
    declared.add(op.contentId!);
  }
  return ops;
}

function readBatch(req: EmuRequest): Item[] {
  const boundary = multipartBoundary(req.headers["content-type"]);
  if (!boundary) throw badRequest("The batch request must have the content type 'multipart/mixed' with a boundary.");
  const items = readParts(req.body, boundary).map((part): Item => {
    const changeSet = multipartBoundary(part.headers.get("content-type"));
    if (changeSet) return { kind: "changeset", ops: readChangeSet(part, changeSet) };
    const op = readOperation(part, false);
    const [ref] = referencesOf(op);
    if (ref !== undefined) throw referenceError(ref);
    return { kind: "request", op };
  });
  if (count(items) > MAX_BATCH_OPERATIONS) {
    throw badRequest(
      `The current batch message contains too many parts. Only batch messages with a maximum number of '${MAX_BATCH_OPERATIONS}' query operations, including changeset operations, are allowed.`,
    );
  }
  return items;
}

const count = (items: Item[]) => items.reduce((n, item) => n + (item.kind === "request" ? 1 : item.ops.length), 0);

// ---------------------------------------------------------------------------------------------
// Running

/** Thrown inside a change set's transaction to roll it back once a request has failed. */
class ChangeSetFailed extends Error {
  constructor(readonly status: number) {
    super(`change set failed with ${status}`);
  }
}

class BatchRun {
  readonly parts: string[] = [];

  constructor(
    private readonly ctx: DvContext,
    private readonly route: Route,
  ) {}

  /** Runs one request; returns its status when it failed. */
  request(op: Operation): number | undefined {
    const { response, inner } = this.execute(op, new Map());
    this.parts.push(responsePart(op, response));
    if (response.status >= 400) return response.status;
    addTally(this.ctx.writes, inner!.writes);
    return undefined;
  }

  /** Runs a change set as one transaction; when a request fails, only its answer is reported, and its status returned. */
  changeSet(ops: Operation[]): number | undefined {
    const refs = new Map<string, string>();
    const writes = newTally();
    let parts: string[] = [];
    let failed: number | undefined;
    try {
      this.ctx.core.store.atomic(() => {
        for (const op of ops) {
          const { response, inner } = this.execute(op, refs);
          if (response.status >= 400) {
            parts = [responsePart(op, response)];
            throw new ChangeSetFailed(response.status);
          }
          parts.push(responsePart(op, response));
          addTally(writes, inner!.writes);
          if (inner!.entityUrl) refs.set(op.contentId!, inner!.entityUrl);
        }
      });
      addTally(this.ctx.writes, writes);
    } catch (e) {
      if (!(e instanceof ChangeSetFailed)) throw e;
      failed = e.status;
    }
    this.parts.push(multipartPart(`changesetresponse_${newGuid()}`, parts));
    return failed;
  }

  /** One request through the route, `$n` references replaced; its context is undefined when it never got that far. */
  private execute(op: Operation, refs: Map<string, string>): { response: EmuResponse; inner?: DvContext } {
    const usage = this.ctx.usage;
    let inner: DvContext | undefined;
    try {
      const req = this.innerRequest(op, refs);
      if (!isApiPath(req.path)) throw unknownSegment(req.path);
      inner = apiContext(this.ctx.core, req);
      // A part runs as the batch does, unless its own headers say otherwise.
      if (this.ctx.caller) inner.caller = callerOf(this.ctx.caller.app, req.headers, inner.query, this.ctx.caller);
      return { response: this.route(inner), inner };
    } catch (e) {
      if (e instanceof DataverseError) return { response: errorResponse(e), inner };
      throw e;
    } finally {
      // A batch's execution time is the sum of its requests'.
      usage.modelledMs = (usage.modelledMs ?? 0) + (inner?.usage.modelledMs ?? singleRequestMs(this.ctx.core.config));
    }
  }

  private innerRequest(op: Operation, refs: Map<string, string>): EmuRequest {
    const resolve = (id: string, rest: string) => {
      const url = refs.get(id);
      if (url === undefined) throw referenceError(id);
      return url + rest;
    };
    const ref = op.url.match(REFERENCE);
    const url = ref ? resolve(ref[1], ref[2]) : op.url;
    let body = op.body;
    const parsed = parseJson(body);
    if (refs.size && parsed !== undefined) {
      forEachReference(parsed, resolve);
      body = JSON.stringify(parsed);
    }
    const { path, query } = this.splitUrl(url);
    return { server: "dataverse", method: op.method, path, query, headers: op.headers, body };
  }

  /** Path and query of an absolute URL, a server-absolute path, or a path relative to the service root. */
  private splitUrl(url: string): { path: string; query: string } {
    let target = url.replace(/^https?:\/\/[^/]+/i, "");
    if (!target.startsWith("/")) target = `${this.ctx.req.path.replace(/\/\$batch$/i, "")}/${target}`;
    const q = target.indexOf("?");
    return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q + 1) };
  }
}

/** Inner content type as the real service writes it inside a batch (shorter than a single answer's). */
function innerContentType(contentType: string, error: boolean): string {
  if (!contentType.startsWith("application/json")) return contentType;
  return error ? "application/json; odata.metadata=minimal" : "application/json; odata.metadata=minimal; odata.streaming=true";
}

/**
 * The part answering one request: errors start with `REQ_ID`; a row written gets `Location` next to
 * `OData-EntityId`, like the real service's batch answers.
 */
function responsePart(op: Operation, r: EmuResponse): string {
  const error = r.status >= 400;
  const { "Content-Type": contentType, "OData-EntityId": entityId, ...rest } = (r.headers ?? {}) as Record<string, string>;
  const headers: HeaderList = [];
  if (error) headers.push(["REQ_ID", newGuid()]);
  if (contentType) headers.push(["Content-Type", innerContentType(contentType, error)]);
  headers.push(["OData-Version", "4.0"]);
  if (entityId) headers.push(["Location", entityId], ["OData-EntityId", entityId]);
  for (const [name, value] of Object.entries(rest)) headers.push([name, String(value)]);
  return httpResponsePart(op.contentId === undefined ? [] : [["Content-ID", op.contentId]], r.status, headers, r.body?.toString());
}

/**
 * `POST $batch`. Without `Prefer: odata.continue-on-error` the batch stops at the first failed
 * request and answers with its status; with it, 200 and an answer for every request. Either way
 * the body is the multipart answer. The batch counts as one request; its execution time is the sum
 * of its requests'.
 */
export function handleBatch(ctx: DvContext, route: Route): EmuResponse {
  const items = readBatch(ctx.req);
  ctx.usage.operations = count(items);
  ctx.usage.modelledMs = 0;
  const run = new BatchRun(ctx, route);
  let status = 200;
  for (const item of items) {
    const failed = item.kind === "request" ? run.request(item.op) : run.changeSet(item.ops);
    if (failed !== undefined && !ctx.prefer.continueOnError) {
      status = failed;
      break;
    }
  }
  const boundary = `batchresponse_${newGuid()}`;
  return { status, headers: { "Content-Type": `multipart/mixed; boundary=${boundary}` }, body: `${multipartBody(boundary, run.parts)}\r\n` };
}
