// What the emulator saw: a bounded log of requests (both servers) and running counters.
import type { WebServerStats } from "./webservers";

export type ServerName = "dataverse" | "login" | "identity";

export interface RequestLogEntry {
  /** Increases across both servers and never restarts, so `since` filters stay valid after clears. */
  seq: number;
  /** Arrival, ms since the epoch. */
  time: number;
  server: ServerName;
  method: string;
  /** Path as received (still percent-encoded), without the query string. */
  path: string;
  /** Raw query string without `?` ("" when none). */
  query: string;
  /** All request headers, names lowercased, repeated headers joined with ", ". */
  headers: Record<string, string>;
  body?: string;
  /** Status sent; 0 while pending and when the connection was reset or left hanging. */
  status: number;
  durationMs: number | null;
  /** Arrival and completion, ms since the epoch with sub-ms precision; endedAt null while pending. */
  startedAt: number;
  endedAt: number | null;
  /** Dataverse requests that reached a handler: operations carried (1; bulk: targets; `$batch`: its requests). */
  operations?: number;
  /** Dataverse requests: index of the web server that took it (see `webServers`). */
  webServer?: number;
  /**
   * Dataverse requests past authentication: who it ran as and the request options it honoured
   * (CallerObjectId, MSCRM.Bypass…, MSCRM.SuppressDuplicateDetection headers, the tag parameter).
   * A `$batch`'s parts may set their own: they are in its body.
   */
  ranAs?: RanAs;
}

export interface RanAs {
  /** The systemuser the request runs as: the app's application user, or the user it acts for. */
  userId: string;
  /** When acting for another user: the application user that really called (createdonbehalfby). */
  onBehalfOf?: string;
  bypassPlugins: boolean;
  /** "CustomSync", "CustomAsync", "CustomSync,CustomAsync", or "" (none). */
  bypassBusinessLogic: string;
  suppressDuplicateDetection?: boolean;
  tag?: string;
}

export const MAX_LOG_ENTRIES = 50_000;

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private nextSeq = 1;

  add(entry: Omit<RequestLogEntry, "seq">): RequestLogEntry {
    const full = { seq: this.nextSeq++, ...entry };
    this.entries.push(full);
    // Trim in batches so a busy benchmark does not pay for a shift on every request.
    if (this.entries.length > MAX_LOG_ENTRIES * 1.1) this.entries.splice(0, this.entries.length - MAX_LOG_ENTRIES);
    return full;
  }

  list(filter: { server?: ServerName; since?: number } = {}): RequestLogEntry[] {
    const since = filter.since ?? 0;
    return this.entries
      .slice(-MAX_LOG_ENTRIES)
      .filter((e) => e.seq > since && (!filter.server || e.server === filter.server))
      .map((e) => ({ ...e, headers: { ...e.headers } }));
  }

  clear(): void {
    this.entries = [];
  }
}

export interface EmulatorStats {
  /** Requests to the Dataverse server (control API excluded), whatever their outcome. */
  dataverseRequests: number;
  /** POSTs to a token endpoint (v1 or v2), whatever their outcome. */
  tokenRequests: number;
  /** GETs of an openid-configuration document. */
  openidConfigRequests: number;
  /** Dataverse requests past authentication and still being processed. */
  currentConcurrency: number;
  /** Highest currentConcurrency since start or the last stats reset. */
  peakConcurrency: number;
  /** 429 responses sent by either server (limits and injected faults). */
  throttled: number;
  /** Rows created, updated and deleted by committed Web API writes (seeding and lookups cleared by a delete not counted). */
  rowsCreated: number;
  rowsUpdated: number;
  rowsDeleted: number;
  /** Per web server: its requests, 429s, concurrency and current window. */
  servers: WebServerStats[];
}

/** Rows written by one request; only committed writes reach the totals. */
export interface WriteTally {
  created: number;
  updated: number;
  deleted: number;
}

export const newTally = (): WriteTally => ({ created: 0, updated: 0, deleted: 0 });

export function addTally(into: WriteTally, from: WriteTally): void {
  into.created += from.created;
  into.updated += from.updated;
  into.deleted += from.deleted;
}

export class Stats {
  dataverseRequests = 0;
  tokenRequests = 0;
  openidConfigRequests = 0;
  currentConcurrency = 0;
  peakConcurrency = 0;
  throttled = 0;
  readonly rows = newTally();

  enter(): void {
    this.currentConcurrency++;
    if (this.currentConcurrency > this.peakConcurrency) this.peakConcurrency = this.currentConcurrency;
  }

  leave(): void {
    this.currentConcurrency--;
  }

  /** Counters back to zero; requests still in flight stay counted as in flight. */
  reset(): void {
    this.dataverseRequests = 0;
    this.tokenRequests = 0;
    this.openidConfigRequests = 0;
    this.throttled = 0;
    this.peakConcurrency = this.currentConcurrency;
    Object.assign(this.rows, newTally());
  }

  snapshot(servers: WebServerStats[]): EmulatorStats {
    return {
      dataverseRequests: this.dataverseRequests,
      tokenRequests: this.tokenRequests,
      openidConfigRequests: this.openidConfigRequests,
      currentConcurrency: this.currentConcurrency,
      peakConcurrency: this.peakConcurrency,
      throttled: this.throttled,
      rowsCreated: this.rows.created,
      rowsUpdated: this.rows.updated,
      rowsDeleted: this.rows.deleted,
      servers,
    };
  }
}
