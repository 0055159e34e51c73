// Who a Web API request runs as, and the optional behaviours it asks for: impersonation through
// CallerObjectId, MSCRM.BypassCustomPluginExecution, MSCRM.BypassBusinessLogicExecution,
// MSCRM.SuppressDuplicateDetection and the `tag` query parameter. Checked the way Dataverse does:
// a malformed value is a 400, a missing privilege a 403 (0x80040220), an unknown user a 404.
import { badRequest, CODES, DataverseError } from "./errors";
import type { AppRegistration } from "./identities";
import type { RanAs } from "./requestlog";
import { applicationUserOf, PRIVILEGE_IDS, userByObjectId, type Privilege } from "./users";

/** Who a request runs as (what the request log shows), and the app that sent it. */
export interface Caller extends RanAs {
  app: AppRegistration;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BYPASS_LOGIC = new Set(["customsync", "customasync"]);

/**
 * The caller of a request from its headers and query. Inside a `$batch`, `outer` is the batch's
 * caller: a part's own headers win, those it does not set come from the batch.
 */
export function callerOf(app: AppRegistration, headers: Record<string, string>, query: Map<string, string>, outer?: Caller): Caller {
  const own = applicationUserOf(app).systemUserId;
  const caller: Caller = outer ? { ...outer, tag: undefined } : { app, userId: own, bypassPlugins: false, bypassBusinessLogic: "" };
  const objectId = headers["callerobjectid"];
  if (objectId !== undefined) Object.assign(caller, actingFor(app, objectId.trim()));
  const plugins = headers["mscrm.bypasscustompluginexecution"];
  if (plugins !== undefined) caller.bypassPlugins = booleanHeader("MSCRM.BypassCustomPluginExecution", plugins);
  const logic = headers["mscrm.bypassbusinesslogicexecution"];
  if (logic !== undefined) caller.bypassBusinessLogic = bypassLogic(logic);
  const duplicates = headers["mscrm.suppressduplicatedetection"];
  if (duplicates !== undefined) caller.suppressDuplicateDetection = booleanHeader("MSCRM.SuppressDuplicateDetection", duplicates);
  if (query.has("tag")) caller.tag = query.get("tag");
  if (caller.bypassPlugins) requirePrivilege(app, "prvBypassCustomPlugins");
  if (caller.bypassBusinessLogic) requirePrivilege(app, "prvBypassCustomBusinessLogic");
  return caller;
}

function actingFor(app: AppRegistration, objectId: string): Pick<Caller, "userId" | "onBehalfOf"> {
  const own = applicationUserOf(app).systemUserId;
  if (!GUID.test(objectId)) throw badRequest(`The value of the CallerObjectId header is not a valid Guid: '${objectId}'.`, CODES.invalidArgument);
  // Naming oneself is no impersonation: createdonbehalfby stays empty.
  if (objectId.toLowerCase() === app.objectId) return { userId: own, onBehalfOf: undefined };
  requirePrivilege(app, "prvActOnBehalfOfAnotherUser");
  const user = userByObjectId(objectId);
  if (!user) throw new DataverseError(404, CODES.notFoundById, `systemuser With Id = ${objectId.toLowerCase()} Does Not Exist`);
  return { userId: user.systemUserId, onBehalfOf: own };
}

function booleanHeader(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  throw badRequest(`The value '${value}' of the ${name} header is not valid: it must be true or false.`, CODES.invalidArgument);
}

function bypassLogic(value: string): string {
  const parts = value.split(",").map((p) => p.trim().toLowerCase());
  if (parts.some((p) => !BYPASS_LOGIC.has(p))) {
    throw badRequest(
      `The value '${value}' of the MSCRM.BypassBusinessLogicExecution header is not valid. Use CustomSync, CustomAsync or CustomSync,CustomAsync.`,
      CODES.invalidArgument,
    );
  }
  return ["CustomSync", "CustomAsync"].filter((name) => parts.includes(name.toLowerCase())).join(",");
}

function requirePrivilege(app: AppRegistration, privilege: Privilege): void {
  const user = applicationUserOf(app);
  if (user.privileges.includes(privilege)) return;
  throw new DataverseError(
    403,
    CODES.missingPrivilege,
    `Principal user (Id=${user.systemUserId}, type=8, roleCount=1, privilegeCount=${user.privileges.length}, accessMode=4), is missing ${privilege} privilege (Id=${PRIVILEGE_IDS[privilege]})`,
  );
}

/** The system columns a write stamps: who created or modified the row, and for whom. */
export function createdStamp(caller: Caller | undefined): Record<string, string | null> {
  if (!caller) return {};
  return {
    _createdby_value: caller.userId,
    _createdonbehalfby_value: caller.onBehalfOf ?? null,
    _owninguser_value: caller.userId,
    ...modifiedStamp(caller),
  };
}

export function modifiedStamp(caller: Caller | undefined): Record<string, string | null> {
  if (!caller) return {};
  return { _modifiedby_value: caller.userId, _modifiedonbehalfby_value: caller.onBehalfOf ?? null };
}
