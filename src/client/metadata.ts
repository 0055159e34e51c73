/**
 * One metadata cache per connection: tables (entity set ↔ logical name, primary id and name columns)
 * and columns, used by every operation and by the editor's suggestions.
 */
import { DataverseError } from "./errors";
import type { ApiRequest, ApiResponse } from "./request";
import { valuesOf } from "./response";

export interface TableInfo {
  logicalName: string;
  entitySetName: string;
  displayName: string;
  primaryIdAttribute?: string;
  primaryNameAttribute?: string;
}

export interface ColumnInfo {
  logicalName: string;
  type: string;
  displayName: string;
}

/** An N:1 relationship: a lookup column, a table it points at and its (case-sensitive) navigation property. */
export interface LookupRelationship {
  column: string;
  /** Logical name of the referenced table (`owner` for owner lookups: a systemuser or a team). */
  table: string;
  navigation: string;
  schemaName: string;
}

/** A collection-valued navigation property of a table: the many side of a 1:N, or an N:N. */
export interface CollectionRelationship {
  schemaName: string;
  navigation: string;
  /** Logical name of the table on the other side. */
  table: string;
  kind: "OneToMany" | "ManyToMany";
}

/** A file or image column, with the largest file it takes. */
export interface FileColumnInfo {
  logicalName: string;
  kind: "file" | "image";
  maxSizeInKB?: number;
}

type Send = (req: ApiRequest, signal?: AbortSignal) => Promise<ApiResponse>;

/** Lists for the editor are kept a few minutes; a table's identity never changes, so it is kept. */
const LIST_TTL_MS = 5 * 60_000;
/** After a failed or empty lookup, ask again only after this long, so a burst does not wait on each. */
const RETRY_LOOKUP_AFTER_MS = 60_000;
const TABLE_FIELDS = "LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute";

interface Entry<T> {
  value: Promise<T>;
  expires: number;
}

export class MetadataCache {
  private readonly entries = new Map<string, Entry<unknown>>();

  /** `lookupTimeoutMs` bounds the lookups other requests wait on (a create waits for its table's id column). */
  constructor(
    private readonly send: Send,
    private readonly lookupTimeoutMs: number,
  ) {}

  /**
   * The table named by its entity set name or its logical name. Undefined when metadata cannot be
   * read (the app may not read EntityDefinitions, or the lookup timed out): callers then go on with
   * the name as given. A name that is neither is a 404 at once.
   */
  async table(name: string): Promise<TableInfo | undefined> {
    const keep = (t: TableInfo | null | undefined) => (t ? Number.POSITIVE_INFINITY : RETRY_LOOKUP_AFTER_MS);
    const found = await this.cached(`table:${name}`, keep, async () => {
      const listed = this.entries.get("tables");
      const tables = listed && listed.expires > Date.now() ? await (listed.value as Promise<TableInfo[]>).catch(() => undefined) : undefined;
      const known = tables?.find((t) => t.entitySetName === name) ?? tables?.find((t) => t.logicalName === name);
      if (known) return known;
      try {
        const res = await this.send({
          method: "GET",
          path: `EntityDefinitions?$select=${TABLE_FIELDS}&$filter=EntitySetName eq '${name}' or LogicalName eq '${name}'`,
          idempotent: true,
          timeoutMs: this.lookupTimeoutMs,
          maxRetries: 0,
          urgent: true,
        });
        const matches = valuesOf(res.body)
          .map(tableInfo)
          .filter((t): t is TableInfo => t !== undefined);
        return matches.find((t) => t.entitySetName === name) ?? matches[0] ?? null;
      } catch (err) {
        // Metadata may be unreadable (no privilege) or slow: the operation goes on without it. Any other
        // failure (sign-in, unreachable host) would fail the operation the same way, so it is reported now.
        if (err instanceof DataverseError && (err.retryable || err.status === 403)) return undefined;
        throw err;
      }
    });
    if (found === null) {
      throw new DataverseError({
        message: `Table '${name}' does not exist in this environment. Use the entity set name (plural, for example accounts) or the logical name (account)`,
        status: 404,
        code: "0x8006088a",
        field: "table",
      });
    }
    return found;
  }

  /** Whether a table supports a bulk message (sdkmessagefilters); false when that cannot be read. */
  supports(logicalName: string, message: string): Promise<boolean> {
    return this.cached(
      `supports:${message}:${logicalName}`,
      (ok) => (ok ? Number.POSITIVE_INFINITY : RETRY_LOOKUP_AFTER_MS),
      async () => {
        try {
          const res = await this.send({
            method: "GET",
            path: `sdkmessagefilters?$select=sdkmessagefilterid&$filter=${encodeURIComponent(`sdkmessageid/name eq '${message}' and primaryobjecttypecode eq '${logicalName}'`)}`,
            idempotent: true,
            timeoutMs: this.lookupTimeoutMs,
            maxRetries: 0,
            urgent: true,
          });
          return valuesOf(res.body).length > 0;
        } catch {
          return false;
        }
      },
    );
  }

  /** A table's lookups (ManyToOneRelationships); undefined when metadata cannot be read. */
  lookups(logicalName: string): Promise<LookupRelationship[] | undefined> {
    return this.relationships(
      logicalName,
      "ManyToOneRelationships",
      "SchemaName,ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName",
      (r) => [
        {
          column: String(r.ReferencingAttribute),
          table: String(r.ReferencedEntity),
          navigation: String(r.ReferencingEntityNavigationPropertyName),
          schemaName: String(r.SchemaName),
        },
      ],
    );
  }

  /** A table's collection-valued navigation properties (1:N and N:N); undefined when metadata cannot be read. */
  async collections(logicalName: string): Promise<CollectionRelationship[] | undefined> {
    const [oneToMany, manyToMany] = await Promise.all([
      this.relationships(logicalName, "OneToManyRelationships", "SchemaName,ReferencingEntity,ReferencedEntityNavigationPropertyName", (r) => [
        {
          schemaName: String(r.SchemaName),
          navigation: String(r.ReferencedEntityNavigationPropertyName),
          table: String(r.ReferencingEntity),
          kind: "OneToMany" as const,
        },
      ]),
      this.relationships(
        logicalName,
        "ManyToManyRelationships",
        "SchemaName,Entity1LogicalName,Entity2LogicalName,Entity1NavigationPropertyName,Entity2NavigationPropertyName",
        (r) => {
          // Each side names the other through its own navigation property (two for a table related to itself).
          const sides: CollectionRelationship[] = [];
          const side = (table: unknown, navigation: unknown, other: unknown) => {
            if (table === logicalName)
              sides.push({ schemaName: String(r.SchemaName), navigation: String(navigation), table: String(other), kind: "ManyToMany" });
          };
          side(r.Entity1LogicalName, r.Entity1NavigationPropertyName, r.Entity2LogicalName);
          side(r.Entity2LogicalName, r.Entity2NavigationPropertyName, r.Entity1LogicalName);
          return sides;
        },
      ),
    ]);
    return oneToMany && manyToMany ? [...oneToMany, ...manyToMany] : undefined;
  }

  /**
   * One relationship collection of a table, read like the lookups writes wait on (urgent, short
   * timeout); kept a few minutes, a failure a minute, so a burst of messages does not wait on each.
   */
  private relationships<T>(logicalName: string, collection: string, select: string, read: (r: Record<string, unknown>) => T[]): Promise<T[] | undefined> {
    return this.cached(
      `${collection}:${logicalName}`,
      (found) => (found ? LIST_TTL_MS : RETRY_LOOKUP_AFTER_MS),
      async () => {
        try {
          const res = await this.send({
            method: "GET",
            path: `EntityDefinitions(LogicalName='${logicalName}')/${collection}?$select=${select}`,
            idempotent: true,
            timeoutMs: this.lookupTimeoutMs,
            maxRetries: 0,
            urgent: true,
          });
          return valuesOf(res.body).flatMap(read);
        } catch (err) {
          if (err instanceof DataverseError && (err.retryable || err.status === 403)) return undefined;
          throw err;
        }
      },
    );
  }

  /** The environment's tables that have an entity set, by display name. */
  tables(): Promise<TableInfo[]> {
    return this.cached(
      "tables",
      () => LIST_TTL_MS,
      async () => {
        const res = await this.send({ method: "GET", path: `EntityDefinitions?$select=${TABLE_FIELDS}`, idempotent: true });
        const tables = valuesOf(res.body)
          .map(tableInfo)
          .filter((t): t is TableInfo => t !== undefined);
        return tables.sort((a, b) => a.displayName.localeCompare(b.displayName));
      },
    );
  }

  /** A table's columns, by logical name. */
  async columns(name: string): Promise<ColumnInfo[]> {
    const table = await this.table(name);
    const logicalName = table?.logicalName ?? name;
    return this.cached(
      `columns:${logicalName}`,
      () => LIST_TTL_MS,
      async () => {
        const res = await this.send({
          method: "GET",
          path: `EntityDefinitions(LogicalName='${logicalName}')/Attributes?$select=LogicalName,AttributeType,DisplayName`,
          table: table?.entitySetName ?? name,
          idempotent: true,
        });
        return valuesOf(res.body)
          .map((a) => ({
            logicalName: String(a.LogicalName),
            type: String(a.AttributeType ?? ""),
            displayName: labelOf(a.DisplayName) || String(a.LogicalName),
          }))
          .sort((a, b) => a.logicalName.localeCompare(b.logicalName));
      },
    );
  }

  /**
   * A table's file and image columns by logical name (FileAttributeMetadata, ImageAttributeMetadata);
   * undefined when metadata cannot be read.
   */
  fileColumns(table: TableInfo): Promise<Map<string, FileColumnInfo> | undefined> {
    return this.cached(
      `files:${table.logicalName}`,
      (found) => (found ? LIST_TTL_MS : RETRY_LOOKUP_AFTER_MS),
      async () => {
        const read = async (kind: FileColumnInfo["kind"], cast: string) => {
          const res = await this.send({
            method: "GET",
            path: `EntityDefinitions(LogicalName='${table.logicalName}')/Attributes/Microsoft.Dynamics.CRM.${cast}?$select=LogicalName,MaxSizeInKB`,
            table: table.entitySetName,
            idempotent: true,
            timeoutMs: this.lookupTimeoutMs,
            urgent: true,
          });
          return valuesOf(res.body).map((a): FileColumnInfo => ({
            logicalName: String(a.LogicalName),
            kind,
            ...(typeof a.MaxSizeInKB === "number" ? { maxSizeInKB: a.MaxSizeInKB } : {}),
          }));
        };
        try {
          const columns = (await Promise.all([read("file", "FileAttributeMetadata"), read("image", "ImageAttributeMetadata")])).flat();
          return new Map(columns.map((c) => [c.logicalName, c]));
        } catch (err) {
          if (err instanceof DataverseError && (err.retryable || err.status === 403)) return undefined;
          throw err;
        }
      },
    );
  }

  /** One load at a time per key, kept for `keepMs(value)`; a failed load is forgotten at once. */
  private cached<T>(key: string, keepMs: (value: T) => number, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value as Promise<T>;
    const value = load();
    const entry: Entry<T> = { value, expires: Number.POSITIVE_INFINITY };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        entry.expires = Date.now() + keepMs(v);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }
}

function tableInfo(t: Record<string, unknown>): TableInfo | undefined {
  if (typeof t.EntitySetName !== "string" || !t.EntitySetName) return undefined;
  return {
    logicalName: String(t.LogicalName),
    entitySetName: t.EntitySetName,
    displayName: labelOf(t.DisplayName) || String(t.LogicalName),
    ...(t.PrimaryIdAttribute ? { primaryIdAttribute: String(t.PrimaryIdAttribute) } : {}),
    ...(t.PrimaryNameAttribute ? { primaryNameAttribute: String(t.PrimaryNameAttribute) } : {}),
  };
}

/** Metadata labels: {"UserLocalizedLabel": {"Label": "Account"}}. */
function labelOf(label: unknown): string {
  const text = (label as { UserLocalizedLabel?: { Label?: unknown } } | undefined)?.UserLocalizedLabel?.Label;
  return typeof text === "string" ? text : "";
}
