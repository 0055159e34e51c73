/**
 * Query rows with FetchXML, page by page through the paging cookie. The table comes from
 * <entity name="…"> (a logical name), resolved to its entity set through the metadata cache.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { inputError } from "../errors";
import { requestIdOf } from "../pipeline";
import type { Page } from "../request";
import { valuesOf } from "../response";
import { resolveTable, type OperationContext } from "./context";
import { checkWholeNumber, readPages, type Continuation, type PageSource, type PagingOptions } from "./pages";
import { MAX_PAGE_SIZE, preferHeader, type QueryOptions } from "./query";

const PAGING_COOKIE = "Microsoft.Dynamics.CRM.fetchxmlpagingcookie";
const MORE_RECORDS = "Microsoft.Dynamics.CRM.morerecords";
const TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount";
const COUNT_LIMITED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded";
const FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue";
/** The <fetch …> start tag; attribute values may hold '>'. */
const FETCH_TAG = /<fetch\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/;
const ATTRIBUTE = /([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

interface ParsedFetch {
  entity: string;
  attributes: Map<string, string>;
}

/** Checks FetchXML before anything is sent: well-formed, a <fetch> with an <entity name>. */
export function parseFetchXml(value: unknown): ParsedFetch & { xml: string } {
  if (typeof value !== "string" || value.trim() === "") {
    throw inputError("fetchXml", 'fetchXml is empty: write a query like <fetch><entity name="account"><attribute name="name"/></entity></fetch>');
  }
  const xml = value.trim();
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw inputError("fetchXml", `fetchXml is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml) as Record<string, unknown>;
  const fetch = doc.fetch as Record<string, unknown> | undefined;
  if (!fetch || typeof fetch !== "object")
    throw inputError("fetchXml", 'fetchXml must start with <fetch>, like <fetch><entity name="account">…</entity></fetch>');
  const entity = fetch.entity as Record<string, unknown> | undefined;
  const name = entity && typeof entity === "object" && !Array.isArray(entity) ? entity.name : undefined;
  if (typeof name !== "string" || !/^[A-Za-z_]\w*$/.test(name)) {
    throw inputError("fetchXml", 'fetchXml has no <entity name="…"> with a table\'s logical name, like <entity name="account">');
  }
  return { xml, entity: name, attributes: fetchAttributes(xml) };
}

function fetchAttributes(xml: string): Map<string, string> {
  const tag = FETCH_TAG.exec(xml)!;
  return new Map([...tag[1].matchAll(ATTRIBUTE)].map((m) => [m[1], unescapeXml(m[2] ?? m[3])]));
}

/** The same FetchXML with these <fetch> attributes set (undefined removes one). */
export function withFetchAttributes(xml: string, changes: Record<string, string | undefined>): string {
  const attributes = fetchAttributes(xml);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) attributes.delete(name);
    else attributes.set(name, value);
  }
  const text = [...attributes].map(([name, value]) => ` ${name}="${escapeXml(value)}"`).join("");
  return xml.replace(FETCH_TAG, (_tag, _attrs, selfClosing: string) => `<fetch${text}${selfClosing}>`);
}

export async function fetchXmlQuery(
  ctx: OperationContext,
  fetchXml: unknown,
  options: QueryOptions,
  call: Pick<PagingOptions, "signal">,
  resume?: { pagingCookie?: unknown; page?: unknown },
): Promise<AsyncGenerator<Page>> {
  const parsed = parseFetchXml(fetchXml);
  const { attributes } = parsed;
  // A query with top, or an aggregate, is one page; otherwise it pages by the cookie.
  const paged = !attributes.has("top") && attributes.get("aggregate") !== "true";
  const pageSize = fetchNumber(attributes, "count", MAX_PAGE_SIZE) ?? (options.maxRows > 0 ? Math.min(options.pageSize, options.maxRows) : options.pageSize);
  const firstPage =
    resume?.page !== undefined
      ? checkWholeNumber("page", resume.page, 1, Number.MAX_SAFE_INTEGER, 1)
      : (fetchNumber(attributes, "page", Number.MAX_SAFE_INTEGER) ?? 1);
  const cookie = resume?.pagingCookie;
  if (cookie !== undefined && cookie !== null && (typeof cookie !== "string" || !cookie.startsWith("<cookie"))) {
    throw inputError("pagingCookie", "msg.pagingCookie must be the paging cookie a query put in msg.dataverse.pagingCookie");
  }
  const { set, info } = await resolveTable(ctx, parsed.entity);
  const idColumn = info?.primaryIdAttribute;
  const annotations = [
    PAGING_COOKIE,
    MORE_RECORDS,
    ...(options.formattedValues ? [FORMATTED_VALUE] : []),
    ...(options.count ? [TOTAL_COUNT, COUNT_LIMITED] : []),
  ];
  const headers = preferHeader(undefined, annotations);
  const source: PageSource = {
    request(at) {
      const xml = withFetchAttributes(parsed.xml, {
        ...(paged ? { count: String(pageSize), page: String(at.page), "paging-cookie": at.pagingCookie } : {}),
        ...(options.count ? { returntotalrecordcount: "true" } : {}),
      });
      return { method: "GET", path: `${set}?fetchXml=${encodeURIComponent(xml)}`, headers, table: set, idempotent: true, expect: "json" };
    },
    read(res, at) {
      const body = res.body as Record<string, unknown>;
      const more = paged && body[`@${MORE_RECORDS}`] === true;
      const count = typeof body[`@${TOTAL_COUNT}`] === "number" && options.count ? (body[`@${TOTAL_COUNT}`] as number) : undefined;
      return {
        rows: valuesOf(body),
        idColumn,
        page: at.page,
        status: res.status,
        requestId: requestIdOf(res.headers),
        more,
        pagingCookie: more ? innerCookie(body[`@${PAGING_COOKIE}`]) : undefined,
        ...(count === undefined || count < 0 ? {} : { count, countLimited: body[`@${COUNT_LIMITED}`] === true }),
      };
    },
    // Without a cookie (some queries return none), Dataverse pages by number alone.
    next: (page): Continuation | undefined => (page.more ? { page: page.page! + 1, pagingCookie: page.pagingCookie } : undefined),
  };
  return readPages(
    ctx,
    source,
    { page: firstPage, pagingCookie: typeof cookie === "string" ? cookie : undefined },
    // A message that names its page (msg.page, with msg.pagingCookie) pulls just that page.
    { maxRows: options.maxRows, signal: call.signal, onePage: resume?.page !== undefined || typeof cookie === "string" },
  );
}

/** A whole-number attribute of <fetch>, checked like the node's own settings. */
function fetchNumber(attributes: Map<string, string>, name: string, max: number): number | undefined {
  const text = attributes.get(name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw inputError("fetchXml", `fetchXml has <fetch ${name}="${text}">: ${name} must be a whole number from 1 to ${max}`);
  return n;
}

/** `<cookie pagenumber="2" pagingcookie="%253ccookie…" />` → the inner cookie, decoded twice. */
function innerCookie(annotation: unknown): string | undefined {
  if (typeof annotation !== "string") return undefined;
  const encoded = /pagingcookie="([^"]*)"/.exec(annotation)?.[1];
  if (encoded === undefined) return undefined;
  try {
    return decodeURIComponent(decodeURIComponent(unescapeXml(encoded)));
  } catch {
    return undefined;
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
