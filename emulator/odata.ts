// OData URL and header parsing: path segments, key predicates, query options, literals,
// $select / $expand lists, Prefer and If-Match / If-None-Match.
import { badRequest } from "./errors";
import type { Value } from "./values";
import { GUID_RE } from "./util";

const querySyntaxError = () => badRequest("Bad Request - Error in query syntax.");

/** Percent-decoding that turns malformed escapes into a 400 instead of a crash. */
export function decode(text: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, " ") : text);
  } catch {
    throw querySyntaxError();
  }
}

/** Query string → options. `+` means space (axios and forms encode spaces so). */
export function parseQuery(rawQuery: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const part of rawQuery.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const name = decode(eq < 0 ? part : part.slice(0, eq), true);
    const value = eq < 0 ? "" : decode(part.slice(eq + 1), true);
    if (options.has(name) && name.startsWith("$")) {
      throw badRequest(`Query option '${name}' was specified more than once, but it must be specified at most once.`);
    }
    options.set(name, value);
  }
  return options;
}

export interface Segment {
  name: string;
  /** Text between the parentheses; undefined when the segment has none. */
  args?: string;
}

/** `accounts(accountnumber='A%2F1')` → {name:"accounts", args:"accountnumber='A/1'"}; the whole segment may be encoded. */
export function parseSegment(raw: string): Segment {
  const text = decode(raw);
  const open = text.indexOf("(");
  if (open < 0) return { name: text };
  if (!text.endsWith(")")) throw querySyntaxError();
  return { name: text.slice(0, open), args: text.slice(open + 1, -1) };
}

// ---------------------------------------------------------------------------------------------
// Literals and tokens (shared by key predicates and $filter)

export type Token =
  | { kind: "string"; value: string; pos: number }
  | { kind: "number"; value: number; pos: number }
  | { kind: "guid"; value: string; pos: number }
  | { kind: "datetime"; value: string; pos: number }
  | { kind: "ident"; value: string; pos: number }
  | { kind: "punct"; value: "(" | ")" | "," | "="; pos: number };

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?(?![\w-])/i;
const NUMBER_RE = /^-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.])/;
const IDENT_RE = /^[A-Za-z_][\w.]*/;
const GUID_PREFIX_RE = new RegExp(`^${GUID_RE.source.slice(1, -1)}(?![\\w-])`, "i");

/** Splits an expression into tokens; `onError(pos)` builds the error for bad input. */
export function tokenize(text: string, onError: (pos: number) => Error): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const rest = text.slice(i);
    let m: RegExpMatchArray | null;
    if (/\s/.test(ch)) {
      i++;
    } else if ("(),=".includes(ch)) {
      tokens.push({ kind: "punct", value: ch as "(" | ")" | "," | "=", pos: i });
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw onError(start);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: "string", value, pos: start });
    } else if ((m = rest.match(GUID_PREFIX_RE))) {
      tokens.push({ kind: "guid", value: m[0].toLowerCase(), pos: i });
      i += m[0].length;
    } else if ((m = rest.match(DATETIME_RE))) {
      tokens.push({ kind: "datetime", value: m[0], pos: i });
      i += m[0].length;
    } else if ((m = rest.match(NUMBER_RE))) {
      tokens.push({ kind: "number", value: Number(m[0]), pos: i });
      i += m[0].length;
    } else if ((m = rest.match(IDENT_RE))) {
      i += m[0].length;
      // Enum literal: Microsoft.Dynamics.CRM.AttributeTypeCode'Lookup' → the string 'Lookup'.
      if (text[i] === "'" && m[0].includes(".")) continue;
      tokens.push({ kind: "ident", value: m[0], pos: i - m[0].length });
    } else {
      throw onError(i);
    }
  }
  return tokens;
}

/** A literal token as a value; undefined when the token is not a literal. */
export function literalValue(t: Token | undefined): Value | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case "string":
    case "guid":
    case "datetime":
    case "number":
      return t.value;
    case "ident":
      if (t.value === "true") return true;
      if (t.value === "false") return false;
      if (t.value === "null") return null;
      return undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Key predicates

export type KeyPredicate = { kind: "id"; id: string } | { kind: "named"; values: Record<string, Value> };

/** `00000000-…` | `accountnumber='A1'` | `firstname='Jo',emailaddress1='j@x.com'`. */
export function parseKeyPredicate(args: string): KeyPredicate {
  const tokens = tokenize(args, () => querySyntaxError());
  if (tokens.length === 1 && tokens[0].kind === "guid") return { kind: "id", id: tokens[0].value };
  if (tokens.length === 1) {
    throw badRequest(`Unrecognized 'Edm.Guid' literal '${args}' at '0' in '${args}'.`);
  }
  const values: Record<string, Value> = {};
  let i = 0;
  while (i < tokens.length) {
    const [name, eq, lit, sep] = tokens.slice(i, i + 4);
    const value = literalValue(lit);
    if (name?.kind !== "ident" || eq?.kind !== "punct" || eq.value !== "=" || value === undefined) throw querySyntaxError();
    if (name.value in values) throw querySyntaxError();
    values[name.value] = value;
    i += 3;
    if (sep) {
      if (sep.kind !== "punct" || sep.value !== "," || i + 1 >= tokens.length) throw querySyntaxError();
      i++;
    }
  }
  return { kind: "named", values };
}

// ---------------------------------------------------------------------------------------------
// $select / $expand

/** Splits on `sep` outside parentheses and quotes. */
export function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/** `$select=name,revenue` → ["name","revenue"] (validation is the caller's, per table). */
export function parseSelect(text: string): string[] {
  const names = text.split(",").map((s) => s.trim());
  if (names.some((n) => !/^[A-Za-z_][\w]*$/.test(n))) throw querySyntaxError();
  return [...new Set(names)];
}

export interface ExpandItem {
  navigation: string;
  /** Nested options, e.g. `$select` → `contactid,fullname`. */
  options: Map<string, string>;
}

/** `primarycontactid($select=fullname;$filter=...),parentcustomerid_account`. */
export function parseExpand(text: string): ExpandItem[] {
  return splitTopLevel(text, ",").map((item) => {
    const m = item.match(/^([A-Za-z_][\w]*)\s*(?:\((.*)\))?$/s);
    if (!m) throw querySyntaxError();
    const options = new Map<string, string>();
    for (const opt of m[2] ? splitTopLevel(m[2], ";") : []) {
      const eq = opt.indexOf("=");
      if (eq < 0) throw querySyntaxError();
      options.set(opt.slice(0, eq).trim(), opt.slice(eq + 1).trim());
    }
    return { navigation: m[1], options };
  });
}

// ---------------------------------------------------------------------------------------------
// Headers

export interface Preferences {
  returnRepresentation: boolean;
  maxPageSize?: number;
  /** Value of odata.include-annotations without quotes, e.g. `*` or `OData.Community.Display.V1.FormattedValue`. */
  includeAnnotations?: string;
  /** `odata.continue-on-error` (a `$batch` goes on after a failed request). */
  continueOnError: boolean;
  /** `odata.track-changes`: the answer ends with a delta link. */
  trackChanges?: boolean;
}

/** `Prefer` may be repeated and/or comma-separated; quoted values may contain commas. */
export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { returnRepresentation: false, continueOnError: false };
  if (!header) return prefs;
  for (const part of splitQuoted(header)) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ""
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, "$1");
    if (name === "return" && value === "representation") prefs.returnRepresentation = true;
    else if (name === "odata.maxpagesize" && /^\d+$/.test(value) && Number(value) > 0) prefs.maxPageSize = Number(value);
    else if (name === "odata.include-annotations") prefs.includeAnnotations = value;
    else if (name === "odata.continue-on-error") prefs.continueOnError = value === "" || value === "true";
    else if (name === "odata.track-changes") prefs.trackChanges = true;
  }
  return prefs;
}

function splitQuoted(text: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === "," && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** An If-Match / If-None-Match condition: `*` or a list of row versions. */
export type Condition = { any: true } | { any: false; versions: string[] };

/** Parses If-Match / If-None-Match. The literal `null` (sent to defeat caches) means "no condition". */
export function parseCondition(header: string | undefined): Condition | undefined {
  const v = header?.trim();
  if (!v || v.toLowerCase() === "null") return undefined;
  if (v === "*") return { any: true };
  return { any: false, versions: splitQuoted(v).map((t) => t.replace(/^W\//i, "").replace(/^"(.*)"$/, "$1")) };
}

/** Whether `condition` matches a row of version `version`. */
export function conditionMatches(condition: Condition, version: number): boolean {
  return condition.any || condition.versions.includes(String(version));
}
