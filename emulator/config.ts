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
  /** Requests in flight at once before 429 0x80072326. */
  concurrencyLimit: number;
  /** Requests per window before 429 0x80072322. */
  requestLimit: number;
  /** Sliding window of the request and execution-time limits. */
  windowSeconds: number;
  /** Combined processing time per window before 429 0x80072321. */
  executionTimeLimitMs: number;
  /** `Retry-After` of service-protection 429s. */
  retryAfterSeconds: number;
  /** When set, every Dataverse response carries `x-ms-dop-hint` (recommended degree of parallelism). */
  dopHint: number | null;
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
});

const NULLABLE = new Set<keyof EmulatorConfig>(["tokenRefreshInSeconds", "dopHint"]);

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
    if ((value === null || value === undefined) && NULLABLE.has(k)) {
      (next as unknown as Record<string, unknown>)[k] = null;
    } else if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
      (next as unknown as Record<string, unknown>)[k] = value;
    } else {
      throw new Error(`config field '${key}' must be a number >= 0${NULLABLE.has(k) ? " or null" : ""}`);
    }
  }
  Object.assign(config, next);
  return config;
}
