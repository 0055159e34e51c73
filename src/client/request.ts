/** What an operation hands the pipeline, and what it gets back. */
import type { RequestOptions } from "./operations/request-options";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, text (an HTML page, a count), a Buffer (binary answers), or undefined when empty. */
  body: unknown;
  /** The request went with others, as one bulk message or $batch of this many. */
  bulk?: { via: BulkVia; size: number };
}

export type BulkMessage = "CreateMultiple" | "UpdateMultiple" | "UpsertMultiple";
export type BulkVia = BulkMessage | "$batch";

/** A write that may go with others of its kind and table, as one bulk message or one $batch. */
export interface BulkWrite {
  /** The bulk message, or $batch when the table lacks it. */
  via: BulkVia;
  message: BulkMessage;
  set: string;
  /** The table's logical name (a bulk message's targets carry it as @odata.type). */
  logicalName: string;
  /** The row's column values, as sent alone. */
  row: Record<string, unknown>;
  /** The id this write has, or undefined when it is addressed by alternate key. */
  id?: string;
  /** Addressed by alternate key: the key, to learn the row's id after an UpsertMultiple. */
  key?: Record<string, string | number | boolean>;
  idColumn: string;
  /** The id was chosen here, so a row with it that already exists can only be this write's. */
  generatedId?: boolean;
}

export interface ApiRequest {
  method: HttpMethod;
  /** Relative to the Web API root (`accounts(…)`), or an absolute URL inside it (a next link). */
  path: string;
  headers?: Record<string, string>;
  /** A JSON body, or a prepared body (multipart text, file bytes) with its content type. */
  body?: unknown;
  rawBody?: { contentType: string; text: string | Buffer };
  /** What a 2xx answer must hold: JSON (default when a body is expected), anything, or bytes. */
  expect?: "json" | "any" | "binary";
  /** The entity set, for error messages. */
  table?: string;
  /** Sending it twice leaves the same result, so it may be retried after an unanswered attempt. */
  idempotent: boolean;
  /** Shorter than the connection's timeout, for lookups that other requests wait on. */
  timeoutMs?: number;
  /** Retries of transient failures, when fewer than the connection's. */
  maxRetries?: number;
  /** Goes to the front of the queue: requests already waiting depend on it. */
  urgent?: boolean;
  /** A $batch: an error status with a multipart body is the operations' answers to read, not a failure. */
  answersInParts?: boolean;
  /** May go with other waiting writes of its kind and table (automatic bulk). */
  bulk?: BulkWrite;
  /** The call's request options: headers, and the tag on the URL (not on a $batch: its parts carry it). */
  options?: RequestOptions;
  /**
   * After an attempt whose answer was lost, some error answers mean that attempt succeeded (a create
   * meeting its own id, a delete meeting no row): this returns the answer to use instead, if so.
   * `exchange` sends a request within this attempt (same token, no new turn in the queue).
   */
  afterLostAnswer?: (res: ApiResponse, exchange: (req: ApiRequest) => Promise<ApiResponse>) => Promise<ApiResponse | undefined>;
}

/** One page of a query, as a flow sees it. */
export interface Page<T = Record<string, unknown>> {
  rows: T[];
  /** 1-based; undefined when a page was fetched through a next link whose number is unknown. */
  page?: number;
  status: number;
  requestId?: string;
  /** OData: the link to the next page. */
  nextLink?: string;
  /** FetchXML: the paging cookie for the next page (decoded, ready for paging-cookie="…"). */
  pagingCookie?: string;
  /** Dataverse has more rows after this page (also when maxRows cut the result short). */
  more: boolean;
  /** No page follows in this read: the result ended, or maxRows was reached. */
  last?: boolean;
  /** The table's primary id column, when known: each row's id. */
  idColumn?: string;
  count?: number;
  /** The count stopped at Dataverse's limit of 5,000. */
  countLimited?: boolean;
}
