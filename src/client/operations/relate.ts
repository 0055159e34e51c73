/**
 * Associate or disassociate rows through a collection-valued relationship (1:N or N:N), one `$ref`
 * request per target row. The relationship is named by its schema name or its navigation property
 * and found in the table's metadata. Associating rows that are already associated is a success.
 */
import { DataverseError, inputError } from "../errors";
import type { CollectionRelationship } from "../metadata";
import { rowPath } from "../odata";
import type { ApiResponse } from "../request";
import { meta, type DataverseResult } from "../response";
import { checkRowId, type RowRef } from "../validate";
import { resolveTable, type CallOptions, type OperationContext } from "./context";

export type RelateAction = "associate" | "disassociate";

export interface RelateInput {
  action: unknown;
  table: unknown;
  rowId: unknown;
  relationship: unknown;
  targetTable?: unknown;
  targetId: unknown;
}

/** What happened to one target row. */
export interface RelateTargetResult {
  table: string;
  id: string | Record<string, unknown>;
  result: "associated" | "alreadyAssociated" | "disassociated";
}

/** A link that exists already: the intersect table's unique key refuses a second one. */
const DUPLICATE_KEY = "0x80040237";
/** How many relationship names an error lists. */
const LISTED = 15;

export async function relate(ctx: OperationContext, input: RelateInput, options: CallOptions = {}): Promise<DataverseResult<RelateTargetResult[]>> {
  const action = checkAction(input.action);
  const ref = checkRowId(input.rowId);
  const relationship = checkRelationship(input.relationship);
  const targets = checkTargetIds(input.targetId);
  const { set, info } = await resolveTable(ctx, input.table);
  const collections = info ? await ctx.metadata.collections(info.logicalName) : undefined;
  const found = collections ? findRelationship(collections, relationship, info!.logicalName) : undefined;
  const targetSet = await targetSetOf(ctx, input.targetTable, found);
  const navigation = found?.navigation ?? relationship;
  const source = rowPath(set, ref);

  const settled = await Promise.allSettled(
    targets.map((target) =>
      action === "associate"
        ? associate(ctx, source, navigation, targetSet, target, options)
        : disassociate(ctx, source, navigation, targetSet, target, options),
    ),
  );
  const results: RelateTargetResult[] = [];
  let last: ApiResponse | undefined;
  for (const [i, s] of settled.entries()) {
    if (s.status === "fulfilled") {
      last = s.value.res ?? last;
      results.push({ table: targetSet, id: idOf(targets[i]), result: s.value.result });
    }
  }
  const failed = settled.findIndex((s) => s.status === "rejected");
  if (failed >= 0) throw failure((settled[failed] as PromiseRejectedResult).reason, action, idOf(targets[failed]), results);
  const already = results.filter((r) => r.result === "alreadyAssociated").length;
  return {
    ...(last ? meta(last) : { status: 204 }),
    row: results,
    rowId: idOf(ref),
    details: {
      action,
      relationship: found?.schemaName ?? relationship,
      navigation,
      targets: results.length,
      ...(action === "associate" ? { alreadyAssociated: already } : {}),
    },
  };
}

const idOf = (ref: RowRef): string | Record<string, unknown> => ("id" in ref ? ref.id : ref.key);

function checkAction(value: unknown): RelateAction {
  if (value === "associate" || value === "disassociate") return value;
  throw inputError("action", `action must be associate or disassociate, not '${String(value)}'`);
}

function checkRelationship(value: unknown): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw inputError(
      "relationship",
      `relationship must be a relationship's schema name or a collection-valued navigation property, like contact_customer_accounts, not ${value === undefined || value === "" ? "empty" : `'${String(value)}'`}`,
    );
  }
  return name;
}

function checkTargetIds(value: unknown): RowRef[] {
  const ids = Array.isArray(value) ? value : [value];
  if (ids.length === 0) throw inputError("targetId", "targetId is an empty array: give one target row id, or an array of them");
  return ids.map((id, i) => {
    try {
      return checkRowId(id);
    } catch (err) {
      const where = Array.isArray(value) ? `targetId[${i}]` : "targetId";
      throw inputError("targetId", (err as Error).message.replace(/^rowId/, where));
    }
  });
}

/** By schema name (any case), else by navigation property (exact, then any case). */
function findRelationship(collections: CollectionRelationship[], name: string, table: string): CollectionRelationship {
  const lower = name.toLowerCase();
  const found =
    collections.find((c) => c.schemaName.toLowerCase() === lower) ??
    collections.find((c) => c.navigation === name) ??
    collections.find((c) => c.navigation.toLowerCase() === lower);
  if (found) return found;
  const names = [...new Set(collections.map((c) => c.schemaName))].sort();
  const listed = names.length
    ? `: use one of ${names.slice(0, LISTED).join(", ")}${names.length > LISTED ? ` (and ${names.length - LISTED} more)` : ""}`
    : "; it has none";
  throw inputError("relationship", `Table '${table}' has no one-to-many or many-to-many relationship '${name}'${listed}`);
}

/** The target rows' entity set: the relationship's other table, which targetTable (when set) must name. */
async function targetSetOf(ctx: OperationContext, targetTable: unknown, found: CollectionRelationship | undefined): Promise<string> {
  const given = targetTable === undefined || targetTable === null || targetTable === "" ? undefined : await resolveTable(ctx, targetTable);
  if (!found) {
    if (!given) throw inputError("targetTable", "targetTable is empty: set the table of the target rows (metadata, which would tell, could not be read)");
    return given.set;
  }
  if (given && (given.info?.logicalName ?? given.set) !== found.table) {
    throw inputError(
      "targetTable",
      `targetTable '${String(targetTable)}' is not on the other side of ${found.schemaName}, which links to table '${found.table}'`,
    );
  }
  if (given) return given.set;
  const other = await ctx.metadata.table(found.table);
  return other?.entitySetName ?? found.table;
}

type Outcome = { res?: ApiResponse; result: RelateTargetResult["result"] };

async function associate(ctx: OperationContext, source: string, navigation: string, targetSet: string, target: RowRef, options: CallOptions): Promise<Outcome> {
  try {
    const res = await ctx.send(
      {
        method: "POST",
        path: `${source}/${navigation}/$ref`,
        body: { "@odata.id": `${ctx.apiBase}${rowPath(targetSet, target)}` },
        table: targetSet,
        expect: "any",
        // A repeated associate meets its own link, which counts as done (below).
        idempotent: true,
      },
      options.signal,
    );
    return { res, result: "associated" };
  } catch (err) {
    if (err instanceof DataverseError && err.code.toLowerCase() === DUPLICATE_KEY) return { result: "alreadyAssociated" };
    throw err;
  }
}

async function disassociate(
  ctx: OperationContext,
  source: string,
  navigation: string,
  targetSet: string,
  target: RowRef,
  options: CallOptions,
): Promise<Outcome> {
  const path =
    "id" in target
      ? `${source}/${navigation}(${target.id})/$ref`
      : `${source}/${navigation}/$ref?$id=${encodeURIComponent(`${ctx.apiBase}${rowPath(targetSet, target)}`)}`;
  const res = await ctx.send({ method: "DELETE", path, table: targetSet, expect: "any", idempotent: true }, options.signal);
  return { res, result: "disassociated" };
}

/** The first failed target, with the targets that went through in msg.dataverse. */
function failure(reason: unknown, action: RelateAction, id: unknown, done: RelateTargetResult[]): unknown {
  if (!(reason instanceof DataverseError)) return reason;
  const which = typeof id === "string" ? id : JSON.stringify(id);
  return reason.with({ targetId: id, completed: done.map((d) => d.id) }, `Could not ${action} target ${which}: ${reason.message}`);
}
