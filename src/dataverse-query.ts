/**
 * Query rows with OData or FetchXML. Output: all rows in one message, one message per page, or one
 * per row (with msg.parts, so a join node puts them back together). In page and row mode the next
 * page is fetched only after the previous one was sent on.
 */
import type { NodeAPI } from "node-red";
import type { Page } from "./client";
import { PageFailure } from "./client/operations/pages";
import { registerActionNode, type ActionContext, type Message } from "./shared/action-node";
import { readRequestOptions } from "./shared/request-options";

type Output = "all" | "page" | "row";

/** Row messages sent before waiting for the next node to take them. */
const ROW_BATCH = 500;

/** Resolves once the messages sent so far were handed to the next nodes (they are delivered in order). */
const delivered = () => new Promise<void>((resolve) => setImmediate(resolve));

export = function (RED: NodeAPI): void {
  registerActionNode(RED, "dataverse-query", {
    defaults: { maxRows: { value: "5000", type: "num" }, pageSize: { value: "5000", type: "num" } },
    async run(ctx) {
      const { client, msg, input, config, signal } = ctx;
      const fetchXml = config.queryType === "fetchxml";
      const pages = await client.query(
        {
          queryType: config.queryType || "odata",
          ...(fetchXml
            ? { fetchXml: await input("fetchXml") }
            : {
                table: await input("table"),
                select: await input("select"),
                filter: await input("filter"),
                orderby: await input("orderby"),
                expand: await input("expand"),
              }),
          pageSize: await input("pageSize"),
          maxRows: await input("maxRows"),
          count: config.count === true,
          formattedValues: config.formattedValues === true,
          nextLink: msg.nextLink,
          pagingCookie: msg.pagingCookie,
          page: msg.page,
        },
        { requestOptions: await readRequestOptions(input), signal },
      );
      const output = (config.output || "all") as Output;
      if (output === "all") return all(pages);
      await stream(ctx, pages, output);
    },
    output(msg, result) {
      msg.payload = result.row;
    },
  });

  /** Every row in one message. */
  async function all(pages: AsyncGenerator<Page>) {
    const rows: unknown[] = [];
    let last: Page | undefined;
    try {
      for await (const page of pages) {
        for (const row of page.rows) rows.push(row);
        last = page;
      }
    } catch (err) {
      // The rows read so far were never sent on: resuming at the failed page would lose them.
      throw err instanceof PageFailure ? err.nothingSent() : err;
    }
    return { status: last!.status, requestId: last!.requestId, row: rows, details: summary(last!, rows.length) };
  }

  /**
   * One message per page or per row. Node-RED delivers each message in a setImmediate of its own, so
   * waiting for one queued after them means the next node has taken them: the next page is read only
   * then, and rows go out in batches of ROW_BATCH, so a slow flow never piles up pages in memory and the
   * messages of a large read die young, where garbage is cheap to collect.
   */
  async function stream({ msg, send }: ActionContext, pages: AsyncGenerator<Page>, output: Output): Promise<void> {
    // The rest of the message goes with every message, but not its payload and parts (each gets its own),
    // nor in row output its rowId: each row message gets its own row's id or none, never the rowId of the
    // message that started the query.
    const base: Record<string, unknown> = {};
    for (const key of Object.keys(msg)) if (key !== "payload" && key !== "parts" && !(key === "rowId" && output === "row")) base[key] = msg[key];
    // Every message gets its own copy: a shallow one when the message holds only plain values (as an
    // inject node's does), else Node-RED's deep clone.
    const flat = Object.values(base).every((value) => value === null || typeof value !== "object");
    const copyBase = flat ? (): Record<string, unknown> => ({ ...base }) : (): Record<string, unknown> => RED.util.cloneMessage(base);
    const id = RED.util.generateId();
    let index = 0;
    for await (const page of pages) {
      const items = output === "page" ? [page.rows] : page.rows;
      const details = summary(page, output === "page" ? page.rows.length : 1);
      // Like split's chunk size: above 1 tells a join node to concatenate the pages (1 would mean single
      // rows), also for a page of one row or none.
      const len = output === "page" ? Math.max(2, page.rows.length) : 1;
      const idColumn = output === "row" ? page.idColumn : undefined;
      for (let i = 0; i < items.length; i++) {
        const parts: Record<string, unknown> = { id, index, type: "array", len };
        if (page.last && i === items.length - 1) parts.count = index + 1;
        if (msg.parts) parts.parts = msg.parts;
        const out = copyBase();
        const item = items[i];
        // The page does not hold on to a row it sent on: it can be collected once the flow is done with it.
        if (output === "row") (items as unknown[])[i] = undefined;
        out.payload = item;
        out.parts = parts;
        const rowId = idColumn ? (item as Record<string, unknown>)[idColumn] : undefined;
        if (rowId !== undefined) out.rowId = rowId;
        out.dataverse = { ...details };
        send(out as Message);
        index++;
        if ((i + 1) % ROW_BATCH === 0) await delivered();
      }
      await delivered();
    }
  }

  function summary(page: Page, rows: number): Record<string, unknown> {
    const details: Record<string, unknown> = { status: page.status, rows, page: page.page, more: page.more };
    if (page.count !== undefined) {
      details.count = page.count;
      details.countLimited = page.countLimited === true;
    }
    Object.assign(details, continuation(page));
    if (page.requestId) details.requestId = page.requestId;
    return details;
  }

  /** What to send back to get the next page: msg.nextLink (OData), or msg.pagingCookie and msg.page (FetchXML). */
  function continuation(page: Page): Record<string, unknown> {
    if (page.nextLink) return { nextLink: page.nextLink };
    if (page.page === undefined || !(page.pagingCookie || (page.more && !page.last))) return {};
    return { ...(page.pagingCookie ? { pagingCookie: page.pagingCookie } : {}), nextPage: page.page + 1 };
  }
};
