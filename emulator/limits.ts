// Dataverse service protection limits of one web server: concurrent requests, requests per window,
// and combined execution time per window. The emulated environment has one application user, so
// each web server keeps one budget.
import type { EmulatorConfig } from "./config";
import { CODES, DataverseError } from "./errors";

/** Timestamped amounts in a sliding window, pruned from the front. */
class SlidingWindow {
  private times: number[] = [];
  private amounts: number[] = [];
  private head = 0;
  private sum = 0;

  add(time: number, amount = 1): void {
    this.times.push(time);
    this.amounts.push(amount);
    this.sum += amount;
  }

  total(now: number, windowMs: number): number {
    while (this.head < this.times.length && this.times[this.head] <= now - windowMs) {
      this.sum -= this.amounts[this.head];
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.amounts = this.amounts.slice(this.head);
      this.head = 0;
    }
    return this.sum;
  }

  clear(): void {
    this.times = [];
    this.amounts = [];
    this.head = 0;
    this.sum = 0;
  }
}

const thousands = (n: number) => new Intl.NumberFormat("en-US").format(n);

export const requestLimitMessage = (c: EmulatorConfig): string =>
  `Number of requests exceeded the limit of ${c.requestLimit} over time window of ${c.windowSeconds} seconds.`;

/** `Retry-After` in real seconds: the emulated value compressed by `timeScale`, never rounded down to 0. */
export function retryAfterSeconds(c: EmulatorConfig, emulatedSeconds = c.retryAfterSeconds): number {
  return emulatedSeconds > 0 ? Math.max(1, Math.ceil(emulatedSeconds / c.timeScale)) : 0;
}

/** Length of the sliding window in real milliseconds. */
const windowMs = (c: EmulatorConfig) => (c.windowSeconds * 1000) / c.timeScale;

/** What a request did, for the execution-time model. */
export interface Usage {
  /** Operations the request carried: 1, the targets of a bulk message, the parts of a `$batch`. */
  operations: number;
  /** Modelled server time in emulated ms, when the handler computed it (bulk, `$batch`); else one request's. */
  modelledMs?: number;
}

/** Modelled server time of a request that does not say otherwise: one request, one row. */
export const singleRequestMs = (c: EmulatorConfig): number => c.requestCostMs + c.rowCostMs;

export class ServiceProtection {
  private requests = new SlidingWindow();
  private executionMs = new SlidingWindow();
  /** Requests admitted and not yet answered. */
  current = 0;
  /** Highest `current` since start or the last counter reset. */
  peak = 0;

  constructor(private readonly config: EmulatorConfig) {}

  private throttled(code: string, message: string): DataverseError {
    return new DataverseError(429, code, message, { "Retry-After": String(retryAfterSeconds(this.config)) });
  }

  /**
   * Admits a request or throws the 429 it gets. The concurrency limit errors at once; the other
   * two only after they have been exceeded (like the real service). An admitted request must
   * call the returned `done(usage)` when it has been answered: its execution time is the measured
   * time (scaled to emulated time) plus the modelled time of what it did.
   */
  admit(): (usage: Usage) => void {
    const c = this.config;
    const now = Date.now();
    if (this.current >= c.concurrencyLimit) {
      throw this.throttled(CODES.concurrency, `Number of concurrent requests exceeded the limit of ${c.concurrencyLimit}.`);
    }
    if (this.requests.total(now, windowMs(c)) >= c.requestLimit) {
      throw this.throttled(CODES.tooManyRequests, requestLimitMessage(c));
    }
    if (this.executionMs.total(now, windowMs(c)) > c.executionTimeLimitMs) {
      throw this.throttled(
        CODES.executionTime,
        `Combined execution time of incoming requests exceeded limit of ${thousands(c.executionTimeLimitMs)} milliseconds over time window of ${c.windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
      );
    }
    this.requests.add(now);
    this.current++;
    if (this.current > this.peak) this.peak = this.current;
    let finished = false;
    return (usage) => {
      if (finished) return;
      finished = true;
      this.current--;
      const measured = (Date.now() - now) * c.timeScale;
      this.executionMs.add(Date.now(), measured + (usage.modelledMs ?? singleRequestMs(c)));
    };
  }

  /** Value of `x-ms-ratelimit-burst-remaining-xrm-requests`. */
  remainingRequests(): number {
    return Math.max(0, this.config.requestLimit - this.requests.total(Date.now(), windowMs(this.config)));
  }

  /** Requests and execution time (emulated ms) in the current window. */
  windowTotals(): { requests: number; executionMs: number } {
    const now = Date.now();
    return { requests: this.requests.total(now, windowMs(this.config)), executionMs: this.executionMs.total(now, windowMs(this.config)) };
  }

  clear(): void {
    this.requests.clear();
    this.executionMs.clear();
  }
}
