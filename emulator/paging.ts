// Paging cookies as Dataverse writes them, for OData `$skiptoken` and FetchXML alike:
// `<cookie pagenumber="2" pagingcookie="<inner cookie, URL-encoded twice>" istracking="False" />`,
// where the inner cookie is `<cookie page="1"><accountid last="{GUID}" first="{GUID}" /></cookie>`.
import { badRequest } from "./errors";

/** Percent-encoding as the service writes it: everything but letters, digits and `-_.`, lowercase hex. */
export function urlEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*~]|%[0-9A-F]{2}/g, (m) => (m.length === 3 ? m.toLowerCase() : `%${m.charCodeAt(0).toString(16)}`));
}

const xmlEscape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const xmlUnescape = (text: string): string =>
  text.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);

/** One element of the inner cookie: a column with the values of the page's last and first rows. */
export interface CookieColumn {
  name: string;
  /** Null is written as `lastnull="1"` / `firstnull="1"`, like the real cookie. */
  last: string | null;
  first: string | null;
}

export function innerCookie(page: number, columns: CookieColumn[], extra: Record<string, string> = {}): string {
  const attrs = Object.entries(extra)
    .map(([k, v]) => ` ${k}="${xmlEscape(v)}"`)
    .join("");
  const value = (which: "last" | "first", v: string | null) => (v === null ? `${which}null="1"` : `${which}="${xmlEscape(v)}"`);
  const parts = columns.map((c) => `<${c.name} ${value("last", c.last)} ${value("first", c.first)} />`);
  return `<cookie page="${page}"${attrs}>${parts.join("")}</cookie>`;
}

/** The outer cookie the client gets back, announcing page `nextPage`. */
export function outerCookie(nextPage: number, inner: string): string {
  return `<cookie pagenumber="${nextPage}" pagingcookie="${urlEncode(urlEncode(inner))}" istracking="False" />`;
}

export interface ParsedCookie {
  page: number;
  /** Attributes of the `<cookie>` element besides `page`. */
  extra: Record<string, string>;
  columns: CookieColumn[];
}

/** Reads an inner cookie (already decoded); undefined when it is not one. */
export function parseInnerCookie(text: string): ParsedCookie | undefined {
  const m = text.trim().match(/^<cookie\s([^>]*)>(.*)<\/cookie>$/s);
  if (!m) return undefined;
  const attributes = (s: string) => Object.fromEntries([...s.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], xmlUnescape(a[2])]));
  const { page, ...extra } = attributes(m[1]);
  if (!/^\d+$/.test(page ?? "")) return undefined;
  const columns: CookieColumn[] = [];
  for (const el of m[2].matchAll(/<([\w]+)\s([^>]*?)\/>/g)) {
    const a = attributes(el[2]);
    columns.push({ name: el[1], last: a.lastnull === "1" ? null : (a.last ?? null), first: a.firstnull === "1" ? null : (a.first ?? null) });
  }
  return { page: Number(page), extra, columns };
}

/** The inner cookie of an outer one (as found in `$skiptoken`). */
export function innerOfOuter(outer: string): string {
  const paging = outer.match(/pagingcookie="([^"]*)"/)?.[1];
  try {
    if (paging !== undefined) return decodeURIComponent(decodeURIComponent(paging));
  } catch {
    // fall through to the error
  }
  throw badRequest("The $skiptoken value is not a valid paging cookie.");
}

/** `{GUID}` in upper case, as ids appear in paging cookies. */
export const cookieGuid = (id: string): string => `{${id.toUpperCase()}}`;
