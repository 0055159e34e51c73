// In-memory rows of every table, with the platform's bookkeeping: row versions (etags),
// created/modified timestamps, derived columns, alternate-key uniqueness and lookup clean-up.
import { duplicateRecord, badRequest } from "./errors";
import { BASE_CURRENCY_ID } from "./identities";
import { lookupTargets, propertyName, tableByLogicalName, TABLES, type AlternateKeyDef, type ColumnDef, type TableDef } from "./tables";
import type { Row, Value } from "./values";
import { isoSeconds } from "./util";

/** Dataverse compares text case- and accent-insensitively (SQL collation *_CI_AI). */
export const fold = (s: string): string =>
  s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();

const keyPart = (v: Value): string => (typeof v === "string" ? fold(v) : String(v));

/** First row version handed out after a reset; real versions are large numbers too. */
const VERSION_BASE = 1_000_000;

interface TableData {
  rows: Map<string, Row>;
  /** Per alternate key: folded key values → row id. */
  keyIndex: Map<string, Map<string, string>>;
  /** Per lookup property: referenced id → ids of the rows pointing at it, so a delete finds them at once. */
  refIndex: Map<string, Map<string, Set<string>>>;
}

/** Lookup columns that point at a table of the emulator (the ones a delete has to clear). */
const referencing = (table: TableDef) => table.columns.filter((c) => c.type === "Lookup" && TABLES.some((t) => lookupTargets(c).includes(t.logicalName)));

export interface WriteTimes {
  createdon?: string;
  modifiedon?: string;
}

/** A row as it was before a write inside `atomic()`: undefined when the write created it. */
interface JournalEntry {
  table: TableDef;
  id: string;
  before: Row | undefined;
}

export class Store {
  private data = new Map<string, TableData>();
  private version = VERSION_BASE;
  /** N:N links per relationship schema name, as `<entity1 id>|<entity2 id>` (the intersect table's rows). */
  private links = new Map<string, Set<string>>();
  /** Per table: deleted row id → the row version its delete was given (what change tracking reports). */
  private tombstones = new Map<string, Map<string, number>>();
  /** Bumped by every change to any table: cached query results are valid for one generation. */
  generation = 0;
  /** Set while `atomic()` runs: the rows' earlier states, in write order, so a failure can restore them. */
  private journal?: JournalEntry[];
  /**
   * While `atomic()` runs: a table's row order before its first delete. Rows come back in insertion
   * order (OData without $orderby), so a row whose delete is undone goes back to its place.
   */
  private orderBeforeDelete?: Map<TableDef, string[]>;

  constructor() {
    this.clearAll();
  }

  /** Empties every table and restarts the row-version counter. */
  clearAll(): void {
    this.version = VERSION_BASE;
    this.links.clear();
    for (const t of TABLES) this.clear(t);
  }

  /** Links two rows through an N:N relationship; false when they were linked already. */
  link(relationship: string, id1: string, id2: string): boolean {
    let pairs = this.links.get(relationship);
    if (!pairs) this.links.set(relationship, (pairs = new Set()));
    const pair = `${id1.toLowerCase()}|${id2.toLowerCase()}`;
    if (pairs.has(pair)) return false;
    pairs.add(pair);
    this.generation++;
    return true;
  }

  /** Removes an N:N link; false when there was none. */
  unlink(relationship: string, id1: string, id2: string): boolean {
    const removed = this.links.get(relationship)?.delete(`${id1.toLowerCase()}|${id2.toLowerCase()}`) ?? false;
    if (removed) this.generation++;
    return removed;
  }

  /** The rows linked to `id` through an N:N relationship, from `side` 1 (entity1's id) or 2. */
  linked(relationship: string, side: 1 | 2, id: string): string[] {
    const pairs = [...(this.links.get(relationship) ?? [])].map((p) => p.split("|"));
    return pairs.filter((p) => p[side - 1] === id.toLowerCase()).map((p) => p[2 - side]);
  }

  clear(table: TableDef): void {
    this.generation++;
    this.tombstones.set(table.logicalName, new Map());
    this.data.set(table.logicalName, {
      rows: new Map(),
      keyIndex: new Map(table.alternateKeys.map((k) => [k.name, new Map()])),
      refIndex: new Map(referencing(table).map((c) => [propertyName(c), new Map()])),
    });
  }

  /** The last row version handed out: a change-tracking token stands for the state at this version. */
  get currentVersion(): number {
    return this.version;
  }

  /** Ids of rows deleted with a version in (after, upTo], with that version; rows that exist again are left out. */
  deletedBetween(table: TableDef, after: number, upTo: number): Array<{ id: string; version: number }> {
    const rows = this.tableData(table).rows;
    return [...this.tombstones.get(table.logicalName)!]
      .filter(([id, version]) => version > after && version <= upTo && !rows.has(id))
      .map(([id, version]) => ({ id, version }));
  }

  private tableData(table: TableDef): TableData {
    return this.data.get(table.logicalName)!;
  }

  all(table: TableDef): Row[] {
    return [...this.tableData(table).rows.values()];
  }

  count(table: TableDef): number {
    return this.tableData(table).rows.size;
  }

  get(table: TableDef, id: string): Row | undefined {
    return this.tableData(table).rows.get(id.toLowerCase());
  }

  /** The table of the row a lookup value points at: its target, or for a polymorphic lookup the one holding the id. */
  lookupTarget(column: ColumnDef, id: string): TableDef | undefined {
    const tables = lookupTargets(column).map((name) => tableByLogicalName(name));
    return tables.find((t) => t && this.get(t, id));
  }

  /** Row whose alternate key `key` has `values` (compared like SQL: case/accent-insensitive). */
  findByKey(table: TableDef, key: AlternateKeyDef, values: Record<string, Value>): Row | undefined {
    const k = this.keyString(key, values);
    const id = k === undefined ? undefined : this.tableData(table).keyIndex.get(key.name)!.get(k);
    return id === undefined ? undefined : this.get(table, id);
  }

  /**
   * Runs `fn` as one transaction: when it throws, every row it wrote (created, updated, deleted,
   * lookups cleared by a delete) is put back as it was, and the error goes on. Nests: an inner
   * failure undoes only the inner writes. Rows are never changed in place, so the journal can keep
   * the old row objects themselves.
   */
  atomic<T>(fn: () => T): T {
    const outermost = this.journal === undefined;
    const journal = (this.journal ??= []);
    this.orderBeforeDelete ??= new Map();
    const mark = journal.length;
    try {
      return fn();
    } catch (e) {
      this.undo(journal, mark);
      throw e;
    } finally {
      if (outermost) this.journal = this.orderBeforeDelete = undefined;
    }
  }

  private undo(journal: JournalEntry[], mark: number): void {
    const readded = new Set<TableDef>();
    while (journal.length > mark) {
      const { table, id, before } = journal.pop()!;
      const rows = this.tableData(table).rows;
      const current = rows.get(id);
      if (current) {
        this.unindex(table, current);
        rows.delete(id);
      } else if (before) readded.add(table);
      if (before) {
        rows.set(id, before);
        this.index(table, before);
      }
    }
    for (const table of readded) this.restoreOrder(table, this.orderBeforeDelete!.get(table)!);
    this.generation++;
  }

  /** Puts the rows back in `order`; rows it does not know (created after it) follow in their current order. */
  private restoreOrder(table: TableDef, order: string[]): void {
    const data = this.tableData(table);
    const ordered = new Map<string, Row>();
    for (const id of order) {
      const row = data.rows.get(id);
      if (row) ordered.set(id, row);
    }
    for (const [id, row] of data.rows) if (!ordered.has(id)) ordered.set(id, row);
    data.rows = ordered;
  }

  /** `W/"<versionnumber>"`. */
  static etag(row: Row): string {
    return `W/"${row.versionnumber}"`;
  }

  /** Adds a row; `values` are already validated property values. Throws 412 on duplicate keys. */
  insert(table: TableDef, id: string, values: Row, times: WriteTimes = {}): Row {
    const rows = this.tableData(table).rows;
    id = id.toLowerCase();
    if (rows.has(id)) throw duplicateRecord();
    const row: Row = {};
    for (const c of table.columns) row[propertyName(c)] = null;
    Object.assign(row, values);
    row[table.primaryIdAttribute] = id;
    const now = isoSeconds();
    row.createdon = times.createdon ?? now;
    row.modifiedon = times.modifiedon ?? times.createdon ?? now;
    this.finishWrite(table, row);
    this.checkKeys(table, row);
    this.journal?.push({ table, id, before: undefined });
    rows.set(id, row);
    this.index(table, row);
    return row;
  }

  /** Applies `values` to an existing row. Throws 412 when a key would collide with another row. */
  update(table: TableDef, existing: Row, values: Row, times: WriteTimes = {}): Row {
    const id = existing[table.primaryIdAttribute] as string;
    const newId = values[table.primaryIdAttribute];
    if (typeof newId === "string" && newId.toLowerCase() !== id) {
      if (this.get(table, newId)) throw duplicateRecord();
      throw badRequest(`The primary key '${table.primaryIdAttribute}' of an existing ${table.logicalName} record cannot be changed.`);
    }
    const row: Row = { ...existing, ...values, [table.primaryIdAttribute]: id };
    row.createdon = times.createdon ?? existing.createdon;
    row.modifiedon = times.modifiedon ?? isoSeconds();
    this.finishWrite(table, row);
    this.checkKeys(table, row, id);
    this.journal?.push({ table, id, before: existing });
    this.unindex(table, existing);
    this.tableData(table).rows.set(id, row);
    this.index(table, row);
    return row;
  }

  /** Removes a row; lookups pointing at it are cleared (relationship behaviour "Remove Link"). */
  delete(table: TableDef, id: string): void {
    const data = this.tableData(table);
    const row = data.rows.get(id.toLowerCase());
    if (!row) return;
    this.generation++;
    if (this.orderBeforeDelete && !this.orderBeforeDelete.has(table)) this.orderBeforeDelete.set(table, [...data.rows.keys()]);
    this.journal?.push({ table, id: id.toLowerCase(), before: row });
    this.unindex(table, row);
    data.rows.delete(id.toLowerCase());
    // A deleted row leaves its N:N links (intersect rows go with it).
    for (const pairs of this.links.values()) for (const pair of pairs) if (pair.split("|").includes(id.toLowerCase())) pairs.delete(pair);
    this.tombstones.get(table.logicalName)!.set(id.toLowerCase(), ++this.version);
    for (const other of TABLES) {
      for (const c of referencing(other).filter((c) => lookupTargets(c).includes(table.logicalName))) {
        const prop = propertyName(c);
        const pointing = this.tableData(other)
          .refIndex.get(prop)!
          .get(row[table.primaryIdAttribute] as string);
        for (const otherId of [...(pointing ?? [])]) this.update(other, this.get(other, otherId)!, { [prop]: null });
      }
    }
  }

  /** Derived columns, currency and a new row version: what the platform does on every write. */
  private finishWrite(table: TableDef, row: Row): void {
    table.compute?.(row);
    const hasMoney = table.columns.some((c) => c.type === "Money" && row[c.name] !== null);
    if (hasMoney && "_transactioncurrencyid_value" in row && row._transactioncurrencyid_value === null) {
      row._transactioncurrencyid_value = BASE_CURRENCY_ID;
    }
    row.versionnumber = ++this.version;
    this.generation++;
  }

  /** Key index entry; undefined when a key column is empty (such rows never collide). */
  private keyString(key: AlternateKeyDef, values: Record<string, Value>): string | undefined {
    const parts = key.columns.map((c) => values[c]);
    if (parts.some((p) => p === null || p === undefined)) return undefined;
    return JSON.stringify(parts.map((p) => keyPart(p as Value)));
  }

  private checkKeys(table: TableDef, row: Row, selfId?: string): void {
    for (const key of table.alternateKeys) {
      const k = this.keyString(key, row);
      const owner = k === undefined ? undefined : this.tableData(table).keyIndex.get(key.name)!.get(k);
      if (owner !== undefined && owner !== selfId) {
        const names = key.columns.map((c) => table.columns.find((col) => col.name === c)!.displayName).join(", ");
        throw duplicateRecord(
          `A record that has the attribute values ${names} already exists. The entity key ${key.displayName} requires that this set of attributes contains unique values. Select unique values and try again.`,
        );
      }
    }
  }

  private index(table: TableDef, row: Row): void {
    const data = this.tableData(table);
    const id = row[table.primaryIdAttribute] as string;
    for (const key of table.alternateKeys) {
      const k = this.keyString(key, row);
      if (k !== undefined) data.keyIndex.get(key.name)!.set(k, id);
    }
    for (const [prop, refs] of data.refIndex) {
      const target = row[prop];
      if (typeof target !== "string") continue;
      let ids = refs.get(target);
      if (!ids) refs.set(target, (ids = new Set()));
      ids.add(id);
    }
  }

  private unindex(table: TableDef, row: Row): void {
    const data = this.tableData(table);
    for (const key of table.alternateKeys) {
      const k = this.keyString(key, row);
      if (k !== undefined) data.keyIndex.get(key.name)!.delete(k);
    }
    for (const [prop, refs] of data.refIndex) {
      const target = row[prop];
      if (typeof target !== "string") continue;
      const ids = refs.get(target);
      ids?.delete(row[table.primaryIdAttribute] as string);
      if (ids?.size === 0) refs.delete(target);
    }
  }
}
