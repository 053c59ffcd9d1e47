/**
 * Comparing secrets without leaking, through timing, how much of a guess was right.
 * The expected secret's digest is kept from the last call (it is the same secret
 * connection after connection); what that saves depends only on the gateway's own
 * secret, never on the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto"

let lastExpected: string | undefined
let lastDigest: Buffer = Buffer.alloc(0)

const digest = (text: string) => createHash("sha256").update(text).digest()

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
