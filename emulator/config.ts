// Run-time settings of the emulator (service protection limits, latency, token lifetime).

export interface EmulatorConfig {
  /** Added to every authenticated Dataverse request before it is processed. */
  latencyMs: number;
  /** Added to every token request before it is processed. */
  tokenLatencyMs: number;
  /** `expires_in` of issued tokens; tokens stop working after it. */
  tokenLifetimeSeconds: number;
  /** `refresh_in` of issued tokens (msal refreshes proactively after it); null = not sent. */
  tokenRefreshInSeconds: number | null;
  /** Requests in flight at once (per web server) before 429 0x80072326. */
  concurrencyLimit: number;
  /** Requests per window (per web server) before 429 0x80072322. A `$batch` or bulk request counts once. */
  requestLimit: number;
  /** Sliding window of the request and execution-time limits, in emulated seconds (see `timeScale`). */
  windowSeconds: number;
  /** Combined execution time per window (per web server) before 429 0x80072321, in emulated ms. */
  executionTimeLimitMs: number;
  /** `Retry-After` of service-protection 429s, in emulated seconds (sent divided by `timeScale`, rounded up). */
  retryAfterSeconds: number;
  /** When set, every Dataverse response carries `x-ms-dop-hint` (recommended degree of parallelism). */
  dopHint: number | null;
  /**
   * Modelled server time of every request, in emulated ms, counted against the execution-time limit on
   * top of the measured time. A `$batch` pays it once per operation (it is the sum of its operations).
   */
  requestCostMs: number;
  /** Modelled server time per row, in emulated ms: once for a single request, per target of a bulk message, per `$batch` operation. */
  rowCostMs: number;
  /**
   * How much faster emulated time runs than real time: 60 = the 300-second window passes in 5 real
   * seconds, measured time counts 60 times, and `Retry-After` is divided by 60 (at least 1 s).
   */
  timeScale: number;
  /** Web servers behind the environment, each with its own limits; requests go round-robin unless pinned by the ARRAffinity cookie. */
  webServers: number;
  /** Added to the login server's clock when it checks client assertions: plays a client whose clock is wrong. */
  clockOffsetSeconds: number;
  /** 1 = a client assertion's jti is refused the second time (Entra ID accepts reuse until exp: 0). */
  refuseAssertionReplay: number;
  /** Days a change-tracking delta token stays usable (the organization's ExpireChangeTrackingInDays, default 7). */
  changeTrackingExpiryDays: number;
}

export const DEFAULT_CONFIG: Readonly<EmulatorConfig> = Object.freeze({
  latencyMs: 0,
  tokenLatencyMs: 0,
  tokenLifetimeSeconds: 3599,
  tokenRefreshInSeconds: null,
  concurrencyLimit: 52,
  requestLimit: 6000,
  windowSeconds: 300,
  executionTimeLimitMs: 1_200_000,
  retryAfterSeconds: 5,
  dopHint: null,
  requestCostMs: 0,
  rowCostMs: 0,
  timeScale: 1,
  webServers: 1,
  clockOffsetSeconds: 0,
  refuseAssertionReplay: 0,
  changeTrackingExpiryDays: 7,
});

const NULLABLE = new Set<keyof EmulatorConfig>(["tokenRefreshInSeconds", "dopHint"]);

/** Fields with a stricter rule than "a number >= 0": the check and how to say it. */
const RULES: Partial<Record<keyof EmulatorConfig, [(n: number) => boolean, string]>> = {
  timeScale: [(n) => n > 0, "a number > 0"],
  webServers: [(n) => Number.isInteger(n) && n >= 1 && n <= 64, "a whole number from 1 to 64"],
  clockOffsetSeconds: [() => true, "a number of seconds"],
  refuseAssertionReplay: [(n) => n === 0 || n === 1, "0 or 1"],
};

/** Applies a partial update after checking every field; throws (changing nothing) on a bad one. */
export function applyConfigPatch(config: EmulatorConfig, patch: unknown): EmulatorConfig {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new Error("config patch must be a JSON object");
  }
  const next: EmulatorConfig = { ...config };
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in DEFAULT_CONFIG)) {
      throw new Error(`unknown config field '${key}' (known: ${Object.keys(DEFAULT_CONFIG).join(", ")})`);
    }
    const k = key as keyof EmulatorConfig;
    const [valid, described] = RULES[k] ?? [(n: number) => n >= 0, "a number >= 0"];
    if ((value === null || value === undefined) && NULLABLE.has(k)) {
      (next as unknown as Record<string, unknown>)[k] = null;
    } else if (typeof value === "number" && Number.isFinite(value) && valid(value)) {
      (next as unknown as Record<string, unknown>)[k] = value;
    } else {
      throw new Error(`config field '${key}' must be ${described}${NULLABLE.has(k) ? " or null" : ""}`);
    }
  }
  Object.assign(config, next);
  return config;
}
