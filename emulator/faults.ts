// Fault injection: rules that make matching requests fail, slow down, or lose their connection.
import type { ServerName } from "./requestlog";

import type { EmuResponse } from "./server";

export type FaultAction = "respond" | "reset-before" | "reset-after" | "hang" | "invalid-json" | "html";

export interface FaultRule {
  id?: string;
  /** Only requests to this server (default: both). */
  server?: ServerName;
  /** Only this HTTP method (case-insensitive). */
  method?: string;
  /** Only paths containing this text (matched against the raw and the percent-decoded path). */
  path?: string;
  /** Status to answer with (action "respond"/"invalid-json"). */
  status?: number;
  /** Error code in the body (Dataverse hex code, or Entra `error` value). */
  code?: string;
  message?: string;
  /** `Retry-After` header: seconds or an HTTP date. */
  retryAfter?: number | string;
  /** Delay before the rule acts. A rule with only a delay slows requests and lets them through. */
  latencyMs?: number;
  /**
   * respond: answer with `status` without processing (default when status is set).
   * reset-before: drop the connection without processing.
   * reset-after: process fully (rows are written), then drop the connection instead of answering.
   * hang: never answer (until the emulator closes).
   * invalid-json: answer `status` (default 200) with a truncated JSON body, without processing.
   * html: answer `status` (default 200) with an HTML sign-in page, as a proxy in front of the service
   * does when it wants the user to log in; without processing.
   */
  action?: FaultAction;
  /** Apply at most this many times (default: unlimited). */
  times?: number;
  /** Let the first N matching requests through untouched. */
  skip?: number;
  /** Chance (0..1) that a matching request is affected (default 1). */
  probability?: number;
}

/** A rule as stored: with its id and how often it matched / acted. */
export interface FaultRuleState extends FaultRule {
  id: string;
  matched: number;
  applied: number;
}

const ACTIONS: readonly FaultAction[] = ["respond", "reset-before", "reset-after", "hang", "invalid-json", "html"];

function validateRule(rule: unknown): FaultRule {
  if (typeof rule !== "object" || rule === null || Array.isArray(rule)) throw new Error("a fault rule must be an object");
  const r = rule as Record<string, unknown>;
  const known = ["id", "server", "method", "path", "status", "code", "message", "retryAfter", "latencyMs", "action", "times", "skip", "probability"];
  for (const k of Object.keys(r)) if (!known.includes(k)) throw new Error(`unknown fault rule field '${k}'`);
  const optional = (k: string, type: string) => {
    if (r[k] !== undefined && typeof r[k] !== type) throw new Error(`fault rule field '${k}' must be a ${type}`);
  };
  for (const k of ["id", "method", "path", "code", "message"]) optional(k, "string");
  for (const k of ["status", "latencyMs", "times", "skip", "probability"]) optional(k, "number");
  if (r.server !== undefined && r.server !== "dataverse" && r.server !== "login" && r.server !== "identity") {
    throw new Error('fault rule field \'server\' must be "dataverse", "login" or "identity"');
  }
  if (r.action !== undefined && !ACTIONS.includes(r.action as FaultAction)) {
    throw new Error(`fault rule field 'action' must be one of ${ACTIONS.join(", ")}`);
  }
  if (r.retryAfter !== undefined && typeof r.retryAfter !== "number" && typeof r.retryAfter !== "string") {
    throw new Error("fault rule field 'retryAfter' must be seconds or an HTTP date");
  }
  if (r.status !== undefined && !(Number.isInteger(r.status) && (r.status as number) >= 100 && (r.status as number) <= 599)) {
    throw new Error("fault rule field 'status' must be an HTTP status code");
  }
  if ((r.action === undefined || r.action === "respond") && r.status === undefined && r.latencyMs === undefined) {
    throw new Error("a fault rule needs a status, an action, or a latencyMs");
  }
  return r as FaultRule;
}

export class FaultInjector {
  private rules: FaultRuleState[] = [];
  private nextId = 1;

  add(input: unknown): string[] {
    const list = (Array.isArray(input) ? input : [input]).map(validateRule);
    return list.map((rule) => {
      const id = rule.id ?? `fault-${this.nextId++}`;
      // Re-adding a rule under the same id replaces it (handy for named rules in tests).
      this.rules = this.rules.filter((r) => r.id !== id);
      this.rules.push({ ...rule, id, matched: 0, applied: 0 });
      return id;
    });
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRuleState[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** The first rule that applies to this request, counting the match; undefined if none. */
  match(server: ServerName, method: string, rawPath: string): FaultRuleState | undefined {
    let decoded = rawPath;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      // keep the raw path
    }
    for (const rule of this.rules) {
      if (rule.server && rule.server !== server) continue;
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (rule.path && !rawPath.includes(rule.path) && !decoded.includes(rule.path)) continue;
      if (rule.times !== undefined && rule.applied >= rule.times) continue;
      rule.matched++;
      if (rule.skip !== undefined && rule.matched <= rule.skip) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      rule.applied++;
      return rule;
    }
    return undefined;
  }
}

/** What the rule does once its delay is over. */
export function faultAction(rule: FaultRule): FaultAction | "pass" {
  if (rule.action) return rule.action;
  return rule.status !== undefined ? "respond" : "pass";
}

/** What a proxy between client and service answers when it wants a browser sign-in first. */
const PROXY_LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to continue</title></head>
<body><h1>Sign in</h1><p>Your organization requires you to sign in before you can reach this site.</p>
<form method="post" action="/login"><label>User name <input name="username"></label>
<label>Password <input name="password" type="password"></label><button type="submit">Sign in</button></form></body></html>
`;

/** The answer of an "html" fault rule (both servers). */
export function htmlFaultResponse(status: number, headers: Record<string, string>): EmuResponse {
  return { status, headers: { ...headers, "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }, body: PROXY_LOGIN_PAGE };
}
