/**
 * Input checks that run before any request is sent, so a bad message fails fast with a message that
 * names the field and says what to do, and never reaches the network.
 */
import { connectionError, inputError } from "./errors";

export type KeyValue = string | number | boolean;
export type AlternateKey = Record<string, KeyValue>;
/** A row is addressed by its GUID or by the values of an alternate key. */
export type RowRef = { id: string } | { key: AlternateKey };
export type Row = Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GUID = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function checkTable(value: unknown): string {
  if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) {
    throw inputError("table", "table is empty: set the node's Table to an entity set name, for example accounts");
  }
  if (typeof value !== "string") {
    throw inputError("table", `table must be text (an entity set name such as accounts), not ${describe(value)}`);
  }
  const table = value.trim();
  if (!IDENTIFIER.test(table)) {
    throw inputError("table", `table '${table}' is not an entity set name: use letters, digits and underscores only, for example accounts or dv_iotdevices`);
  }
  return table;
}

export function checkRowId(value: unknown): RowRef {
  if (typeof value === "string") {
    const match = GUID.exec(value.trim());
    if (!match) {
      throw inputError(
        "rowId",
        `rowId '${truncate(value)}' is not a row id: use a GUID like 00000000-0000-0000-0000-000000000001, or an alternate key object like {"accountnumber":"ACC-001"}`,
      );
    }
    return { id: match[1].toLowerCase() };
  }
  if (!isPlainObject(value)) {
    throw inputError(
      "rowId",
      `rowId is missing or not usable (${describe(value)}): use a row GUID, or an alternate key object like {"accountnumber":"ACC-001"}`,
    );
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    throw inputError("rowId", 'rowId is an empty object: an alternate key needs at least one column, like {"accountnumber":"ACC-001"}');
  }
  for (const [column, v] of entries) {
    if (!IDENTIFIER.test(column)) {
      throw inputError("rowId", `rowId key column '${truncate(column)}' is not a column name: use letters, digits and underscores only`);
    }
    const ok = typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
    if (!ok) {
      throw inputError("rowId", `rowId key column '${column}' has ${describe(v)} as its value: alternate key values must be text, numbers or true/false`);
    }
  }
  return { key: value as AlternateKey };
}

export function checkRow(value: unknown, field = "row"): Row {
  if (!isPlainObject(value)) {
    throw inputError(field, `${field} must be an object of column values, like {"name":"Contoso"}, not ${describe(value)}`);
  }
  return value;
}

/** $select: a comma list or an array of column names. Returns undefined when nothing is selected. */
export function checkSelect(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const columns = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : undefined;
  if (!columns) throw inputError("select", `select must be a comma-separated list of column names or an array of them, not ${describe(value)}`);
  const names = columns.map((c) => (typeof c === "string" ? c.trim() : c)).filter((c) => c !== "");
  for (const name of names) {
    if (typeof name !== "string" || !IDENTIFIER.test(name)) {
      throw inputError("select", `select contains '${truncate(String(name))}', which is not a column name: use logical names like name,telephone1`);
    }
  }
  return names.length ? (names as string[]) : undefined;
}

/** $expand is passed through, but it may not smuggle in other query options or break out of the URL. */
export function checkExpand(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw inputError("expand", `expand must be text like primarycontactid($select=fullname), not ${describe(value)}`);
  const expand = value.trim();
  if (/[&?#\r\n]/.test(expand) || !/^[A-Za-z_]/.test(expand)) {
    throw inputError("expand", `expand '${truncate(expand)}' is not a navigation property list: write it like primarycontactid($select=fullname)`);
  }
  return expand;
}

export function checkEtag(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || /[\r\n]/.test(value)) {
    throw inputError("etag", `msg.etag must be the etag text of a row, like W/"12345", not ${describe(value)}`);
  }
  return value.trim();
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** The environment URL as an origin: https, or plain http only for a loopback host (a local emulator or proxy). */
export function checkEnvironmentUrl(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw connectionError("url", "The connection has no environment URL: set it to your environment, for example https://yourorg.crm.dynamics.com");
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw connectionError("url", `The environment URL '${truncate(value)}' is not a URL: write it like https://yourorg.crm.dynamics.com`);
  }
  const loopback = LOOPBACK.has(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw connectionError("url", `The environment URL must start with https:// (plain http is only allowed for localhost), got '${truncate(value)}'`);
  }
  if (/\/api\/data/i.test(url.pathname)) {
    throw connectionError("url", `The environment URL should be the environment root, like ${url.origin}, without /api/data/...`);
  }
  return url.origin;
}

/**
 * A plain object, also when it was made in another realm: a function node's sandbox has its own
 * Object.prototype, so its objects are not `instanceof Object` here.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  if (Object.prototype.toString.call(value) !== "[object Object]") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (undefined)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (Buffer.isBuffer(value)) return "a Buffer";
  if (typeof value === "object") return `an object of type ${value.constructor?.name ?? "unknown"}`;
  if (typeof value === "string") return `the text '${truncate(value)}'`;
  return `the ${typeof value} ${String(value)}`;
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
