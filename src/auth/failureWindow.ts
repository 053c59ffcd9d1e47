/**
 * The failed-credential policy as a pure state machine: failures are counted per
 * key in a sliding window; reaching the limit locks the key out for a while.
 * Nothing is exempt (loopback included) and success does not wipe the count.
 */

export interface FailurePolicy {
  readonly maxFailures: number
  readonly windowMs: number
  readonly lockoutMs: number
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxFailures: 10, windowMs: 60_000, lockoutMs: 300_000 }

export interface KeyState {
  /** Times of failures still inside the window, oldest first. */
  readonly failures: ReadonlyArray<number>
  readonly lockedUntil: number | undefined
}

export const emptyKey: KeyState = { failures: [], lockedUntil: undefined }

/** How long `key` must still wait, or 0 when it may try. */
export const retryAfter = (state: KeyState, now: number): number =>
  state.lockedUntil !== undefined && now < state.lockedUntil ? state.lockedUntil - now : 0

/** Records a failure at `now`; locks the key when the window fills up. */
export const recordFailure = (state: KeyState, now: number, policy: FailurePolicy): KeyState => {
  if (retryAfter(state, now) > 0) return state
  const failures = [...state.failures.filter((t) => now - t < policy.windowMs), now]
  return failures.length >= policy.maxFailures
    ? { failures: [], lockedUntil: now + policy.lockoutMs }
    : { failures, lockedUntil: undefined }
}

/** Whether the state holds nothing worth keeping at `now`. */
export const isIdle = (state: KeyState, now: number, policy: FailurePolicy): boolean =>
  retryAfter(state, now) === 0 && state.failures.every((t) => now - t >= policy.windowMs)
