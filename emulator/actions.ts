// Actions and functions beyond WhoAmI and the bulk messages: RetrieveCurrentOrganization (a
// function with an enum parameter), the custom APIs cr0a1_Echo (unbound action), cr0a1_Describe
// (unbound function taking every kind of parameter) and cr0a1_Touch (action bound to an account),
// and the $metadata CSDL document that lists them with the rest.
//   GET  RetrieveCurrentOrganization(AccessType=@p1)?@p1=Microsoft.Dynamics.CRM.EndpointAccessType'Default'
//   POST cr0a1_Echo                              {"Text":"hi","Number":2}
//   POST accounts(<id>)/Microsoft.Dynamics.CRM.cr0a1_Touch   {"Note":"…"}  → 204
// Functions take parameters inline or as @aliases; actions take a JSON body. A function called with
// POST, or an action with GET, is 405 like WhoAmI; a missing required parameter is 400 "Request
// message has unresolved parameters." (the message Dataverse gives; its code is not verified).
import { json, noContent, type DvContext } from "./context";
import { badRequest, CODES, DataverseError, methodNotAllowed, unknownSegment } from "./errors";
import { ORGANIZATION_ID, TENANT_ID } from "./identities";
import { parseKeyPredicate, parseSegment, splitTopLevel } from "./odata";
import { parseJsonObject } from "./rows";
import type { EmuResponse } from "./server";
import { TABLES, tableBySet, type TableDef } from "./tables";
import { isGuid, stableGuid } from "./util";
import type { Row } from "./values";

const NAMESPACE = "Microsoft.Dynamics.CRM.";

type ParamType =
  | "Edm.String"
  | "Edm.Decimal"
  | "Edm.Boolean"
  | "Edm.Guid"
  | "Edm.DateTimeOffset"
  | "mscrm.EndpointAccessType"
  | "mscrm.crmbaseentity"
  | "Collection(Edm.String)";

interface ParamDef {
  name: string;
  type: ParamType;
  required?: boolean;
}

interface Call {
  ctx: DvContext;
  args: Record<string, unknown>;
  /** The row a bound operation runs on. */
  bound?: { table: TableDef; row: Row };
}

interface OperationDef {
  name: string;
  kind: "action" | "function";
  /** Bound to a row of this table. */
  boundTo?: string;
  parameters: ParamDef[];
  /** CSDL return type; none means 204 No Content. */
  returns?: string;
  run(call: Call): EmuResponse;
}

const ENUMS: Record<string, string[]> = { EndpointAccessType: ["Default", "Internet", "Intranet"] };

const response = (ctx: DvContext, type: string, body: Record<string, unknown>): EmuResponse =>
  json(200, { "@odata.context": `${ctx.base}/$metadata#Microsoft.Dynamics.CRM.${type}`, ...body });

/** RetrieveCurrentOrganization's OrganizationDetail, with the endpoints of this emulator. */
function organizationDetail(ctx: DvContext): Record<string, unknown> {
  const url = ctx.core.dataverseUrl;
  return {
    OrganizationId: ORGANIZATION_ID,
    FriendlyName: "Contoso (emulator)",
    OrganizationVersion: "9.2.25012.00154",
    EnvironmentId: stableGuid("environment"),
    DatacenterId: stableGuid("datacenter"),
    Geo: "NA",
    TenantId: TENANT_ID,
    UrlName: "contoso",
    UniqueName: "unq8f9e0d1c2b3a4c5d8e6f7a8b9c0d1e2f",
    State: "Enabled",
    Endpoints: {
      Count: 3,
      IsReadOnly: false,
      Keys: ["WebApplication", "OrganizationService", "OrganizationDataService"],
      Values: [`${url}/`, `${url}/XRMServices/2011/Organization.svc`, `${url}/XRMServices/2011/OrganizationData.svc`],
    },
  };
}

export const OPERATIONS: readonly OperationDef[] = [
  {
    name: "RetrieveCurrentOrganization",
    kind: "function",
    parameters: [{ name: "AccessType", type: "mscrm.EndpointAccessType", required: true }],
    returns: "mscrm.RetrieveCurrentOrganizationResponse",
    run: ({ ctx }) => response(ctx, "RetrieveCurrentOrganizationResponse", { Detail: organizationDetail(ctx) }),
  },
  {
    name: "cr0a1_Echo",
    kind: "action",
    parameters: [
      { name: "Text", type: "Edm.String", required: true },
      { name: "Number", type: "Edm.Decimal" },
      { name: "Flag", type: "Edm.Boolean" },
      { name: "Target", type: "mscrm.crmbaseentity" },
    ],
    returns: "mscrm.cr0a1_EchoResponse",
    run: ({ ctx, args }) =>
      response(ctx, "cr0a1_EchoResponse", { Text: args.Text, Number: args.Number ?? null, Flag: args.Flag ?? null, Target: args.Target ?? null }),
  },
  {
    name: "cr0a1_Describe",
    kind: "function",
    parameters: [
      { name: "Text", type: "Edm.String" },
      { name: "Number", type: "Edm.Decimal" },
      { name: "Flag", type: "Edm.Boolean" },
      { name: "Id", type: "Edm.Guid" },
      { name: "When", type: "Edm.DateTimeOffset" },
      { name: "Access", type: "mscrm.EndpointAccessType" },
      { name: "Target", type: "mscrm.crmbaseentity" },
      { name: "Names", type: "Collection(Edm.String)" },
    ],
    returns: "mscrm.cr0a1_DescribeResponse",
    run: ({ ctx, args }) => {
      const target = args.Target as { table: string; id: string } | undefined;
      return response(ctx, "cr0a1_DescribeResponse", {
        Received: Object.keys(args).sort().join(","),
        Text: args.Text ?? null,
        Number: args.Number ?? null,
        Flag: args.Flag ?? null,
        Id: args.Id ?? null,
        When: args.When ?? null,
        Access: args.Access ?? null,
        TargetTable: target?.table ?? null,
        TargetId: target?.id ?? null,
        Names: args.Names ?? [],
      });
    },
  },
  {
    name: "cr0a1_Touch",
    kind: "action",
    boundTo: "account",
    parameters: [{ name: "Note", type: "Edm.String" }],
    run: ({ ctx, args, bound }) => {
      const { table, row } = bound!;
      ctx.core.store.update(table, row, { description: typeof args.Note === "string" ? args.Note : "Touched" });
      ctx.writes.updated++;
      return noContent();
    },
  },
];

const operationNamed = (name: string): OperationDef | undefined => OPERATIONS.find((o) => o.name === name);

/**
 * Answers a request for one of OPERATIONS; undefined when the path is not one (WhoAmI, tables, bulk
 * messages and unknown names are routed as before).
 */
export function handleOperation(ctx: DvContext, segments: string[]): EmuResponse | undefined {
  const first = parseSegment(segments[0]);
  if (segments.length === 1) {
    const op = operationNamed(first.name);
    return op && !op.boundTo ? invoke(ctx, op, first.args) : undefined;
  }
  const table = tableBySet(first.name);
  if (segments.length !== 2 || !table || first.args === undefined) return undefined;
  const second = parseSegment(segments[1]);
  if (!second.name.startsWith(NAMESPACE)) return undefined;
  const op = operationNamed(second.name.slice(NAMESPACE.length));
  if (!op || op.boundTo !== table.logicalName) throw unknownSegment(second.name);
  const key = parseKeyPredicate(first.args);
  const row = key.kind === "id" ? ctx.core.store.get(table, key.id) : undefined;
  if (!row) throw new DataverseError(404, CODES.notFoundById, `${table.logicalName} With Id = ${first.args} Does Not Exist`);
  return invoke(ctx, op, second.args, { table, row });
}

function invoke(ctx: DvContext, op: OperationDef, inline: string | undefined, bound?: Call["bound"]): EmuResponse {
  const method = op.kind === "function" ? "GET" : "POST";
  if (ctx.req.method !== method) throw methodNotAllowed(ctx.req.method, [method]);
  if (op.kind === "action" && inline !== undefined) throw unknownSegment(`${op.name}(${inline})`);
  const args = op.kind === "function" ? functionArguments(ctx, op, inline ?? "") : actionArguments(ctx, op);
  for (const p of op.parameters) {
    if (p.required && args[p.name] === undefined) throw new DataverseError(400, CODES.invalidArgument, "Request message has unresolved parameters.");
  }
  return op.run({ ctx, args, bound });
}

/** `A=@p1,B=2` with the aliases from the query string. */
function functionArguments(ctx: DvContext, op: OperationDef, inline: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const part of inline.trim() ? splitTopLevel(inline, ",") : []) {
    const eq = part.indexOf("=");
    if (eq < 0) throw badRequest("Bad Request - Error in query syntax.");
    const name = part.slice(0, eq).trim();
    let literal = part.slice(eq + 1).trim();
    if (literal.startsWith("@")) {
      const aliased = ctx.query.get(literal);
      if (aliased === undefined) throw badRequest(`The parameter alias '${literal}' has no value in the query.`);
      literal = aliased;
    }
    args[name] = convert(op, name, parseLiteral(literal));
  }
  return args;
}

function actionArguments(ctx: DvContext, op: OperationDef): Record<string, unknown> {
  const body = ctx.req.body.trim() ? parseJsonObject(ctx.req.body) : {};
  return Object.fromEntries(Object.entries(body).map(([name, value]) => [name, convert(op, name, { json: value })]));
}

/** A function parameter's literal: what it is, before the parameter's type is known. */
type Literal = { text: string } | { guid: string } | { enumType: string; member: string } | { json: unknown } | { dateTime: string };

function parseLiteral(text: string): Literal {
  const t = text.trim();
  if (/^'(?:[^']|'')*'$/s.test(t)) return { text: t.slice(1, -1).replace(/''/g, "'") };
  if (isGuid(t)) return { guid: t.toLowerCase() };
  const enumLiteral = /^Microsoft\.Dynamics\.CRM\.(\w+)'([^']*)'$/.exec(t);
  if (enumLiteral) return { enumType: enumLiteral[1], member: enumLiteral[2] };
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(t)) return { dateTime: t };
  try {
    return { json: JSON.parse(t) };
  } catch {
    // Microsoft's samples write records with single quotes: {'@odata.id':'accounts(…)'}.
    try {
      return { json: JSON.parse(t.replace(/'/g, '"')) };
    } catch {
      throw badRequest("Bad Request - Error in query syntax.");
    }
  }
}

const cannotConvert = (shown: string, type: string) => badRequest(`Cannot convert the literal '${shown}' to the expected type '${type}'.`);

/** The value of a parameter of `op`, checked against its type. */
function convert(op: OperationDef, name: string, literal: Literal): unknown {
  const def = op.parameters.find((p) => p.name === name);
  if (!def) throw badRequest(`The parameter '${name}' in the request payload is not a valid parameter for the operation '${op.name}'.`);
  const value = "json" in literal ? literal.json : undefined;
  const shown = "text" in literal ? literal.text : JSON.stringify(Object.values(literal)[0]);
  if (value === null) {
    if (def.required) throw cannotConvert("null", def.type);
    return undefined;
  }
  switch (def.type) {
    case "Edm.String":
      if ("text" in literal) return literal.text;
      if (typeof value === "string") return value;
      break;
    case "Edm.Decimal":
      if (typeof value === "number") return value;
      break;
    case "Edm.Boolean":
      if (typeof value === "boolean") return value;
      break;
    case "Edm.Guid":
      if ("guid" in literal) return literal.guid;
      if (typeof value === "string" && isGuid(value)) return value.toLowerCase();
      break;
    case "Edm.DateTimeOffset":
      if ("dateTime" in literal) return literal.dateTime;
      if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
      break;
    case "mscrm.EndpointAccessType": {
      const member = "enumType" in literal && literal.enumType === "EndpointAccessType" ? literal.member : typeof value === "string" ? value : undefined;
      if (member !== undefined && ENUMS.EndpointAccessType.includes(member)) return member;
      break;
    }
    case "mscrm.crmbaseentity":
      return entityReference(value, shown);
    case "Collection(Edm.String)":
      if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
      break;
  }
  throw cannotConvert(shown, def.type);
}

/** A record: `{"@odata.id":"accounts(<id>)"}` in a function, or `{"@odata.type":"Microsoft.Dynamics.CRM.account","accountid":…}` in an action. */
function entityReference(value: unknown, shown: string): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw cannotConvert(shown, "mscrm.crmbaseentity");
  const record = value as Record<string, unknown>;
  const odataId = record["@odata.id"];
  if (typeof odataId === "string") {
    const match = /(?:^|\/)(\w+)\(([^)]+)\)$/.exec(odataId);
    const table = match ? tableBySet(match[1]) : undefined;
    if (!match || !table || !isGuid(match[2])) throw badRequest(`The entity reference '${odataId}' is not a valid record URI.`);
    return { table: table.logicalName, id: match[2].toLowerCase() };
  }
  if (typeof record["@odata.type"] !== "string") {
    throw badRequest("An entity parameter of abstract type 'crmbaseentity' needs '@odata.type' to say which table its record is.");
  }
  return record;
}

// ---------------------------------------------------------------------------------------------
// $metadata

/** Operations the emulator has elsewhere, listed in $metadata too. */
const OTHER_OPERATIONS = [
  `<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>`,
  ...["CreateMultiple", "UpdateMultiple", "UpsertMultiple"].map(
    (m) =>
      `<Action Name="${m}" IsBound="true"><Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/><Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>${m === "UpdateMultiple" ? "" : `<ReturnType Type="mscrm.${m}Response" Nullable="false"/>`}</Action>`,
  ),
];

function operationXml(op: OperationDef): string {
  const tag = op.kind === "action" ? "Action" : "Function";
  const binding = op.boundTo ? `<Parameter Name="entity" Type="mscrm.${op.boundTo}" Nullable="false"/>` : "";
  const params = op.parameters.map((p) => `<Parameter Name="${p.name}" Type="${p.type}"${p.required ? ' Nullable="false"' : ""}/>`).join("");
  const returns = op.returns ? `<ReturnType Type="${op.returns}" Nullable="false"/>` : "";
  return `<${tag} Name="${op.name}"${op.boundTo ? ' IsBound="true"' : ""}>${binding}${params}${returns}</${tag}>`;
}

function entityTypeXml(t: TableDef): string {
  const properties = t.columns.map(
    (c) =>
      `<Property Name="${c.type === "Lookup" ? `_${c.name}_value` : c.name}" Type="Edm.${c.type === "Uniqueidentifier" || c.type === "Lookup" ? "Guid" : "String"}"/>`,
  );
  return `<EntityType Name="${t.logicalName}" BaseType="mscrm.crmbaseentity"><Key><PropertyRef Name="${t.primaryIdAttribute}"/></Key>${properties.join("")}</EntityType>`;
}

/** `GET $metadata`: the CSDL (XML) of the tables and operations; abbreviated, but in Dataverse's shape. */
export function handleMetadataDocument(ctx: DvContext, segments: string[]): EmuResponse {
  if (segments.length > 1) throw unknownSegment(segments[1]);
  if (ctx.req.method !== "GET") throw methodNotAllowed(ctx.req.method, ["GET"]);
  const unbound = OPERATIONS.filter((o) => !o.boundTo);
  const xml = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>',
    '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ...TABLES.map(entityTypeXml),
    ...Object.entries(ENUMS).map(
      ([name, members]) => `<EnumType Name="${name}">${members.map((m, i) => `<Member Name="${m}" Value="${i}"/>`).join("")}</EnumType>`,
    ),
    ...OTHER_OPERATIONS,
    ...OPERATIONS.map(operationXml),
    '<EntityContainer Name="System">',
    ...TABLES.map((t) => `<EntitySet Name="${t.entitySetName}" EntityType="mscrm.${t.logicalName}"/>`),
    '<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/>',
    ...unbound.map((o) =>
      o.kind === "function" ? `<FunctionImport Name="${o.name}" Function="mscrm.${o.name}"/>` : `<ActionImport Name="${o.name}" Action="mscrm.${o.name}"/>`,
    ),
    "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>",
  ].join("\n");
  return { status: 200, headers: { "Content-Type": "application/xml; charset=utf-8" }, body: xml };
}
