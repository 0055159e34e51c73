// Relationships: their metadata (EntityDefinitions(…)/ManyToOneRelationships, OneToManyRelationships,
// ManyToManyRelationships) and the `$ref` requests that associate and disassociate rows:
//   POST   <set>(<id>)/<collection nav>/$ref            {"@odata.id": "<url>"}   associate
//   DELETE <set>(<id>)/<collection nav>(<id>)/$ref                               disassociate
//   DELETE <set>(<id>)/<collection nav>/$ref?$id=<url>                           disassociate
//   PUT    <set>(<id>)/<single-valued nav>/$ref         {"@odata.id": "<url>"}   set a lookup
//   DELETE <set>(<id>)/<single-valued nav>/$ref                                  clear a lookup
import { noContent, type DvContext } from "./context";
import { badRequest, DataverseError, CODES, methodNotAllowed, unknownSegment } from "./errors";
import { parseSegment } from "./odata";
import { addressedRecord, notFound, parseJsonObject, resolveTarget, type Target } from "./rows";
import type { EmuResponse } from "./server";
import {
  lookupNavigation,
  lookupRelationships,
  MANY_TO_MANY,
  odataType,
  propertyName,
  tableByLogicalName,
  TABLES,
  type ColumnDef,
  type LookupRelationship,
  type ManyToManyDef,
  type TableDef,
} from "./tables";
import { stableGuid } from "./util";
import type { Row } from "./values";

type Metadata = Record<string, unknown>;

/** Every N:1 relationship of the environment: the referencing table, its lookup column, and the relationship. */
function allLookups(): Array<{ table: TableDef; column: ColumnDef; relationship: LookupRelationship }> {
  return TABLES.flatMap((table) => table.columns.flatMap((column) => lookupRelationships(column).map((relationship) => ({ table, column, relationship }))));
}

function oneToManyMetadata(table: TableDef, column: ColumnDef, r: LookupRelationship): Metadata {
  const referenced = tableByLogicalName(r.target)!;
  return {
    "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
    MetadataId: stableGuid(`relationship/${r.relationship}`),
    SchemaName: r.relationship,
    RelationshipType: "OneToManyRelationship",
    IsCustomRelationship: r.relationship.startsWith("dv_"),
    ReferencedEntity: referenced.logicalName,
    ReferencedAttribute: referenced.primaryIdAttribute,
    ReferencingEntity: table.logicalName,
    ReferencingAttribute: column.name,
    ReferencedEntityNavigationPropertyName: r.relationship,
    ReferencingEntityNavigationPropertyName: r.navigation,
    IsHierarchical: false,
  };
}

function manyToManyMetadata(m: ManyToManyDef): Metadata {
  return {
    "@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
    MetadataId: m.metadataId,
    SchemaName: m.schemaName,
    RelationshipType: "ManyToManyRelationship",
    IsCustomRelationship: true,
    Entity1LogicalName: m.entity1,
    Entity2LogicalName: m.entity2,
    IntersectEntityName: m.intersectEntity,
    Entity1IntersectAttribute: tableByLogicalName(m.entity1)!.primaryIdAttribute,
    Entity2IntersectAttribute: tableByLogicalName(m.entity2)!.primaryIdAttribute,
    Entity1NavigationPropertyName: m.navigation,
    Entity2NavigationPropertyName: m.navigation,
  };
}

/** What $select and $filter may name, also when a table has no relationship of the kind. */
function oneToManySample(): Metadata {
  const { table, column, relationship } = allLookups()[0];
  return oneToManyMetadata(table, column, relationship);
}

/** The relationship metadata collections of one table, by navigation property name of EntityMetadata. */
export const RELATIONSHIP_COLLECTIONS: Record<string, { typeName: string; list: (t: TableDef) => Metadata[]; sample: () => Metadata }> = {
  ManyToOneRelationships: {
    typeName: "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
    sample: () => oneToManySample(),
    list: (t) =>
      allLookups()
        .filter((l) => l.table === t)
        .map((l) => oneToManyMetadata(l.table, l.column, l.relationship)),
  },
  OneToManyRelationships: {
    typeName: "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
    sample: () => oneToManySample(),
    list: (t) =>
      allLookups()
        .filter((l) => l.relationship.target === t.logicalName)
        .map((l) => oneToManyMetadata(l.table, l.column, l.relationship)),
  },
  ManyToManyRelationships: {
    typeName: "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
    sample: () => manyToManyMetadata(MANY_TO_MANY[0]),
    list: (t) => MANY_TO_MANY.filter((m) => m.entity1 === t.logicalName || m.entity2 === t.logicalName).map(manyToManyMetadata),
  },
};

/** A collection-valued navigation property of `table`: the rows of `other` on the many side of a 1:N, or an N:N. */
type Collection = { kind: "oneToMany"; other: TableDef; column: ColumnDef } | { kind: "manyToMany"; other: TableDef; def: ManyToManyDef; side: 1 | 2 };

function collection(table: TableDef, navigation: string): Collection | undefined {
  const lookup = allLookups().find((l) => l.relationship.target === table.logicalName && l.relationship.relationship === navigation);
  if (lookup) return { kind: "oneToMany", other: lookup.table, column: lookup.column };
  const def = MANY_TO_MANY.find((m) => m.navigation === navigation && (m.entity1 === table.logicalName || m.entity2 === table.logicalName));
  if (!def) return undefined;
  const side = def.entity1 === table.logicalName ? 1 : 2;
  return { kind: "manyToMany", other: tableByLogicalName(side === 1 ? def.entity2 : def.entity1)!, def, side };
}

/** Whether the path is `<set>(<key>)/<nav>[(<key>)]/$ref`. */
export const isRefPath = (segments: string[]): boolean => segments.length === 3 && segments[2] === "$ref";

/** Answers a `$ref` request on the row `target` (`segments[1]` names the navigation property). */
export function handleRef(ctx: DvContext, target: Target, segments: string[]): EmuResponse {
  const { name, args } = parseSegment(segments[1]);
  const method = ctx.req.method;
  const single = lookupNavigation(target.table, name);
  const many = single ? undefined : collection(target.table, name);
  if (!single && !many) throw unknownSegment(name);
  if (!target.row) throw notFound(target);
  const id = target.row[target.table.primaryIdAttribute] as string;
  if (single) {
    if (args !== undefined) throw unknownSegment(segments[1]);
    const prop = propertyName(single.column);
    if (method === "PUT") {
      const other = referencedRow(ctx, parseJsonObject(ctx.req.body)["@odata.id"], tableByLogicalName(single.relationship.target)!);
      return write(ctx, target, { [prop]: other });
    }
    if (method === "DELETE") return write(ctx, target, { [prop]: null });
    throw methodNotAllowed(method, ["PUT", "DELETE"]);
  }
  const c = many!;
  if (method === "POST" && args === undefined) {
    const other = referencedRow(ctx, parseJsonObject(ctx.req.body)["@odata.id"], c.other);
    return associate(ctx, id, c, other);
  }
  if (method === "DELETE") {
    const other = args !== undefined ? rowIdOf(ctx, c.other, args) : referencedRow(ctx, ctx.query.get("$id"), c.other, "$id");
    return disassociate(ctx, id, c, other);
  }
  throw methodNotAllowed(method, args === undefined ? ["POST", "DELETE"] : ["DELETE"]);
}

function associate(ctx: DvContext, id: string, c: Collection, other: string): EmuResponse {
  if (c.kind === "oneToMany") return write(ctx, resolveTarget(ctx.core.store, c.other, other), { [propertyName(c.column)]: id });
  const [id1, id2] = c.side === 1 ? [id, other] : [other, id];
  // Like the intersect table's unique key on the real service: an existing link is a duplicate.
  if (!ctx.core.store.link(c.def.schemaName, id1, id2)) throw new DataverseError(412, CODES.duplicate, "Cannot insert duplicate key.");
  ctx.writes.updated++;
  return noContent();
}

/** Removing a link that does not exist changes nothing and is not an error. */
function disassociate(ctx: DvContext, id: string, c: Collection, other: string): EmuResponse {
  if (c.kind === "oneToMany") {
    const row = resolveTarget(ctx.core.store, c.other, other);
    if (!row.row) throw notFound(row);
    if (row.row[propertyName(c.column)] === id) return write(ctx, row, { [propertyName(c.column)]: null });
    return noContent();
  }
  const [id1, id2] = c.side === 1 ? [id, other] : [other, id];
  if (ctx.core.store.unlink(c.def.schemaName, id1, id2)) ctx.writes.updated++;
  return noContent();
}

function write(ctx: DvContext, target: Target, values: Row): EmuResponse {
  if (!target.row) throw notFound(target);
  ctx.core.store.update(target.table, target.row, values);
  ctx.writes.updated++;
  return noContent();
}

/** The id of the existing row of `table` that an `@odata.id` (or `$id`) URL names. */
function referencedRow(ctx: DvContext, value: unknown, table: TableDef, what = "@odata.id"): string {
  if (value === undefined || value === null) throw badRequest(`The request must name the related record in '${what}'.`);
  const { table: named, args } = addressedRecord(value, what);
  if (named !== table) {
    throw badRequest(`The navigation property expects a record of type '${odataType(table)}', but '${String(value)}' is a '${odataType(named)}'.`);
  }
  return rowIdOf(ctx, table, args);
}

function rowIdOf(ctx: DvContext, table: TableDef, args: string): string {
  const t = resolveTarget(ctx.core.store, table, args);
  if (!t.row) throw notFound(t);
  return t.row[table.primaryIdAttribute] as string;
}
