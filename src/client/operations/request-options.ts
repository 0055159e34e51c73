/**
 * Per-message request options (issue 9 §5): impersonation, bypassing custom logic, duplicate detection
 * and a tag for plug-ins. Checked once per call, turned into headers (and the `tag` query parameter)
 * here only, and part of a bulk write's group: writes with different options never go together.
 */
import { inputError } from "../errors";
import { isGuid } from "../validate";

export interface RequestOptions {
  /** Entra object id of the user to act for (`CallerObjectId`); needs prvActOnBehalfOfAnotherUser. */
  callerObjectId?: string;
  /** `MSCRM.BypassCustomPluginExecution: true`; needs prvBypassCustomPlugins. */
  bypassPlugins?: boolean;
  /** `MSCRM.BypassBusinessLogicExecution`: CustomSync, CustomAsync or both; needs prvBypassCustomBusinessLogic. */
  bypassBusinessLogic?: string;
  /** `MSCRM.SuppressDuplicateDetection: true`. */
  suppressDuplicateDetection?: boolean;
  /** The `tag` query parameter: a value plug-ins read from their context's SharedVariables. */
  tag?: string;
}

/** What a flow may hand over for each option, before it is checked. */
export type RequestOptionsInput = { [K in keyof RequestOptions]?: unknown };

export const REQUEST_OPTION_NAMES = ["callerObjectId", "bypassPlugins", "bypassBusinessLogic", "suppressDuplicateDetection", "tag"] as const;

const BYPASS_LOGIC = ["CustomSync", "CustomAsync"];
/** Longer tags would make the URL too long for Dataverse (its URLs stop near 32 KB). */
const MAX_TAG_LENGTH = 2000;

const isEmpty = (value: unknown) => value === undefined || value === null || (typeof value === "string" && value.trim() === "");

/** The options a flow gave, checked: empty values are off; a bad value is an input error naming it. */
export function checkRequestOptions(input: RequestOptionsInput | undefined): RequestOptions {
  if (!input) return {};
  const checked: RequestOptions = {};
  const caller = checkCaller(input.callerObjectId);
  if (caller) checked.callerObjectId = caller;
  if (checkFlag("bypassPlugins", input.bypassPlugins)) checked.bypassPlugins = true;
  const logic = checkBypassLogic(input.bypassBusinessLogic);
  if (logic) checked.bypassBusinessLogic = logic;
  if (checkFlag("suppressDuplicateDetection", input.suppressDuplicateDetection)) checked.suppressDuplicateDetection = true;
  const tag = checkTag(input.tag);
  if (tag !== undefined) checked.tag = tag;
  return checked;
}

function checkCaller(value: unknown): string | undefined {
  if (isEmpty(value)) return undefined;
  if (typeof value !== "string" || !isGuid(value.trim())) {
    throw inputError(
      "callerObjectId",
      `callerObjectId must be the Entra ID object id (a GUID like 00000000-0000-0000-0000-000000000000) of the user to act for, not ${describe(value)}`,
    );
  }
  return value.trim().toLowerCase();
}

function checkFlag(field: string, value: unknown): boolean {
  if (isEmpty(value) || value === false || value === "false") return false;
  if (value === true || value === "true") return true;
  throw inputError(field, `${field} must be true or false, not ${describe(value)}`);
}

function checkBypassLogic(value: unknown): string | undefined {
  if (isEmpty(value)) return undefined;
  const parts = typeof value === "string" ? value.split(",").map((part) => part.trim()) : [];
  const known = (part: string) => BYPASS_LOGIC.find((name) => name.toLowerCase() === part.toLowerCase());
  if (parts.length === 0 || !parts.every(known) || new Set(parts.map((p) => p.toLowerCase())).size !== parts.length) {
    throw inputError("bypassBusinessLogic", `bypassBusinessLogic must be CustomSync, CustomAsync or CustomSync,CustomAsync, not ${describe(value)}`);
  }
  return BYPASS_LOGIC.filter((name) => parts.some((part) => known(part) === name)).join(",");
}

function checkTag(value: unknown): string | undefined {
  if (isEmpty(value)) return undefined;
  if (typeof value !== "string" && typeof value !== "number") throw inputError("tag", `tag must be text, not ${describe(value)}`);
  const tag = String(value);
  if (tag.length > MAX_TAG_LENGTH) throw inputError("tag", `tag must be at most ${MAX_TAG_LENGTH} characters, not ${tag.length}`);
  return tag;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  if (value !== null && typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}

/** The headers the options stand for (the tag is not one: see withTag). */
export function requestOptionHeaders(options: RequestOptions | undefined): Record<string, string> {
  if (!options) return {};
  const headers: Record<string, string> = {};
  if (options.callerObjectId) headers.CallerObjectId = options.callerObjectId;
  if (options.bypassPlugins) headers["MSCRM.BypassCustomPluginExecution"] = "true";
  if (options.bypassBusinessLogic) headers["MSCRM.BypassBusinessLogicExecution"] = options.bypassBusinessLogic;
  if (options.suppressDuplicateDetection) headers["MSCRM.SuppressDuplicateDetection"] = "true";
  return headers;
}

/** The Web API takes the tag as a query parameter of the operation's URL, not as a header. */
export function withTag(path: string, options: RequestOptions | undefined): string {
  if (options?.tag === undefined) return path;
  return `${path}${path.includes("?") ? "&" : "?"}tag=${encodeURIComponent(options.tag)}`;
}

/** Same key, same options: what a bulk group adds to its key. */
export function requestOptionsKey(options: RequestOptions | undefined): string {
  if (!options) return "";
  return JSON.stringify(REQUEST_OPTION_NAMES.map((name) => options[name] ?? null));
}

export function hasRequestOptions(options: RequestOptions): boolean {
  return REQUEST_OPTION_NAMES.some((name) => options[name] !== undefined);
}
