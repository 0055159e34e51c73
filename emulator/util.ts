import { createHash, randomUUID } from "node:crypto";

export const newGuid = (): string => randomUUID();

/** A GUID that is always the same for `text` (metadata and other fixed records). */
export function stableGuid(text: string): string {
  const h = createHash("sha1").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isGuid = (s: string): boolean => GUID_RE.test(s);

/** Dataverse date-time format: `2024-01-15T09:30:00Z` (UTC, no fraction). */
export function isoSeconds(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Entra ID error timestamp format: `2024-01-15 09:30:00Z`. */
export function aadTimestamp(ms: number = Date.now()): string {
  return isoSeconds(ms).replace("T", " ");
}

/** Wall-clock milliseconds with sub-millisecond precision, for request timings. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads a header that may arrive repeated; Node joins most repeats, arrays only for a few names. */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

/**
 * Cancellable sleeps. close() must not wait for simulated latency, and timers left behind would
 * keep the process alive, so every delay the emulator makes goes through one of these.
 */
export class Timers {
  private pending = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private closed = false;

  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new EmulatorClosedError());
    if (!(ms > 0)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.pending.add(entry);
    });
  }

  /** A promise that never settles until close(): used for "hang" faults. */
  forever(): Promise<never> {
    return this.sleep(2 ** 31 - 1).then(() => this.forever());
  }

  close(): void {
    this.closed = true;
    for (const e of this.pending) {
      clearTimeout(e.timer);
      e.reject(new EmulatorClosedError());
    }
    this.pending.clear();
  }
}

export class EmulatorClosedError extends Error {
  constructor() {
    super("emulator closed");
  }
}
