/**
 * Changes to a table since the last read, through Dataverse change tracking: a first read with
 * `Prefer: odata.track-changes` ends with a delta link, and each later read follows the link it got
 * last. Deleted rows come as `$deletedEntity` entries. For a table without change tracking, an optional
 * fallback reads rows by modifiedon instead (which cannot see deletes).
 */
import { DataverseError, ErrorCodes, inputError } from "../errors";
import { requestIdOf } from "../pipeline";
import type { ApiResponse } from "../request";
import { valuesOf } from "../response";
import { checkSelect, checkTable, isPlainObject } from "../validate";
import { resolveTable, type CallOptions, type OperationContext, type ResolvedTable } from "./context";
import { MAX_PAGE_SIZE } from "./query";

export interface ChangesInput {
  table?: unknown;
  select?: unknown;
  /** now (default): only changes after the first read; all: every existing row first. */
  startFrom?: unknown;
  /** modifiedon: read rows by modifiedon when the table has no change tracking. */
  fallback?: unknown;
}

export interface ChangesOptions {
  table: string;
  select?: string[];
  startFrom: "now" | "all";
  fallback: "" | "modifiedon";
}

/**
 * Where the next read starts. The caller saves it once every change before it was sent on, and hands
 * it back for the next read (also after a restart).
 */
export interface ChangePosition {
  /** The settings it belongs to: a position saved under other settings starts afresh. */
  key: string;
  /** Change tracking: the link to read next (a delta link, or a next link within a read). */
  link?: string;
  /** The modifiedon fallback: the newest modifiedon sent (null: none yet) and the rows sent with it. */
  modifiedOn?: string | null;
  seen?: string[];
}

export interface Change {
  change: "upsert" | "delete";
  rowId?: string;
  /** The row's selected columns, or for a delete its id column only. */
  row: Record<string, unknown>;
}

export interface ChangeBatch {
  changes: Change[];
  /** Where the next read starts once these changes were sent on. */
  position: ChangePosition;
  /** The entity set read. */
  table: string;
  status: number;
  requestId?: string;
  /** The saved delta token had expired: a new first read started over without sending its rows. */
  tokenExpired?: boolean;
  /** The table has no change tracking: rows were read by modifiedon. */
  byModifiedOn?: boolean;
}

/** ChangeTrackingNotEnabledForEntity. */
const CHANGE_TRACKING_OFF = "0x80072491";
/** ExpiredVersionStamp: the delta token is older than the organization keeps changes (7 days by default). */
const TOKEN_EXPIRED = "0x80044352";
/** Rows the modifiedon fallback reads to find where "now" is. */
const BASELINE_ROWS = 100;

export function checkChangesInput(input: ChangesInput): ChangesOptions {
  const startFrom = input.startFrom === undefined || input.startFrom === "" ? "now" : input.startFrom;
  if (startFrom !== "now" && startFrom !== "all") throw inputError("startFrom", `startFrom must be now or all, not '${String(startFrom)}'`);
  const fallback = input.fallback === undefined || input.fallback === null ? "" : input.fallback;
  if (fallback !== "" && fallback !== "modifiedon") throw inputError("fallback", `fallback must be empty or modifiedon, not '${String(fallback)}'`);
  return { table: checkTable(input.table), select: checkSelect(input.select), startFrom, fallback };
}

/** The changes since `saved` (or since now / from the start, without one), a page at a time. */
export async function* readChanges(ctx: OperationContext, options: ChangesOptions, saved: unknown, call: CallOptions = {}): AsyncGenerator<ChangeBatch> {
  const table = await resolveTable(ctx, options.table);
  const reader = new ChangeReader(ctx, options, table, call.signal);
  const resume = isPlainObject(saved) && saved.key === reader.key ? (saved as unknown as ChangePosition) : undefined;
  if (resume?.modifiedOn !== undefined) {
    yield* reader.byModifiedOn(resume);
    return;
  }
  let tokenExpired = false;
  if (resume?.link) {
    try {
      yield* reader.follow(resume.link, true);
      return;
    } catch (err) {
      if (!hasCode(err, TOKEN_EXPIRED)) throw err;
      tokenExpired = true;
    }
  }
  try {
    // After an expired token the rows of a new first read cannot be told apart from those already sent.
    yield* reader.follow(reader.firstReadPath(), options.startFrom === "all" && !tokenExpired, tokenExpired);
  } catch (err) {
    if (!hasCode(err, CHANGE_TRACKING_OFF)) throw err;
    if (options.fallback !== "modifiedon") throw changeTrackingOff(err as DataverseError, table);
    yield* reader.byModifiedOn(undefined);
  }
}

class ChangeReader {
  readonly key: string;
  private readonly idColumn?: string;
  private readonly set: string;

  constructor(
    private readonly ctx: OperationContext,
    private readonly options: ChangesOptions,
    table: ResolvedTable,
    private readonly signal?: AbortSignal,
  ) {
    this.set = table.set;
    this.idColumn = table.info?.primaryIdAttribute;
    this.key = JSON.stringify([ctx.apiBase, options.table, options.select ?? [], options.startFrom, options.fallback]);
  }

  firstReadPath(): string {
    return this.options.select ? `${this.set}?$select=${this.options.select.join(",")}` : this.set;
  }

  /**
   * Reads from `link` to the delta link, page by page. Pages are handed out as read, or when `emit`
   * is off, only the last one, without rows: its delta link is where changes start.
   */
  async *follow(link: string, emit: boolean, tokenExpired = false): AsyncGenerator<ChangeBatch> {
    let at: string | undefined = link;
    while (at) {
      const res = await this.get(at, "odata.track-changes");
      const body = res.body as Record<string, unknown>;
      const nextLink = linkIn(body, "@odata.nextLink");
      const next = nextLink ?? linkIn(body, "@odata.deltaLink");
      if (!next) throw noDeltaLink(res);
      const batch = { ...this.batch(res, { key: this.key, link: next }), ...(tokenExpired ? { tokenExpired } : {}) };
      if (emit) yield { ...batch, changes: valuesOf(res.body).map((row) => this.toChange(row)) };
      else if (!nextLink) yield batch;
      at = nextLink;
    }
  }

  /**
   * The fallback: rows with modifiedon at or after the newest one sent, oldest first. Rows sent with
   * that same timestamp (id and etag) are skipped, so none is sent twice and none changed within the
   * same second is lost (`gt` would lose them).
   */
  async *byModifiedOn(resume: ChangePosition | undefined): AsyncGenerator<ChangeBatch> {
    if (!resume && this.options.startFrom === "now") {
      yield await this.modifiedOnBaseline();
      return;
    }
    let modifiedOn = resume?.modifiedOn ?? null;
    let seen = new Set(resume?.seen ?? []);
    const select = this.options.select && [...new Set([...this.options.select, "modifiedon"])];
    const query = [
      ...(select ? [`$select=${select.join(",")}`] : []),
      ...(modifiedOn ? [`$filter=${encodeURIComponent(`modifiedon ge ${modifiedOn}`)}`] : []),
      `$orderby=${encodeURIComponent(`modifiedon asc${this.idColumn ? `,${this.idColumn} asc` : ""}`)}`,
    ];
    let at: string | undefined = `${this.set}?${query.join("&")}`;
    while (at) {
      const res = await this.get(at);
      const changes: Change[] = [];
      for (const row of valuesOf(res.body)) {
        const stamp = typeof row.modifiedon === "string" ? row.modifiedon : null;
        const sent = seenKey(row, this.idColumn);
        if (stamp === modifiedOn && seen.has(sent)) continue;
        if (stamp !== modifiedOn) [modifiedOn, seen] = [stamp, new Set()];
        seen.add(sent);
        changes.push(this.toChange(this.options.select?.includes("modifiedon") === false ? withoutModifiedOn(row) : row));
      }
      yield { ...this.batch(res, { key: this.key, modifiedOn, seen: [...seen] }), changes, byModifiedOn: true };
      at = linkIn(res.body as Record<string, unknown>, "@odata.nextLink");
    }
  }

  /** "Now" for the fallback: the newest modifiedon in the table, and the rows that have it. */
  private async modifiedOnBaseline(): Promise<ChangeBatch> {
    const columns = [...(this.idColumn ? [this.idColumn] : []), "modifiedon"].join(",");
    const res = await this.get(`${this.set}?$select=${columns}&$orderby=${encodeURIComponent("modifiedon desc")}`, `odata.maxpagesize=${BASELINE_ROWS}`);
    const rows = valuesOf(res.body);
    const newest = typeof rows[0]?.modifiedon === "string" ? rows[0].modifiedon : null;
    const seen = rows.filter((row) => row.modifiedon === newest).map((row) => seenKey(row, this.idColumn));
    return { ...this.batch(res, { key: this.key, modifiedOn: newest, seen }), changes: [], byModifiedOn: true };
  }

  private get(path: string, prefer = ""): Promise<ApiResponse> {
    const headers = { Prefer: [prefer, prefer.includes("maxpagesize") ? "" : `odata.maxpagesize=${MAX_PAGE_SIZE}`].filter(Boolean).join(",") };
    return this.ctx.send({ method: "GET", path, headers, table: this.set, idempotent: true, expect: "json" }, this.signal);
  }

  private batch(res: ApiResponse, position: ChangePosition): ChangeBatch {
    const requestId = requestIdOf(res.headers);
    return { changes: [], position, table: this.set, status: res.status, ...(requestId ? { requestId } : {}) };
  }

  private toChange(row: Record<string, unknown>): Change {
    const context = row["@odata.context"];
    if (typeof context === "string" && context.endsWith("/$deletedEntity")) {
      const id = typeof row.id === "string" ? row.id : undefined;
      return { change: "delete", rowId: id, row: { [this.idColumn ?? "id"]: id } };
    }
    const id = this.idColumn ? row[this.idColumn] : undefined;
    return { change: "upsert", ...(typeof id === "string" ? { rowId: id } : {}), row };
  }
}

function linkIn(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name];
  return typeof value === "string" && value ? value : undefined;
}

/** A row sent by the fallback: its id and version, so a later change at the same second is still seen. */
function seenKey(row: Record<string, unknown>, idColumn: string | undefined): string {
  return `${String(idColumn ? row[idColumn] : "")}@${String(row["@odata.etag"] ?? "")}`;
}

function withoutModifiedOn(row: Record<string, unknown>): Record<string, unknown> {
  const { modifiedon: _modifiedon, ...rest } = row;
  return rest;
}

function hasCode(err: unknown, code: string): boolean {
  return err instanceof DataverseError && err.code.toLowerCase() === code;
}

function changeTrackingOff(err: DataverseError, table: ResolvedTable): DataverseError {
  const name = table.info?.displayName ?? table.set;
  return err.with(
    {},
    `Change tracking is off for table '${table.set}'. Turn it on in Power Apps: Tables > ${name} > Properties > Advanced options > Track changes, and save. Or set the node's fallback to modifiedon, which cannot see deleted rows (${err.message})`,
  );
}

function noDeltaLink(res: ApiResponse): DataverseError {
  return new DataverseError({
    message: "Dataverse answered a change-tracking read without @odata.deltaLink or @odata.nextLink, so changes cannot be followed",
    status: res.status,
    code: ErrorCodes.invalidResponse,
    requestId: requestIdOf(res.headers),
  });
}
