/**
 * Reading a query page by page, for OData and FetchXML alike: the next page is fetched only when the
 * caller asks for it, rows stop at maxRows, and a failure says which page failed and how to resume.
 */
import { DataverseError, inputError } from "../errors";
import type { ApiRequest, ApiResponse, Page } from "../request";
import type { CallOptions, OperationContext } from "./context";

/** Where a page is, and where the next one would be: the part of a Page a flow resumes from. */
export interface Continuation {
  page?: number;
  nextLink?: string;
  pagingCookie?: string;
}

export interface PageSource {
  request(at: Continuation): ApiRequest;
  read(res: ApiResponse, at: Continuation): Page;
  /** Where the page after `page` is; undefined when it was the last. */
  next(page: Page): Continuation | undefined;
}

export interface PagingOptions extends CallOptions {
  /** Stop after this many rows; 0 = all. */
  maxRows: number;
  /** Read just the first page (a flow pulling one page at a time); its continuation stays. */
  onePage?: boolean;
}

export async function* readPages(ctx: OperationContext, source: PageSource, start: Continuation, options: PagingOptions): AsyncGenerator<Page> {
  let at: Continuation | undefined = start;
  let sent = 0;
  while (at) {
    let page: Page;
    try {
      page = source.read(await ctx.send(source.request(at), options.signal), at);
    } catch (err) {
      throw failedAt(err, at, sent);
    }
    const room = options.maxRows === 0 ? Number.POSITIVE_INFINITY : options.maxRows - sent;
    if (page.rows.length >= room) {
      // Cut short: the continuation would skip the rows left out of this page, so it is dropped then.
      const cut = page.rows.length > room;
      const rows = cut ? page.rows.slice(0, room) : page.rows;
      const more = cut || page.more;
      yield cut ? { ...page, rows, more, last: true, nextLink: undefined, pagingCookie: undefined } : { ...page, more, last: true };
      return;
    }
    sent += page.rows.length;
    at = source.next(page);
    if (options.onePage) {
      yield { ...page, last: true };
      return;
    }
    yield at ? page : { ...page, last: true };
  }
}

function failedAt(err: unknown, at: Continuation, rowsBefore: number): unknown {
  // Nothing was handed out yet: sending the same message again is the way to resume.
  if (!(err instanceof DataverseError) || rowsBefore === 0) return err;
  return new PageFailure(err, at, rowsBefore);
}

/**
 * A page that failed after earlier pages were handed to the caller: says which, and carries the
 * continuation (in msg.dataverse) to resume from it, for a caller that sent those rows on.
 */
export class PageFailure extends DataverseError {
  constructor(
    readonly original: DataverseError,
    readonly at: Continuation,
    readonly rowsBefore: number,
  ) {
    const resume = at.nextLink
      ? "To resume, send msg.nextLink = msg.dataverse.nextLink"
      : "To resume, send msg.pagingCookie = msg.dataverse.pagingCookie and msg.page = msg.dataverse.nextPage";
    const continuation = { page: at.page, nextLink: at.nextLink, pagingCookie: at.pagingCookie, nextPage: at.nextLink ? undefined : at.page };
    super({
      ...original.init(),
      message: `${PageFailure.which(at)} of the query failed after ${rowsBefore} rows were sent on: ${original.message}. ${resume}`,
      details: { ...original.details, ...withoutUndefined(continuation) },
    });
  }

  /**
   * The same failure for a caller that kept the rows instead of sending them on (one message with all
   * rows): resuming at the failed page would lose them, so it says to send the message again.
   */
  nothingSent(): DataverseError {
    const message = `${PageFailure.which(this.at)} of the query failed after ${this.rowsBefore} rows were read, so no rows were sent on: ${this.original.message}. Send the message again to run the query from the start`;
    return this.original.with(withoutUndefined({ page: this.at.page }), message);
  }

  private static which(at: Continuation): string {
    return at.page === undefined ? "A page" : `Page ${at.page}`;
  }
}

export function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** A whole number in [min, max], or the default when empty. */
export function checkWholeNumber(field: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = typeof value === "string" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    const shown = typeof value === "number" ? String(value) : JSON.stringify(value);
    throw inputError(field, `${field} must be a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? "up" : max}, not ${shown}`);
  }
  return n;
}
