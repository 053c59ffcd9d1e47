/**
 * The failed-credential policy as a pure state machine: failures are counted per
 * key in a sliding window. A remote key that reaches the limit is locked out for
 * a while; the loopback key never is (a stray local script with a wrong token
 * must not lock the owner out of their own gateway) but each failure past the
 * limit makes its next attempt wait longer. Nothing is exempt, and a success
 * clears the key.
 */

export interface FailurePolicy {
  readonly maxFailures: number
  readonly windowMs: number
  readonly lockoutMs: number
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxFailures: 10, windowMs: 60_000, lockoutMs: 300_000 }

/** The first loopback delay past the limit, doubling with each further failure up to the cap. */
export const LOOPBACK_BASE_DELAY_MS = 1_000
export const LOOPBACK_MAX_DELAY_MS = 30_000

export interface KeyState {
  /** Times of failures still inside the window, oldest first. */
  readonly failures: ReadonlyArray<number>
  readonly lockedUntil: number | undefined
}

export const emptyKey: KeyState = { failures: [], lockedUntil: undefined }

/** What the next credential check of a key gets. */
export type Verdict =
  | { readonly _tag: "Allow" }
  | { readonly _tag: "Delay"; readonly ms: number }
  | { readonly _tag: "Refuse"; readonly retryAfterMs: number }

export const allow: Verdict = { _tag: "Allow" }

/** How long `key` must still wait, or 0 when it may try. */
export const retryAfter = (state: KeyState, now: number): number =>
  state.lockedUntil !== undefined && now < state.lockedUntil ? state.lockedUntil - now : 0

/** The verdict for a remote key (lockout) or the loopback key (growing delay) at `now`. */
export const verdict = (state: KeyState, now: number, policy: FailurePolicy, loopback: boolean): Verdict => {
  if (!loopback) {
    const wait = retryAfter(state, now)
    return wait > 0 ? { _tag: "Refuse", retryAfterMs: wait } : allow
  }
  const over = state.failures.filter((t) => now - t < policy.windowMs).length - policy.maxFailures
  return over < 0 ? allow : { _tag: "Delay", ms: Math.min(LOOPBACK_BASE_DELAY_MS * 2 ** Math.min(over, 15), LOOPBACK_MAX_DELAY_MS) }
}

/** Records a failure at `now`; locks a remote key when the window fills up; the loopback key only keeps counting. */
export const recordFailure = (state: KeyState, now: number, policy: FailurePolicy, loopback = false): KeyState => {
  if (retryAfter(state, now) > 0) return state
  const recent = state.failures.filter((t) => now - t < policy.windowMs)
  // The loopback key's window is bounded too: past the cap the delay no longer grows.
  const failures = [...(loopback ? recent.slice(-(policy.maxFailures + 16)) : recent), now]
  return !loopback && failures.length >= policy.maxFailures
    ? { failures: [], lockedUntil: now + policy.lockoutMs }
    : { failures, lockedUntil: undefined }
}

/** Whether the state holds nothing worth keeping at `now`. */
export const isIdle = (state: KeyState, now: number, policy: FailurePolicy): boolean =>
  retryAfter(state, now) === 0 && state.failures.every((t) => now - t >= policy.windowMs)
