/**
 * Query rows with OData or FetchXML. Output: all rows in one message, one message per page, or one
 * per row (with msg.parts, so a join node puts them back together). In page and row mode the next
 * page is fetched only after the previous one was sent on.
 */
import type { NodeAPI } from "node-red";
import type { Page } from "./client";
import { PageFailure } from "./client/operations/pages";
import { registerActionNode, type ActionContext } from "./shared/action-node";

type Output = "all" | "page" | "row";

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
        { signal },
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

  /** One message per page or per row, each sent before the next page is fetched. */
  async function stream({ msg, send }: ActionContext, pages: AsyncGenerator<Page>, output: Output): Promise<void> {
    const { payload: _payload, ...base } = msg;
    // Each row message gets its own row's id, or none: never the rowId of the message that started the query.
    if (output === "row") delete base.rowId;
    const id = RED.util.generateId();
    let index = 0;
    for await (const page of pages) {
      const items = output === "page" ? [page.rows] : page.rows;
      items.forEach((item, i) => {
        const last = page.last && i === items.length - 1;
        const parts = {
          id,
          index,
          type: "array",
          // Like split's chunk size: above 1 tells a join node to concatenate the pages (1 would mean single
          // rows), also for a page of one row or none.
          len: output === "page" ? Math.max(2, page.rows.length) : 1,
          ...(last ? { count: index + 1 } : {}),
          ...(msg.parts ? { parts: msg.parts } : {}),
        };
        const row = output === "row" ? (item as Record<string, unknown>) : undefined;
        const rowId = row && page.idColumn ? row[page.idColumn] : undefined;
        send({
          ...RED.util.cloneMessage(base),
          payload: item,
          parts,
          ...(rowId === undefined ? {} : { rowId }),
          dataverse: summary(page, output === "page" ? page.rows.length : 1),
        } as typeof msg);
        index++;
      });
    }
  }

  function summary(page: Page, rows: number): Record<string, unknown> {
    return {
      status: page.status,
      rows,
      page: page.page,
      more: page.more,
      ...(page.count === undefined ? {} : { count: page.count, countLimited: page.countLimited === true }),
      ...continuation(page),
      ...(page.requestId ? { requestId: page.requestId } : {}),
    };
  }

  /** What to send back to get the next page: msg.nextLink (OData), or msg.pagingCookie and msg.page (FetchXML). */
  function continuation(page: Page): Record<string, unknown> {
    if (page.nextLink) return { nextLink: page.nextLink };
    if (page.page === undefined || !(page.pagingCookie || (page.more && !page.last))) return {};
    return { ...(page.pagingCookie ? { pagingCookie: page.pagingCookie } : {}), nextPage: page.page + 1 };
  }
};
