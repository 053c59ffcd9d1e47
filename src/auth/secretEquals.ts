/**
 * Comparing secrets without leaking, through timing, how much of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto"

/** Compares two secrets in constant time, whatever their lengths. */
export const secretEquals = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())
