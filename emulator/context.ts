// What a Dataverse route handler gets: the parsed request and the emulator state.
import type { EmulatorCore } from "./core";
import type { Preferences } from "./odata";
import type { EmuRequest, EmuResponse } from "./server";

export interface DvContext {
  core: EmulatorCore;
  req: EmuRequest;
  /** Service root as addressed, e.g. `https://127.0.0.1:8443/api/data/v9.2` (version echoed). */
  base: string;
  /** Path after the service root, still percent-encoded (`accounts(…)/…`). */
  resourcePath: string;
  query: Map<string, string>;
  prefer: Preferences;
}

export const JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { "Content-Type": JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

/** `Preference-Applied` for the preferences a response honours (the annotations one always). */
export function applied(ctx: DvContext, extra: string[] = []): Record<string, string> {
  const list = [...extra];
  if (ctx.prefer.includeAnnotations) list.push(`odata.include-annotations="${ctx.prefer.includeAnnotations}"`);
  return list.length ? { "Preference-Applied": list.join(",") } : {};
}

export function noContent(headers: Record<string, string> = {}): EmuResponse {
  return { status: 204, headers };
}
