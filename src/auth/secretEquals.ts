/**
 * Comparing secrets without leaking, through timing, how much of a guess was right.
 * The expected secret's digest is kept from the last call (it is the same secret
 * connection after connection); what that saves depends only on the gateway's own
 * secret, never on the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto"

let lastExpected: string | undefined
let lastDigest: Buffer = Buffer.alloc(0)

// Over UTF-16 code units, not UTF-8: UTF-8 turns every lone surrogate into U+FFFD, which made two different
// strings compare equal.
const digest = (text: string) => createHash("sha256").update(text, "utf16le").digest()

// The digest of the expected secret, computed again only when the secret changes.
const expectedDigest = (expected: string): Buffer => {
  if (expected !== lastExpected) {
    lastDigest = digest(expected)
    lastExpected = expected
  }
  return lastDigest
}

/** Compares two secrets in constant time, whatever their lengths. */
export const secretEquals = (given: string, expected: string): boolean => timingSafeEqual(digest(given), expectedDigest(expected))
