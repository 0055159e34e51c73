// Results of recent queries (filtered, joined, sorted rows), so that paging through a large table
// does not filter and sort every row again for each page. An entry is only used while no row of any
// table has changed since it was computed; any write makes the next page recompute.
import type { Store } from "./store";

/** Enough for a few clients paging through different queries at once (a 200,000-row result is ~20 MB). */
const MAX_ENTRIES = 4;

export class QueryCache {
  private entries = new Map<string, { generation: number; value: unknown }>();

  constructor(private readonly store: Store) {}

  /** The cached value of `key` if still current, otherwise `compute()` (then cached). */
  get<T>(key: string, compute: () => T): T {
    const hit = this.entries.get(key);
    this.entries.delete(key);
    if (hit && hit.generation === this.store.generation) {
      this.entries.set(key, hit); // most recently used last
      return hit.value as T;
    }
    const generation = this.store.generation;
    const value = compute();
    this.entries.set(key, { generation, value });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
