// EntityDefinitions: table and column metadata, enough for clients that map entity set names,
// primary attributes and column types. Metadata queries are never paged.
import { json, type DvContext } from "./context";
import { badRequest, CODES, DataverseError, methodNotAllowed, notImplemented, unknownProperty, unknownSegment } from "./errors";
import { evaluateFilter, filterProperties, parseFilter } from "./filter";
import { parseKeyPredicate, parseSegment, parseSelect } from "./odata";
import { castTo, fileAttributeMetadata } from "./files";
import type { EmuResponse } from "./server";
import { RELATIONSHIP_COLLECTIONS } from "./relationships";
import { lookupTargets, TABLES, type ColumnDef, type TableDef } from "./tables";
import type { Value } from "./values";
import { stableGuid } from "./util";

type Metadata = Record<string, unknown>;

const label = (text: string) => ({
  LocalizedLabels: [{ Label: text, LanguageCode: 1033 }],
  UserLocalizedLabel: { Label: text, LanguageCode: 1033 },
});

function entityMetadata(t: TableDef): Metadata {
  return {
    MetadataId: t.metadataId,
    LogicalName: t.logicalName,
    SchemaName: t.schemaName,
    EntitySetName: t.entitySetName,
    LogicalCollectionName: t.entitySetName,
    PrimaryIdAttribute: t.primaryIdAttribute,
    PrimaryNameAttribute: t.primaryNameAttribute,
    ObjectTypeCode: t.objectTypeCode,
    IsCustomEntity: t.isCustomEntity,
    DisplayName: label(t.displayName),
    DisplayCollectionName: label(t.displayCollectionName),
  };
}

const TYPE_NAMES: Record<ColumnDef["type"], { odataType: string; typeName: string }> = {
  Uniqueidentifier: { odataType: "UniqueIdentifierAttributeMetadata", typeName: "UniqueidentifierType" },
  String: { odataType: "StringAttributeMetadata", typeName: "StringType" },
  Memo: { odataType: "MemoAttributeMetadata", typeName: "MemoType" },
  Money: { odataType: "MoneyAttributeMetadata", typeName: "MoneyType" },
  Integer: { odataType: "IntegerAttributeMetadata", typeName: "IntegerType" },
  BigInt: { odataType: "BigIntAttributeMetadata", typeName: "BigIntType" },
  Decimal: { odataType: "DecimalAttributeMetadata", typeName: "DecimalType" },
  Boolean: { odataType: "BooleanAttributeMetadata", typeName: "BooleanType" },
  DateTime: { odataType: "DateTimeAttributeMetadata", typeName: "DateTimeType" },
  Picklist: { odataType: "PicklistAttributeMetadata", typeName: "PicklistType" },
  Lookup: { odataType: "LookupAttributeMetadata", typeName: "LookupType" },
};

/** Stable per-column id derived from the table's id and the column name. */
const attributeId = (t: TableDef, c: ColumnDef): string => stableGuid(`${t.metadataId}/${c.name}`);

function attributeMetadata(t: TableDef, c: ColumnDef): Metadata {
  return {
    "@odata.type": `#Microsoft.Dynamics.CRM.${TYPE_NAMES[c.type].odataType}`,
    MetadataId: attributeId(t, c),
    LogicalName: c.name,
    SchemaName: c.name,
    EntityLogicalName: t.logicalName,
    AttributeType: c.type,
    AttributeTypeName: { Value: TYPE_NAMES[c.type].typeName },
    DisplayName: label(c.displayName),
    IsPrimaryId: c.name === t.primaryIdAttribute,
    IsPrimaryName: c.name === t.primaryNameAttribute,
    IsValidForCreate: !c.readOnly,
    IsValidForUpdate: !c.readOnly && c.name !== t.primaryIdAttribute,
    IsValidForRead: true,
    // Lookups name the tables they accept (several for customer, owner and regarding lookups).
    ...(c.type === "Lookup" ? { Targets: lookupTargets(c) } : {}),
  };
}

/** $filter and $select over metadata objects; MetadataId is always returned. */
function query(ctx: DvContext, items: Metadata[], typeName: string, sample: Metadata = items[0] ?? {}): { items: Metadata[]; select?: string[] } {
  for (const name of ctx.query.keys()) {
    if (name.startsWith("$") && name !== "$select" && name !== "$filter") {
      throw notImplemented(`The query option '${name}' on metadata`);
    }
  }
  // An empty list without a sample (a table without columns of a cast's type) has nothing to check names against.
  const known = (p: string) => Object.keys(sample).length === 0 || (p in sample && !p.startsWith("@"));
  const filterText = ctx.query.get("$filter");
  if (filterText !== undefined) {
    const expr = parseFilter(filterText);
    for (const { property } of filterProperties(expr)) if (!known(property)) throw unknownProperty(typeName, property);
    const primitive = (v: unknown): Value => (typeof v === "object" || v === undefined ? null : (v as Value));
    items = items.filter((m) => evaluateFilter(expr, (p) => primitive(m[p])));
  }
  const selectText = ctx.query.get("$select");
  if (selectText === undefined) return { items };
  const select = parseSelect(selectText);
  for (const p of select) if (!known(p)) throw unknownProperty(typeName, p);
  const keep = ["@odata.type", ...select, "MetadataId"];
  return {
    items: items.map((m) => Object.fromEntries(keep.filter((k) => k in m).map((k) => [k, m[k]]))),
    select,
  };
}

const contextSuffix = (select?: string[]) => (select ? `(${select.join(",")})` : "");

/** Finds the item named by `(LogicalName='x')` or `(<MetadataId>)`. */
function byKey<T>(args: string, items: Array<{ id: string; name: string; item: T }>, what: string): T {
  const key = parseKeyPredicate(args);
  let found: { item: T } | undefined;
  let described: string;
  if (key.kind === "id") {
    found = items.find((i) => i.id === key.id);
    described = `MetadataId = ${key.id}`;
  } else {
    const names = Object.keys(key.values);
    if (names.length !== 1 || names[0] !== "LogicalName") throw badRequest(`An ${what} can only be addressed by MetadataId or LogicalName.`);
    found = items.find((i) => i.name === key.values.LogicalName);
    described = `LogicalName = '${key.values.LogicalName}'`;
  }
  if (!found) throw new DataverseError(404, CODES.notFoundById, `Could not find ${what} with ${described}.`);
  return found.item;
}

/** `EntityDefinitions`, `EntityDefinitions(LogicalName='x')`, `…/Attributes`, `…/Attributes(LogicalName='y')`. */
export function handleEntityDefinitions(ctx: DvContext, args: string | undefined, segments: string[]): EmuResponse {
  if (ctx.req.method !== "GET") throw methodNotAllowed(ctx.req.method, ["GET"]);
  const root = `${ctx.base}/$metadata#EntityDefinitions`;
  if (args === undefined) {
    if (segments.length > 1) throw unknownSegment(parseSegment(segments[1]).name);
    const { items, select } = query(ctx, TABLES.map(entityMetadata), "Microsoft.Dynamics.CRM.EntityMetadata");
    return json(200, { "@odata.context": `${root}${contextSuffix(select)}`, value: items });
  }
  const table = byKey(
    args,
    TABLES.map((t) => ({ id: t.metadataId, name: t.logicalName, item: t })),
    "entity",
  );
  if (segments.length === 1) {
    const { items, select } = query(ctx, [entityMetadata(table)], "Microsoft.Dynamics.CRM.EntityMetadata");
    return json(200, { "@odata.context": `${root}${contextSuffix(select)}/$entity`, ...items[0] });
  }
  const next = parseSegment(segments[1]);
  const relationships = RELATIONSHIP_COLLECTIONS[next.name];
  if (relationships && next.args === undefined && segments.length === 2) {
    const { items, select } = query(ctx, relationships.list(table), relationships.typeName, relationships.sample());
    return json(200, { "@odata.context": `${root}(LogicalName='${table.logicalName}')/${next.name}${contextSuffix(select)}`, value: items });
  }
  const cast = segments[2];
  if (next.name !== "Attributes" || segments.length > 3) throw unknownSegment(next.name);
  const attributes = [
    ...table.columns.map((c) => ({ id: attributeId(table, c), name: c.name, item: attributeMetadata(table, c) })),
    ...(table.files ?? []).map((f) => ({ id: stableGuid(`${table.metadataId}/${f.name}`), name: f.name, item: fileAttributeMetadata(table, f, label) })),
  ];
  const attrRoot = `${root}(LogicalName='${table.logicalName}')/Attributes`;
  const typed = (items: Metadata[]) => (cast === undefined ? items : castTo(items, cast));
  const typeName = cast ?? "Microsoft.Dynamics.CRM.AttributeMetadata";
  if (next.args === undefined) {
    const all = typed(attributes.map((a) => a.item));
    if (!all) throw unknownSegment(cast);
    const { items, select } = query(ctx, all, typeName);
    return json(200, { "@odata.context": `${attrRoot}${cast ? `/${cast}` : ""}${contextSuffix(select)}`, value: items });
  }
  const attribute = typed([byKey(next.args, attributes, "attribute")]);
  if (!attribute?.length) throw unknownSegment(cast);
  const { items, select } = query(ctx, attribute, typeName);
  return json(200, { "@odata.context": `${attrRoot}${cast ? `/${cast}` : ""}${contextSuffix(select)}/$entity`, ...items[0] });
}
