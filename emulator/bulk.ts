// Bulk operation messages bound to an entity set: CreateMultiple, UpdateMultiple, UpsertMultiple.
// On standard tables they are all or nothing: the first bad target fails the request with its own
// error and every row already written is rolled back. Each target goes through the same write code
// as a single create / update / upsert, so column checks and errors are the same.
import { json, noContent, type DvContext } from "./context";
import { badRequest, CODES, DataverseError, methodNotAllowed, unknownSegment } from "./errors";
import { insertRow, writeRow } from "./records";
import { addTally, newTally } from "./requestlog";
import { addressedRecord, parseJsonObject, resolveTarget, type Target } from "./rows";
import type { EmuResponse } from "./server";
import { fold } from "./store";
import { columnByProperty, odataType, supportsBulk, tableByLogicalName, type BulkMessage, type TableDef } from "./tables";
import { coerceValue, type Row } from "./values";

const NAMESPACE = "Microsoft.Dynamics.CRM.";
const BULK_MESSAGES = new Set<string>(["CreateMultiple", "UpdateMultiple", "UpsertMultiple"]);

type Targets = Array<Record<string, unknown>>;

const notSupported = (message: string, table: TableDef) =>
  new DataverseError(
    400,
    CODES.messageNotSupported,
    `The '${message}' method does not support entities of type '${table.logicalName}'. MessageProcessorCache returned MessageProcessor.Empty.`,
  );

/** `POST <set>/Microsoft.Dynamics.CRM.<message>`; other bound actions are unknown segments (404). */
export function handleBulkAction(ctx: DvContext, table: TableDef, action: string): EmuResponse {
  const message = action.slice(NAMESPACE.length);
  // DeleteMultiple exists, for elastic tables only; the emulator has none.
  if (!BULK_MESSAGES.has(message) && message !== "DeleteMultiple") throw unknownSegment(action);
  if (ctx.req.method !== "POST") throw methodNotAllowed(ctx.req.method, ["POST"]);
  if (message === "DeleteMultiple" || !supportsBulk(table, message as BulkMessage)) throw notSupported(message, table);
  const targets = readTargets(ctx, table);
  ctx.usage.operations = targets.length;
  // Writes count only once the whole request has succeeded.
  const writes = newTally();
  const scoped: DvContext = { ...ctx, writes };
  const ids = ctx.core.store.atomic(() => run(scoped, message as BulkMessage, table, targets));
  addTally(ctx.writes, writes);
  if (message !== "CreateMultiple") return noContent();
  return json(200, { "@odata.context": `${ctx.base}/$metadata#${NAMESPACE}CreateMultipleResponse`, Ids: ids });
}

/** The `Targets` parameter, each item typed with `@odata.type` as the bound table (checked before anything is written). */
function readTargets(ctx: DvContext, table: TableDef): Targets {
  const targets = parseJsonObject(ctx.req.body).Targets;
  if (!Array.isArray(targets)) throw badRequest("The parameter 'Targets' is missing or is not an array of records.");
  for (const target of targets) {
    if (typeof target !== "object" || target === null || Array.isArray(target)) {
      throw badRequest("Each item of the parameter 'Targets' must be a record (a JSON object).");
    }
    checkType(table, target as Record<string, unknown>);
  }
  return targets as Targets;
}

/**
 * `Targets` is a collection of the abstract `crmbaseentity`: without `@odata.type` an item's
 * columns are unknown to that type (the OData reader's error); a type of another table is refused.
 */
function checkType(table: TableDef, target: Record<string, unknown>): void {
  const type = target["@odata.type"];
  if (type === undefined) {
    const column = Object.keys(target).find((k) => !k.includes("@")) ?? table.primaryIdAttribute;
    throw badRequest(
      `The property '${column}' does not exist on type '${NAMESPACE}crmbaseentity'. Make sure to only use property names that are defined by the type.`,
    );
  }
  const name = typeof type === "string" ? type.replace(/^#/, "") : String(type);
  const named = name.startsWith(NAMESPACE) ? tableByLogicalName(name.slice(NAMESPACE.length)) : undefined;
  if (!named) {
    throw badRequest(`A type named '${name}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`);
  }
  if (named !== table) {
    throw badRequest(
      `The entity type '${name}' of an item of 'Targets' does not match the entity set '${table.entitySetName}' (${odataType(table)}).`,
      CODES.invalidArgument,
    );
  }
}

/** Runs the targets in order; the modelled execution time grows with each target processed. */
function run(ctx: DvContext, message: BulkMessage, table: TableDef, targets: Targets): string[] {
  const config = ctx.core.config;
  const processed = (n: number) => (ctx.usage.modelledMs = config.requestCostMs + config.rowCostMs * n);
  processed(0);
  if (message === "CreateMultiple") {
    return targets.map((target, i) => {
      processed(i + 1);
      return insertRow(ctx, table, target, "Cannot insert duplicate key.")[table.primaryIdAttribute] as string;
    });
  }
  const resolved = message === "UpdateMultiple" ? updateTargets(ctx, table, targets) : upsertTargets(ctx, table, targets);
  resolved.forEach(({ target, body }, i) => {
    processed(i + 1);
    writeRow(ctx, target, body);
  });
  return [];
}

/** UpdateMultiple: every target by its primary id, which must exist; a repeated id is ignored (Microsoft: "performed on the first record only"). */
function updateTargets(ctx: DvContext, table: TableDef, targets: Targets): Array<{ target: Target; body: Record<string, unknown> }> {
  const seen = new Set<string>();
  const result: Array<{ target: Target; body: Record<string, unknown> }> = [];
  for (const body of targets) {
    const raw = body[table.primaryIdAttribute];
    if (raw === undefined || raw === null) throw badRequest("Entity Id must be specified for Update", CODES.invalidArgument);
    const id = coerceValue(table, columnByProperty(table, table.primaryIdAttribute)!, raw) as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const row = ctx.core.store.get(table, id);
    if (!row) throw new DataverseError(404, CODES.notFoundById, `${table.logicalName} With Ids = ${id} Do Not Exist`);
    result.push({ target: { table, byKey: false, id, row }, body });
  }
  return result;
}

/**
 * UpsertMultiple: a target names its row by `@odata.id` (`<set>(<key>=…)` or `<set>(<id>)`) or by its
 * primary id; one naming neither is created. Two targets naming the same row fail the request.
 */
function upsertTargets(ctx: DvContext, table: TableDef, targets: Targets): Array<{ target: Target; body: Record<string, unknown> }> {
  const seen = new Set<string>();
  return targets.map((body) => {
    const target = upsertTarget(ctx, table, body);
    const identity = identityOf(table, target);
    if (identity !== undefined && seen.has(identity)) {
      throw badRequest(
        "UpsertMultiple does not support more than one record with the same primary key or alternate key values in the parameter 'Targets'.",
        CODES.invalidArgument,
      );
    }
    if (identity !== undefined) seen.add(identity);
    return { target, body };
  });
}

function upsertTarget(ctx: DvContext, table: TableDef, body: Record<string, unknown>): Target {
  const store = ctx.core.store;
  if (body["@odata.id"] !== undefined) {
    const { table: named, args } = addressedRecord(body["@odata.id"], "@odata.id");
    if (named !== table) throw badRequest(`The @odata.id value '${body["@odata.id"]}' names a record of another table than '${table.entitySetName}'.`);
    return resolveTarget(store, table, args);
  }
  const raw = body[table.primaryIdAttribute];
  if (raw === undefined || raw === null) return { table, byKey: false };
  const id = coerceValue(table, columnByProperty(table, table.primaryIdAttribute)!, raw) as string;
  return { table, byKey: false, id, row: store.get(table, id) };
}

/** What makes two targets the same row: the existing row, else the new id or key values. */
function identityOf(table: TableDef, t: Target): string | undefined {
  if (t.row) return `row:${t.row[table.primaryIdAttribute]}`;
  if (t.id) return `row:${t.id}`;
  if (t.keyValues) {
    const parts = Object.entries(t.keyValues as Row).map(([k, v]) => [k, typeof v === "string" ? fold(v) : v]);
    return `key:${JSON.stringify(parts.sort())}`;
  }
  return undefined;
}
