// A modest $filter / $orderby: comparisons (eq ne gt ge lt le), and/or/not, parentheses,
// contains/startswith/endswith. Text compares like Dataverse's SQL collation (case-insensitive).
import { badRequest } from "./errors";
import { literalValue, tokenize, type Token } from "./odata";
import { fold } from "./store";
import type { Value } from "./values";
import { parseDateTime } from "./values";

type CompareOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
type TextFunction = "contains" | "startswith" | "endswith";

export type FilterExpr =
  | { kind: "compare"; op: CompareOp; property: string; value: Value; literal: Token }
  | { kind: "function"; name: TextFunction; property: string; value: string }
  | { kind: "and" | "or"; left: FilterExpr; right: FilterExpr }
  | { kind: "not"; expr: FilterExpr };

const COMPARE_OPS = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const TEXT_FUNCTIONS = new Set(["contains", "startswith", "endswith"]);

export function parseFilter(text: string): FilterExpr {
  const syntaxError = (pos: number) => badRequest(`Syntax error at position ${pos} in '${text}'.`);
  const tokens = tokenize(text, syntaxError);
  let i = 0;
  const peek = () => tokens[i];
  const posOf = (t: Token | undefined) => (t ? t.pos : text.length);
  const isWord = (t: Token | undefined, word: string) => t?.kind === "ident" && t.value === word;
  const expectPunct = (p: string) => {
    const t = tokens[i];
    if (t?.kind !== "punct" || t.value !== p) throw syntaxError(posOf(t));
    i++;
  };

  function parseOr(): FilterExpr {
    let left = parseAnd();
    while (isWord(peek(), "or")) {
      i++;
      left = { kind: "or", left, right: parseAnd() };
    }
    return left;
  }
  function parseAnd(): FilterExpr {
    let left = parseUnary();
    while (isWord(peek(), "and")) {
      i++;
      left = { kind: "and", left, right: parseUnary() };
    }
    return left;
  }
  function parseUnary(): FilterExpr {
    const t = peek();
    if (isWord(t, "not")) {
      i++;
      return { kind: "not", expr: parseUnary() };
    }
    if (t?.kind === "punct" && t.value === "(") {
      i++;
      const inner = parseOr();
      expectPunct(")");
      return inner;
    }
    if (t?.kind === "ident" && TEXT_FUNCTIONS.has(t.value) && tokens[i + 1]?.kind === "punct") {
      i++;
      expectPunct("(");
      const prop = tokens[i++];
      expectPunct(",");
      const arg = tokens[i++];
      expectPunct(")");
      if (prop?.kind !== "ident") throw syntaxError(posOf(prop));
      if (arg?.kind !== "string") throw syntaxError(posOf(arg));
      return { kind: "function", name: t.value as TextFunction, property: prop.value, value: arg.value };
    }
    if (t?.kind === "ident" && literalValue(t) === undefined) {
      i++;
      const op = tokens[i++];
      if (op?.kind !== "ident" || !COMPARE_OPS.has(op.value)) throw syntaxError(posOf(op));
      const lit = tokens[i++];
      const value = literalValue(lit);
      if (value === undefined) throw syntaxError(posOf(lit));
      return { kind: "compare", op: op.value as CompareOp, property: t.value, value, literal: lit! };
    }
    throw syntaxError(posOf(t));
  }

  const expr = parseOr();
  if (i < tokens.length) throw syntaxError(tokens[i].pos);
  return expr;
}

/** Every property the expression reads, for validation against the table. */
export function filterProperties(expr: FilterExpr): Array<{ property: string; literal?: Token; op?: string; fn?: string }> {
  switch (expr.kind) {
    case "compare":
      return [{ property: expr.property, literal: expr.literal, op: expr.op }];
    case "function":
      return [{ property: expr.property, fn: expr.name }];
    case "not":
      return filterProperties(expr.expr);
    default:
      return [...filterProperties(expr.left), ...filterProperties(expr.right)];
  }
}

/** Text order and equality of Dataverse's SQL collation (case- and accent-insensitive). */
export const collator = new Intl.Collator("en", { sensitivity: "base", numeric: false });

/** Orders two non-null values of the same column type. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === "string" && typeof b === "string") {
    const da = parseDateTime(a);
    const db = parseDateTime(b);
    if (da !== undefined && db !== undefined) return da - db;
    return collator.compare(a, b);
  }
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return collator.compare(String(a), String(b));
}

/** SQL semantics: a comparison with an empty column is false, except `eq null` / `ne null`. */
export function evaluateFilter(expr: FilterExpr, get: (property: string) => Value): boolean {
  switch (expr.kind) {
    case "and":
      return evaluateFilter(expr.left, get) && evaluateFilter(expr.right, get);
    case "or":
      return evaluateFilter(expr.left, get) || evaluateFilter(expr.right, get);
    case "not":
      return !evaluateFilter(expr.expr, get);
    case "function": {
      const v = get(expr.property);
      if (typeof v !== "string") return false;
      const hay = fold(v);
      const needle = fold(expr.value);
      return expr.name === "contains" ? hay.includes(needle) : expr.name === "startswith" ? hay.startsWith(needle) : hay.endsWith(needle);
    }
    case "compare": {
      const v = get(expr.property);
      if (expr.value === null || v === null) {
        if (expr.value !== null) return false;
        return expr.op === "eq" ? v === null : expr.op === "ne" ? v !== null : false;
      }
      if (expr.op === "eq" || expr.op === "ne") {
        const equal = typeof v === "string" && typeof expr.value === "string" ? compareValues(v, expr.value) === 0 : v === expr.value;
        return expr.op === "eq" ? equal : !equal;
      }
      const c = compareValues(v, expr.value);
      return expr.op === "gt" ? c > 0 : expr.op === "ge" ? c >= 0 : expr.op === "lt" ? c < 0 : c <= 0;
    }
  }
}

export interface OrderBy {
  property: string;
  descending: boolean;
}

export function parseOrderBy(text: string): OrderBy[] {
  return text.split(",").map((part) => {
    const m = part.trim().match(/^([A-Za-z_]\w*)(?:\s+(asc|desc))?$/i);
    if (!m) throw badRequest(`Syntax error at position 0 in '${text}'.`);
    return { property: m[1], descending: m[2]?.toLowerCase() === "desc" };
  });
}

/** Stable sort; empty values first when ascending (as SQL Server sorts NULL). */
export function sortRows<T>(rows: T[], order: OrderBy[], get: (row: T, property: string) => Value): T[] {
  if (!order.length) return rows;
  return rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => {
      for (const o of order) {
        const va = get(a.row, o.property);
        const vb = get(b.row, o.property);
        const c = va === null ? (vb === null ? 0 : -1) : vb === null ? 1 : compareValues(va, vb);
        if (c !== 0) return o.descending ? -c : c;
      }
      return a.index - b.index;
    })
    .map((x) => x.row);
}
