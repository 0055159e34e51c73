// The control API: test and benchmark code steers the emulator in-process (`control.x()`) or over
// HTTPS under /_emulator/ on the Dataverse server. Control calls are not logged, counted, delayed,
// faulted or throttled.
import { applyConfigPatch, type EmulatorConfig } from "./config";
import type { EmulatorCore } from "./core";
import type { FaultRule, FaultRuleState } from "./faults";
import type { EmulatorStats, RequestLogEntry, ServerName } from "./requestlog";
import { DataverseError } from "./errors";
import { seedGenerated, seedRows, seedTable } from "./seed";
import type { EmuRequest, EmuResponse } from "./server";
import type { TableDef } from "./tables";
import type { Row } from "./values";

export interface EmulatorControl {
  /** Rows back to the seed; log, stats, faults, config and issued tokens cleared. */
  reset(): void;
  /** Adds rows to a table (entity set or logical name); rows without an id get one. A row whose id exists is replaced. */
  seed(table: string, rows: Array<Record<string, unknown>>): { ids: string[] };
  /**
   * Adds `count` generated rows (up to 1,000,000; 200,000 take a few seconds) made from `template`:
   * `{n}` in a text value is the row number, `{n%K}` the row number modulo K (numbers for number columns).
   */
  seedMany(table: string, count: number, template: Record<string, unknown>): { count: number; firstId: string; lastId: string };
  /** Every row of a table, as stored (lookups as `_x_value`, all columns present). */
  rows(table: string): Row[];
  /** Empties a table. */
  clearRows(table: string): void;
  /** Deletes one row as a Web API delete would (lookups to it cleared, change tracking told); false when there is none. */
  deleteRow(table: string, id: string): boolean;
  /** Logged requests, oldest first; `since` = only entries with a greater seq. */
  requests(filter?: { server?: ServerName; since?: number }): RequestLogEntry[];
  clearRequests(): void;
  /** Makes every change-tracking delta token issued so far `days` older (to test their expiry). */
  ageChangeTokens(days: number): void;
  /** Every token issued so far gets 401 from now on. */
  invalidateTokens(): void;
  getConfig(): EmulatorConfig;
  /** Changes some settings; returns the whole configuration. */
  setConfig(patch: Partial<EmulatorConfig>): EmulatorConfig;
  faults(): FaultRuleState[];
  /** Adds one rule or several (tried in the order added); returns their ids. */
  addFaults(rules: FaultRule | FaultRule[]): { ids: string[] };
  removeFault(id: string): boolean;
  clearFaults(): void;
  stats(): EmulatorStats;
  resetStats(): void;
}

/** A mistake in a control call (unknown table, bad config value, ...). */
export class ControlError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Runs `fn`, turning any validation failure into a ControlError with the same message. */
function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ControlError) throw e;
    if (e instanceof DataverseError) throw new ControlError(e.message, e.status);
    throw new ControlError(e instanceof Error ? e.message : String(e));
  }
}

export function createControl(core: EmulatorCore): EmulatorControl {
  const table = (name: string): TableDef => {
    const t = seedTable(name);
    if (!t) throw new ControlError(`unknown table '${name}'`, 404);
    return t;
  };
  return {
    reset: () => core.reset(),
    seed: (name, rows) => {
      const t = table(name);
      if (!Array.isArray(rows)) throw new ControlError("'rows' must be an array of objects");
      return { ids: checked(() => seedRows(core.store, t, rows)) };
    },
    seedMany: (name, count, template) => {
      const ids = checked(() => seedGenerated(core.store, table(name), count, template));
      return { count: ids.length, firstId: ids[0], lastId: ids[ids.length - 1] };
    },
    rows: (name) => core.store.all(table(name)).map((r) => ({ ...r })),
    clearRows: (name) => core.store.clear(table(name)),
    deleteRow: (name, id) => {
      const t = table(name);
      if (!core.store.get(t, id)) return false;
      core.store.delete(t, id);
      return true;
    },
    requests: (filter) => core.log.list(filter),
    clearRequests: () => core.log.clear(),
    invalidateTokens: () => core.tokens.invalidateAll(),
    ageChangeTokens: (days) => {
      if (typeof days !== "number" || !Number.isFinite(days) || days < 0) throw new ControlError("'days' must be a number >= 0");
      core.changeTokens.age(days);
    },
    getConfig: () => ({ ...core.config }),
    setConfig: (patch) => ({ ...checked(() => applyConfigPatch(core.config, patch)) }),
    faults: () => core.faults.list(),
    addFaults: (rules) => ({ ids: checked(() => core.faults.add(rules)) }),
    removeFault: (id) => core.faults.remove(id),
    clearFaults: () => core.faults.clear(),
    stats: () => core.stats.snapshot(core.webServers.snapshot()),
    resetStats: () => {
      core.stats.reset();
      core.webServers.resetCounters();
    },
  };
}

const ok = { ok: true };

/** HTTP form of the control API: each route answers the JSON of the in-process call. */
export function controlHttpHandler(control: EmulatorControl): (req: EmuRequest) => Promise<EmuResponse> {
  return async (req) => {
    try {
      const body = req.body ? parseBody(req.body) : undefined;
      const result = route(control, req.method, req.path.replace(/^\/_emulator\/?/, "").replace(/\/$/, ""), req.query, body);
      return respond(200, result);
    } catch (e) {
      const status = e instanceof ControlError ? e.status : 500;
      return respond(status, { error: { code: "EmulatorControlError", message: e instanceof Error ? e.message : String(e) } });
    }
  };
}

function respond(status: number, body: unknown): EmuResponse {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" }, body: JSON.stringify(body) };
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlError("the request body is not valid JSON");
  }
}

function route(control: EmulatorControl, method: string, path: string, query: string, body: unknown): unknown {
  const params = new URLSearchParams(query);
  const [resource, ...rest] = path.split("/").map(decodeURIComponent);
  const key = `${method} ${resource}${rest.length ? "/*" : ""}`;
  switch (key) {
    case "POST reset":
      control.reset();
      return ok;
    case "POST seed": {
      const b = (body ?? {}) as { table?: unknown; rows?: unknown; count?: unknown; template?: unknown };
      if (typeof b.table !== "string") {
        throw new ControlError('body must be {"table": "<entity set>", "rows": [...]} or {"table": "<entity set>", "count": n, "template": {...}}');
      }
      if (b.count !== undefined) return control.seedMany(b.table, b.count as number, (b.template ?? {}) as Record<string, unknown>);
      return control.seed(b.table, b.rows as Array<Record<string, unknown>>);
    }
    case "GET rows/*":
      return control.rows(rest.join("/"));
    case "DELETE rows/*":
      if (rest.length === 2) {
        if (!control.deleteRow(rest[0], rest[1])) throw new ControlError(`no row '${rest[1]}' in '${rest[0]}'`, 404);
        return ok;
      }
      control.clearRows(rest.join("/"));
      return ok;
    case "GET requests": {
      const server = params.get("server") ?? undefined;
      if (server !== undefined && server !== "dataverse" && server !== "login" && server !== "identity") {
        throw new ControlError("server must be 'dataverse', 'login' or 'identity'");
      }
      const since = params.get("since");
      return control.requests({ server: server as ServerName | undefined, since: since === null ? undefined : Number(since) });
    }
    case "DELETE requests":
      control.clearRequests();
      return ok;
    case "POST tokens/*":
      if (rest.join("/") !== "invalidate") break;
      control.invalidateTokens();
      return ok;
    case "POST changetokens/*":
      if (rest.join("/") !== "age") break;
      control.ageChangeTokens((body as { days?: unknown } | undefined)?.days as number);
      return ok;
    case "GET config":
      return control.getConfig();
    case "PATCH config":
      return control.setConfig((body ?? {}) as Partial<EmulatorConfig>);
    case "GET faults":
      return control.faults();
    case "POST faults":
      return control.addFaults(body as FaultRule | FaultRule[]);
    case "DELETE faults":
      control.clearFaults();
      return ok;
    case "DELETE faults/*":
      if (!control.removeFault(rest.join("/"))) throw new ControlError(`no fault rule with id '${rest.join("/")}'`, 404);
      return ok;
    case "GET stats":
      return control.stats();
    case "DELETE stats":
      control.resetStats();
      return ok;
  }
  throw new ControlError(`no control operation ${method} /_emulator/${path}`, 404);
}
