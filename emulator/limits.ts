// Dataverse service protection limits: concurrent requests, requests per window, and combined
// execution time per window. The emulated environment has one application user, so one budget.
import type { EmulatorConfig } from "./config";
import { CODES, DataverseError } from "./errors";
import type { Stats } from "./requestlog";

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

export class ServiceProtection {
  private requests = new SlidingWindow();
  private executionMs = new SlidingWindow();

  constructor(
    private readonly config: EmulatorConfig,
    private readonly stats: Stats,
  ) {}

  private throttled(code: string, message: string): DataverseError {
    return new DataverseError(429, code, message, { "Retry-After": String(this.config.retryAfterSeconds) });
  }

  /**
   * Admits a request or throws the 429 it gets. The concurrency limit errors at once; the other
   * two only after they have been exceeded (like the real service). An admitted request must
   * call the returned `done()` when it has been answered.
   */
  admit(): () => void {
    const c = this.config;
    const now = Date.now();
    const windowMs = c.windowSeconds * 1000;
    if (this.stats.currentConcurrency >= c.concurrencyLimit) {
      throw this.throttled(CODES.concurrency, `Number of concurrent requests exceeded the limit of ${c.concurrencyLimit}.`);
    }
    if (this.requests.total(now, windowMs) >= c.requestLimit) {
      throw this.throttled(CODES.tooManyRequests, requestLimitMessage(c));
    }
    if (this.executionMs.total(now, windowMs) > c.executionTimeLimitMs) {
      throw this.throttled(
        CODES.executionTime,
        `Combined execution time of incoming requests exceeded limit of ${thousands(c.executionTimeLimitMs)} milliseconds over time window of ${c.windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`,
      );
    }
    this.requests.add(now);
    this.stats.enter();
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      this.stats.leave();
      this.executionMs.add(Date.now(), Date.now() - now);
    };
  }

  /** Value of `x-ms-ratelimit-burst-remaining-xrm-requests`. */
  remainingRequests(): number {
    return Math.max(0, this.config.requestLimit - this.requests.total(Date.now(), this.config.windowSeconds * 1000));
  }

  clear(): void {
    this.requests.clear();
    this.executionMs.clear();
  }
}
