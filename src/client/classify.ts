/**
 * What one answer (or failure to get one) means for a request: a pure decision, apart from the loop
 * that acts on it (pipeline.ts and scheduler.ts).
 */
import { TRANSIENT_500_CODES } from "./errors";

export type Classification =
  | { kind: "success" }
  /** Service protection: the whole connection pauses, then the request is tried again. */
  | { kind: "throttled" }
  /** Try again later. `reached`: Dataverse may have processed the attempt (its answer was lost). */
  | { kind: "transient"; reached: boolean }
  /** The answer was lost after a write that is not safe to repeat: nobody can tell whether it was applied. */
  | { kind: "ambiguous" }
  | { kind: "final" };

export type Answer = { status: number; code?: string } | { networkCode: string; retryable: boolean };

/** Network failures where the request cannot have reached Dataverse. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);
/** A gateway's 502 or 504, and a bare 500, can come after Dataverse did the work; a 503 means it did not. */
const MAYBE_PROCESSED = new Set([500, 502, 504]);

export function classify(answer: Answer, repeatable: boolean): Classification {
  if ("networkCode" in answer) {
    if (!answer.retryable) return { kind: "final" };
    if (NOT_SENT.has(answer.networkCode)) return { kind: "transient", reached: false };
    return repeatable ? { kind: "transient", reached: true } : { kind: "ambiguous" };
  }
  const { status } = answer;
  if (status < 400) return { kind: "success" };
  if (status === 429) return { kind: "throttled" };
  if (status === 503) return { kind: "transient", reached: false };
  if (MAYBE_PROCESSED.has(status)) {
    const code = answer.code?.toLowerCase();
    if (status === 500 && code && !TRANSIENT_500_CODES.has(code)) return { kind: "final" };
    return repeatable ? { kind: "transient", reached: true } : { kind: "ambiguous" };
  }
  return { kind: "final" };
}
