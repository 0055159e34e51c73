/**
 * Call an action or a function: one of Microsoft's (WinOpportunity, RetrieveCurrentOrganization), a
 * custom process action or a custom API. Actions are POSTed with their parameters as a JSON body and
 * are writes: an attempt whose answer was lost is not repeated. Functions are GETs with their
 * parameters as aliases (`Fn(P=@p1)?@p1=…`) and are reads, retried like any read.
 */
import { DataverseError, inputError } from "../errors";
import { rowPath } from "../odata";
import type { ApiResponse } from "../request";
import { meta, type DataverseResult } from "../response";
import { checkRowId, isGuid, isPlainObject } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";

export type OperationKind = "action" | "function";

export interface OperationOptions extends CallOptions {
  /** A bound operation's table (entity set or logical name); with rowId, bound to that row, else to the table. */
  table?: unknown;
  rowId?: unknown;
}

/** Bound operations are addressed by their namespace-qualified name; unbound ones by the bare name. */
const NAMESPACE = "Microsoft.Dynamics.CRM.";
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An enum value written the way Dataverse reads it: Microsoft.Dynamics.CRM.EndpointAccessType'Default'. */
const ENUM_LITERAL = /^(Microsoft\.Dynamics\.CRM\.[A-Za-z_]\w*)'([^']*)'$/;
/** A date and time with its offset, sent as an Edm.DateTimeOffset literal. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
/** A complex type answer (`…#Microsoft.Dynamics.CRM.WhoAmIResponse`) is kept whole even when it has one property named value. */
const RESPONSE_TYPE = /#Microsoft\.Dynamics\.CRM\.\w+Response$/;

export async function callOperation(
  ctx: OperationContext,
  kind: unknown,
  operation: unknown,
  parameters: unknown,
  options: OperationOptions = {},
): Promise<DataverseResult<unknown>> {
  const checkedKind = checkKind(kind);
  const name = checkOperation(operation);
  const params = checkParameters(parameters);
  const binding = await bindingPath(ctx, options.table, options.rowId);
  const target = binding ? `${binding}/${NAMESPACE}${name}` : name;
  const details = { operation: name, kind: checkedKind };
  try {
    const res =
      checkedKind === "function"
        ? await ctx.send({ method: "GET", path: functionPath(target, params), idempotent: true, expect: "json" }, options.signal)
        : await ctx.send({ method: "POST", path: target, body: params, idempotent: false, expect: "any" }, options.signal);
    return { ...meta(res), row: answerOf(res), details };
  } catch (err) {
    throw explained(err, checkedKind, name, binding);
  }
}

function checkKind(value: unknown): OperationKind {
  if (value === "action" || value === "function") return value;
  throw inputError("kind", `kind must be action or function, not ${value === undefined || value === "" ? "empty" : `'${String(value)}'`}`);
}

function checkOperation(value: unknown): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (text === "") {
    throw inputError("operation", "operation is empty: set it to the name of an action, function or custom API, for example WhoAmI or cr0a1_Echo");
  }
  const name = text.startsWith(NAMESPACE) ? text.slice(NAMESPACE.length) : text;
  if (!NAME.test(name)) {
    throw inputError(
      "operation",
      `operation '${text}' is not an operation name: use letters, digits and underscores, for example WinOpportunity or cr0a1_Echo`,
    );
  }
  return name;
}

function checkParameters(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === "") return {};
  if (!isPlainObject(value)) {
    throw inputError("parameters", `parameters must be an object of parameter names and values, like {"Status":3}, not ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!NAME.test(key)) throw inputError("parameters", `parameters has '${key}', which is not a parameter name: use the names the operation defines`);
  }
  return value;
}

/** `accounts(<id>)` or `accounts` for a bound operation; undefined for an unbound one. */
async function bindingPath(ctx: OperationContext, table: unknown, rowId: unknown): Promise<string | undefined> {
  const noTable = table === undefined || table === null || table === "";
  const noRow = rowId === undefined || rowId === null || rowId === "";
  if (noTable && noRow) return undefined;
  if (noTable) throw inputError("table", "rowId is set but table is empty: a bound operation needs the table of its row, for example accounts");
  const ref = noRow ? undefined : checkRowId(rowId);
  const { set } = await resolveTable(ctx, table);
  return ref ? rowPath(set, ref) : set;
}

/** `Fn(A=@p1,B=@p2)?@p1=…&@p2=…`: aliases keep values with reserved characters out of the path. */
export function functionPath(target: string, params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined);
  const call = entries.map(([name], i) => `${name}=@p${i + 1}`).join(",");
  const aliases = entries.map(([name, value], i) => `@p${i + 1}=${aliasValue(name, value)}`).join("&");
  return `${target}(${call})${aliases ? `?${aliases}` : ""}`;
}

/**
 * One parameter value as an OData literal, percent-encoded: text single-quoted with its quotes
 * doubled; numbers, booleans and null bare; GUIDs and date-times as their literals; an enum already
 * in Dataverse's form as is; records (`{"@odata.id":"accounts(…)"}`), objects and arrays as JSON.
 */
export function aliasValue(name: string, value: unknown): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw inputError("parameters", `parameter ${name} is ${value}: a number parameter needs a finite number`);
    return String(value);
  }
  if (value instanceof Date) return encodeURIComponent(value.toISOString());
  if (typeof value === "string") {
    const guid = /^\{?([0-9a-fA-F-]{36})\}?$/.exec(value.trim());
    if (guid && isGuid(value.trim())) return guid[1].toLowerCase();
    const enumValue = ENUM_LITERAL.exec(value);
    if (enumValue) return `${enumValue[1]}'${encodeURIComponent(enumValue[2])}'`;
    if (DATE_TIME.test(value)) return encodeURIComponent(value);
    return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
  }
  if (Array.isArray(value) || isPlainObject(value)) return encodeURIComponent(JSON.stringify(value));
  throw inputError("parameters", `parameter ${name} is ${describeValue(value)}: use text, a number, true/false, null, an object or an array`);
}

/**
 * The answer as a flow wants it: without the OData context; a primitive or collection return value
 * (`{"value": …}`) unwrapped; nothing (undefined) for 204 No Content.
 */
export function answerOf(res: ApiResponse): unknown {
  const body = res.body;
  if (res.status === 204 || body === undefined || body === "") return undefined;
  if (!isPlainObject(body)) return body;
  const { ["@odata.context"]: context, ["@odata.type"]: _type, ...answer } = body;
  const keys = Object.keys(answer);
  const wrapped = keys.length === 1 && keys[0] === "value" && !(typeof context === "string" && RESPONSE_TYPE.test(context));
  return wrapped ? answer.value : answer;
}

/** Dataverse's words for a wrong name or kind are about URL segments: say what to change in the node. */
function explained(err: unknown, kind: OperationKind, name: string, binding: string | undefined): unknown {
  if (!(err instanceof DataverseError)) return err;
  const serverText = serverWords(err);
  const where = binding ? ` bound to ${binding}` : " (unbound)";
  let advice: string | undefined;
  const notFound = err.status === 404 && (err.code === "0x8006088a" || /resource not found for the segment/i.test(err.message));
  // A bound name Dataverse cannot resolve may also be read as a property of the row's type.
  if (notFound || (err.status === 400 && /could not find a property named/i.test(err.message))) {
    advice = `Dataverse has no ${kind} named '${name}'${where}. Check the operation name (it is case-sensitive; a custom API's unique name has its publisher prefix, like cr0a1_Echo) and the binding: a bound operation needs its table (and row)`;
  } else if (err.status === 405) {
    const other = kind === "action" ? "function" : "action";
    advice = `'${name}' is not ${kind === "action" ? "an action" : "a function"}: set the node's kind to ${other}`;
  } else if (err.status === 400 && /unresolved parameters|not a valid parameter|parameter '/i.test(err.message)) {
    advice = `Dataverse did not accept the parameters of ${kind} '${name}'. Check their names (case-sensitive) and that every required parameter is set`;
  }
  return advice ? new DataverseError({ ...err.init(), message: `${advice} (${serverText})` }) : err;
}

/** What Dataverse said, as errors.ts put it: `Dataverse: <words> (HTTP 400, <code>)` or `<advice> (HTTP 404, <code>, <words>)`. */
function serverWords(err: DataverseError): string {
  const plain = /^Dataverse: (.*) \((HTTP \d{3}[^)]*)\)$/s.exec(err.message);
  if (plain) return `${plain[2]}, ${plain[1]}`;
  return /\((HTTP \d{3}.*)\)$/s.exec(err.message)?.[1] ?? `HTTP ${err.status}${err.code ? `, ${err.code}` : ""}`;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (Buffer.isBuffer(value)) return "a Buffer";
  if (typeof value === "string") return `the text '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === "object" && value !== null) return `an object of type ${value.constructor?.name ?? "unknown"}`;
  return `the ${typeof value} ${String(value)}`;
}
