/**
 * The environment's actions and functions, for the editor's suggestions: Microsoft's, custom process
 * actions and custom APIs alike, read from the Web API's CSDL document ($metadata), which is the one
 * place that lists them all with their kind, binding and parameters. The document is large (megabytes
 * on a real environment), so it is read only when the editor asks, scanned rather than parsed into a
 * tree, and the result kept a while.
 */
import type { ApiRequest, ApiResponse } from "./request";

export interface OperationParameter {
  name: string;
  /** Edm.String, mscrm.EndpointAccessType, Collection(mscrm.crmbaseentity)… as the CSDL writes it. */
  type: string;
  required: boolean;
}

export interface OperationInfo {
  name: string;
  kind: "action" | "function";
  /** Bound operations: the table's logical name (crmbaseentity: any table), and whether bound to the table rather than a row. */
  boundTo?: { table: string; collection: boolean };
  parameters: OperationParameter[];
  /** The CSDL return type, when it returns something. */
  returns?: string;
}

type Send = (req: ApiRequest) => Promise<ApiResponse>;

const KEEP_MS = 10 * 60_000;
const OPERATION = /<(Action|Function)\s([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/g;
const PARAMETER = /<Parameter\s([^>]*?)(\/>|>[\s\S]*?<\/Parameter>)/g;

export class OperationCatalog {
  private loaded?: { value: Promise<OperationInfo[]>; expires: number };

  constructor(private readonly send: Send) {}

  /** Every operation, by name (bound and unbound ones of one name both listed). */
  list(): Promise<OperationInfo[]> {
    if (this.loaded && this.loaded.expires > Date.now()) return this.loaded.value;
    const value = this.send({ method: "GET", path: "$metadata", headers: { Accept: "application/xml" }, idempotent: true, expect: "any" }).then((res) =>
      parseOperations(typeof res.body === "string" ? res.body : ""),
    );
    const entry = { value, expires: Date.now() + KEEP_MS };
    this.loaded = entry;
    value.catch(() => {
      if (this.loaded === entry) this.loaded = undefined;
    });
    return value;
  }
}

/** Actions and functions of a CSDL document, sorted by name. */
export function parseOperations(csdl: string): OperationInfo[] {
  const operations: OperationInfo[] = [];
  for (const match of csdl.matchAll(OPERATION)) {
    const attributes = attributesOf(match[2]);
    const body = match[4] ?? "";
    const parameters = [...body.matchAll(PARAMETER)].map((p) => attributesOf(p[1]));
    const bound = attributes.IsBound === "true";
    const binding = bound ? parameters.shift() : undefined;
    const returns = /<ReturnType\s[^>]*?Type="([^"]+)"/.exec(body)?.[1];
    operations.push({
      name: attributes.Name ?? "",
      kind: match[1] === "Action" ? "action" : "function",
      ...(binding ? { boundTo: boundTable(binding.Type ?? "") } : {}),
      parameters: parameters.map((p) => ({ name: p.Name ?? "", type: p.Type ?? "", required: p.Nullable === "false" })),
      ...(returns ? { returns } : {}),
    });
  }
  return operations.filter((o) => o.name).sort((a, b) => a.name.localeCompare(b.name));
}

function boundTable(type: string): { table: string; collection: boolean } {
  const collection = /^Collection\((.*)\)$/.exec(type);
  const entity = collection ? collection[1] : type;
  return { table: entity.replace(/^(mscrm|Microsoft\.Dynamics\.CRM)\./, ""), collection: collection !== null };
}

function attributesOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}
