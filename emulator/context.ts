// What a Dataverse route handler gets: the parsed request and the emulator state.
import type { EmulatorCore } from "./core";
import { unknownSegment, type DataverseError } from "./errors";
import type { Usage } from "./limits";
import { parsePrefer, parseQuery, type Preferences } from "./odata";
import { newTally, type WriteTally } from "./requestlog";
import type { EmuRequest, EmuResponse } from "./server";
import type { Caller } from "./callers";

export interface DvContext {
  core: EmulatorCore;
  req: EmuRequest;
  /** Service root as addressed, e.g. `https://127.0.0.1:8443/api/data/v9.2` (version echoed). */
  base: string;
  /** Path after the service root, still percent-encoded (`accounts(…)/…`). */
  resourcePath: string;
  query: Map<string, string>;
  prefer: Preferences;
  /** Rows this request wrote. Handlers add only committed writes: the totals in the stats come from here. */
  writes: WriteTally;
  /** What the request did, for the execution-time model and the request log. */
  usage: Usage;
  /** Id-form URL of the row the request created or updated: what a `$batch` Content-ID reference stands for. */
  entityUrl?: string;
  /** Who the request runs as and the optional behaviours it asked for (callers.ts); set once it is authenticated. */
  caller?: Caller;
}

/** Any version segment routes to the Web API; which versions exist is decided in apiContext. */
const API_PATH = /^\/api\/data\/(v\d+\.\d+(?:\.\d+)*)(?:\/(.*))?$/i;
/** The versions Dataverse answers on (v8.0 to v9.2, also with a build number such as v9.2.24051.1). */
const SERVED_VERSION = /^v(8\.[012]|9\.[012])(\.\d+)*$/i;

export const isApiPath = (path: string): boolean => API_PATH.test(path);

/**
 * The context of a Web API request (top-level or inside a `$batch`); throws 404 for a version the
 * service does not have, 400 for a malformed query.
 */
export function apiContext(core: EmulatorCore, req: EmuRequest): DvContext {
  const match = req.path.match(API_PATH)!;
  if (!SERVED_VERSION.test(match[1])) throw unknownSegment(match[1]);
  return {
    core,
    req,
    base: `${core.dataverseUrl}/api/data/${match[1].toLowerCase()}`,
    resourcePath: match[2] ?? "",
    query: parseQuery(req.query),
    prefer: parsePrefer(req.headers.prefer),
    writes: newTally(),
    usage: { operations: 1 },
  };
}

export const JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { "Content-Type": JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

export const errorResponse = (e: DataverseError): EmuResponse => ({
  status: e.status,
  headers: { "Content-Type": JSON_CONTENT_TYPE, ...e.headers },
  body: e.body(),
});

/** `Preference-Applied` for the preferences a response honours (the annotations one always). */
export function applied(ctx: DvContext, extra: string[] = []): Record<string, string> {
  const list = [...extra];
  if (ctx.prefer.includeAnnotations) list.push(`odata.include-annotations="${ctx.prefer.includeAnnotations}"`);
  return list.length ? { "Preference-Applied": list.join(",") } : {};
}

export function noContent(headers: Record<string, string> = {}): EmuResponse {
  return { status: 204, headers };
}
