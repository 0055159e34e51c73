/**
 * One request scheduler per connection: at most `concurrency` requests at a time, a bounded FIFO queue
 * behind them, the whole connection paused when Dataverse throttles (its limits are per user, so one
 * request's 429 is everyone's), and transient failures retried with exponential backoff and jitter.
 * Every job ends exactly once: resolved, rejected, or rejected by close().
 */
import { setMaxListeners } from "node:events";
import { DataverseError, ErrorCodes } from "./errors";

export interface SchedulerOptions {
  /** Requests in flight at most (lowered further by Dataverse's x-ms-dop-hint). */
  concurrency: number;
  /** Messages waiting at most; one more is refused at once. */
  queueLimit: number;
  /** How long one job may spend waiting on service protection pauses before it gives up. */
  maxThrottleWaitMs: number;
  /** Retries of transient failures per job. */
  maxRetries: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Told when the connection pauses (resume time) and resumes (undefined). */
  onPause?: (resumeAt: number | undefined) => void;
  /**
   * Sends waiting jobs of one group as one request (bulk writes), answering one outcome per job.
   * Without it, every job goes alone.
   */
  combine?: Combine;
  /** How many jobs of a group go together at most, now. */
  groupSize?: () => number;
}

/** What one attempt of a job came to. Failures that must not be retried are thrown instead. */
export type AttemptOutcome<T> = { ok: T } | { throttled: DataverseError; retryAfterMs: number } | { transient: DataverseError; retryAfterMs?: number };

export type Attempt<T> = (signal: AbortSignal) => Promise<AttemptOutcome<T>>;

/** What one job of a combined request came to: an attempt's outcome, or its own final failure. */
export type MemberOutcome = AttemptOutcome<unknown> | { failed: DataverseError };

export type Combine = (items: unknown[], signal: AbortSignal) => Promise<MemberOutcome[]>;

export interface RunOptions {
  /** Retries of transient failures for this job, instead of the connection's setting. */
  maxRetries?: number;
  /** Start before the jobs already waiting (they depend on this one). */
  urgent?: boolean;
  /** Jobs of the same group that wait together may go as one request: `item` is what combine() gets. */
  group?: { key: string; item: unknown };
}

interface Job {
  attempt: Attempt<unknown>;
  group?: { key: string; item: unknown };
  owner?: AbortSignal;
  maxRetries: number;
  resolve(value: unknown): void;
  reject(error: DataverseError): void;
  settled: boolean;
  retries: number;
  firstThrottledAt?: number;
  retryTimer?: NodeJS.Timeout;
  detach?: () => void;
}

const DEFAULT_THROTTLE_WAIT_MS = 5_000;

export class RequestScheduler {
  private queue: Job[] = [];
  /** Jobs per caller signal, so one listener per signal serves any number of jobs. */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Job>>();
  private readonly active = new Set<Job>();
  /** Requests in flight: a combined request is one, however many jobs it carries. */
  private running = 0;
  private readonly waiting = new Set<Job>();
  private pausedUntil = 0;
  private pauseTimer?: NodeJS.Timeout;
  private dopHint?: number;
  private closing = false;
  /** Aborts every request still in flight when the close grace period is over. */
  private readonly abortInFlight = new AbortController();
  /** Highest number of requests in flight at once, for tests and benchmarks. */
  peakActive = 0;

  constructor(private readonly options: SchedulerOptions) {
    setMaxListeners(0, this.abortInFlight.signal); // one listener per request in flight
  }

  get limit(): number {
    return Math.max(1, Math.min(this.options.concurrency, this.dopHint ?? Number.POSITIVE_INFINITY));
  }

  /** Dataverse's suggested degree of parallelism: never exceed it. */
  setDopHint(value: number): void {
    if (Number.isInteger(value) && value > 0 && value !== this.dopHint) {
      this.dopHint = value;
      this.pump();
    }
  }

  /**
   * Runs a job. `signal` is the caller's way to withdraw it (a node being stopped): a job still
   * waiting is rejected at once; one in flight is left to finish, bounded by the request timeout.
   */
  run<T>(attempt: Attempt<T>, signal?: AbortSignal, options: RunOptions = {}): Promise<T> {
    if (this.closing) return Promise.reject(notSent());
    if (signal?.aborted) return Promise.reject(notSent());
    if (this.queue.length >= this.options.queueLimit) {
      return Promise.reject(
        new DataverseError({
          message: `Queue full: ${this.options.queueLimit} messages are already waiting for this Dataverse connection. Slow the flow down, or raise the connection's queue limit`,
          code: "QueueFull",
          retryable: true,
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        attempt,
        group: options.group,
        owner: signal,
        maxRetries: options.maxRetries ?? this.options.maxRetries,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
        retries: 0,
      };
      if (signal) {
        const jobs = this.jobsOf(signal);
        jobs.add(job);
        job.detach = () => jobs.delete(job);
      }
      if (options.urgent) this.queue.unshift(job);
      else this.queue.push(job);
      this.pump();
    });
  }

  /** Jobs of this caller that wait for their turn (not in flight). */
  waitingFor(signal: AbortSignal): number {
    let count = 0;
    for (const job of this.queue) if (job.owner === signal) count++;
    for (const job of this.waiting) if (job.owner === signal) count++;
    return count;
  }

  /**
   * Stops taking work and ends every job: waiting ones at once (never sent), in-flight ones after
   * they finish or `graceMs` passes, whichever is first. Resolves when no job is left.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    clearTimeout(this.pauseTimer);
    for (const job of [...this.queue, ...this.waiting]) this.settle(job, notSent());
    this.queue.length = 0;
    if (this.active.size > 0) {
      const finished = Promise.all([...this.active].map((job) => new Promise<void>((r) => (job.detach = chain(job.detach, r)))));
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise<void>((r) => (graceTimer = setTimeout(r, graceMs)))]);
      clearTimeout(graceTimer);
      this.abortInFlight.abort();
      for (const job of this.active) this.settle(job, abortedInFlight());
      this.active.clear();
    }
    this.options.onPause?.(undefined);
  }

  private pump(): void {
    while (!this.closing && Date.now() >= this.pausedUntil && this.running < this.limit && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const partners = job.group && this.options.combine ? this.takeGroup(job.group.key, (this.options.groupSize?.() ?? 1) - 1) : [];
      if (partners.length) this.startGroup([job, ...partners]);
      else this.start(job);
    }
  }

  /** Up to `max` waiting jobs of this group, in queue order. */
  private takeGroup(key: string, max: number): Job[] {
    if (max <= 0) return [];
    // Usually the group waits at the front: take it without copying the whole queue.
    let front = 0;
    while (front < max && front < this.queue.length && this.queue[front].group?.key === key) front++;
    const taken = this.queue.splice(0, front);
    if (taken.length === max || !this.queue.some((job) => job.group?.key === key)) return taken;
    this.queue = this.queue.filter((job) => {
      if (taken.length < max && job.group?.key === key) {
        taken.push(job);
        return false;
      }
      return true;
    });
    return taken;
  }

  private start(job: Job): void {
    this.enter([job]);
    job
      .attempt(this.abortInFlight.signal)
      .then(
        (outcome) => this.handle(job, outcome),
        (err: unknown) => this.settle(job, err instanceof DataverseError ? err : unexpected(err)),
      )
      .finally(() => this.leave([job]));
  }

  private startGroup(jobs: Job[]): void {
    this.enter(jobs);
    this.options.combine!(
      jobs.map((job) => job.group!.item),
      this.abortInFlight.signal,
    )
      .then(
        // Last first: a job that waits again goes back to the front, so the group keeps its order.
        (outcomes) => [...jobs.keys()].reverse().forEach((i) => this.handleMember(jobs[i], outcomes[i])),
        (err: unknown) => jobs.forEach((job) => this.settle(job, err instanceof DataverseError ? err : unexpected(err))),
      )
      .finally(() => this.leave(jobs));
  }

  private handleMember(job: Job, outcome: MemberOutcome | undefined): void {
    if (!outcome) this.settle(job, unexpected(new Error("no answer for this message in the combined request")));
    else if ("failed" in outcome) this.settle(job, outcome.failed);
    else this.handle(job, outcome);
  }

  private enter(jobs: Job[]): void {
    this.running++;
    for (const job of jobs) this.active.add(job);
    this.peakActive = Math.max(this.peakActive, this.running);
  }

  private leave(jobs: Job[]): void {
    this.running--;
    for (const job of jobs) this.active.delete(job);
    this.pump();
  }

  private handle(job: Job, outcome: AttemptOutcome<unknown>): void {
    if (job.settled) return;
    if ("ok" in outcome) {
      this.settle(job, undefined, outcome.ok);
    } else if (this.closing) {
      this.settle(job, "throttled" in outcome ? outcome.throttled : outcome.transient); // no retries once closing
    } else if ("throttled" in outcome) {
      this.throttled(job, outcome.throttled, outcome.retryAfterMs);
    } else {
      this.transient(job, outcome.transient, outcome.retryAfterMs);
    }
  }

  private throttled(job: Job, error: DataverseError, retryAfterMs: number): void {
    const now = Date.now();
    const wait = retryAfterMs > 0 ? retryAfterMs : DEFAULT_THROTTLE_WAIT_MS;
    job.firstThrottledAt ??= now;
    if (now + wait - job.firstThrottledAt > this.options.maxThrottleWaitMs) {
      const waited = Math.round((now - job.firstThrottledAt) / 1000);
      this.settle(
        job,
        new DataverseError({
          message: `Gave up after ${waited} s of Dataverse service protection pauses (the connection's limit is ${Math.round(this.options.maxThrottleWaitMs / 1000)} s): ${error.message}`,
          status: error.status,
          code: error.code,
          requestId: error.requestId,
          retryable: true,
        }),
      );
      return;
    }
    this.pauseUntil(now + wait);
    this.queue.unshift(job); // it keeps its place at the front
  }

  private transient(job: Job, error: DataverseError, retryAfterMs?: number): void {
    if (job.retries >= job.maxRetries) {
      const tries = job.retries + 1;
      this.settle(
        job,
        new DataverseError({
          message: `${error.message} (gave up after ${tries} ${tries === 1 ? "try" : "tries"})`,
          status: error.status,
          code: error.code,
          requestId: error.requestId,
          retryable: true,
        }),
      );
      return;
    }
    job.retries++;
    this.waiting.add(job);
    job.retryTimer = setTimeout(
      () => {
        this.waiting.delete(job);
        if (job.settled) return;
        this.queue.unshift(job);
        this.pump();
      },
      retryAfterMs ?? this.backoff(job.retries),
    );
  }

  /** Exponential backoff with equal jitter: half fixed, half random. */
  private backoff(retry: number): number {
    const base = this.options.backoffBaseMs ?? 500;
    const ceiling = Math.min(this.options.backoffMaxMs ?? 30_000, base * 2 ** (retry - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private pauseUntil(resumeAt: number): void {
    if (resumeAt <= this.pausedUntil) return;
    this.pausedUntil = resumeAt;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pausedUntil = 0;
      this.options.onPause?.(undefined);
      this.pump();
    }, resumeAt - Date.now());
    this.options.onPause?.(resumeAt);
  }

  private jobsOf(signal: AbortSignal): Set<Job> {
    let jobs = this.bySignal.get(signal);
    if (!jobs) {
      const created = new Set<Job>();
      signal.addEventListener("abort", () => this.withdraw(created), { once: true });
      this.bySignal.set(signal, created);
      jobs = created;
    }
    return jobs;
  }

  /** Jobs withdrawn by their caller: those that have not started end now, unsent. */
  private withdraw(jobs: Set<Job>): void {
    const waiting = (job: Job) => !this.active.has(job);
    this.queue = this.queue.filter((job) => !(jobs.has(job) && waiting(job)));
    for (const job of [...jobs].filter(waiting)) this.settle(job, notSent());
  }

  private settle(job: Job, error: DataverseError | undefined, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.retryTimer);
    this.waiting.delete(job);
    job.detach?.();
    if (error) job.reject(error);
    else job.resolve(value);
  }
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return () => {
    first?.();
    second();
  };
}

function notSent(): DataverseError {
  return new DataverseError({
    message: "Not sent: the Dataverse connection was closed (flows stopped or redeployed) before this message's turn. It is safe to send it again",
    code: ErrorCodes.closed,
    retryable: true,
  });
}

function abortedInFlight(): DataverseError {
  return new DataverseError({
    message: "The Dataverse connection was closed (flows stopped or redeployed) while this request was in flight; Dataverse may or may not have applied it",
    code: ErrorCodes.closed,
    retryable: true,
  });
}

function unexpected(err: unknown): DataverseError {
  return new DataverseError({ message: `Unexpected error: ${err instanceof Error ? err.message : String(err)}`, code: ErrorCodes.unexpected });
}
