/**
 * In-flight `node.invoke` calls and the idempotency window. A result completes
 * the caller waiting on its id; a node's disconnect fails its calls at once; a
 * repeated idempotency key within 5 minutes gets the first call's answer.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"

/** How long a repeated idempotency key returns the first answer. */
export const IDEMPOTENCY_WINDOW_MS = 5 * 60 * 1000
/** Idempotency entries kept at most (oldest dropped first). */
export const IDEMPOTENCY_MAX = 1000

export type InvokeOutcome<E> = Deferred.Deferred<unknown, E>

interface Pending<E> {
  readonly nodeId: string
  readonly command: string
  readonly outcome: InvokeOutcome<E>
}

/** The mutable table behind one NodeRegistry. */
export class InvokeTable<E> {
  private readonly pending = new Map<string, Pending<E>>()
  private readonly idempotent = new Map<string, { readonly outcome: InvokeOutcome<E>; readonly expiresAtMs: number }>()

  /** The earlier call with this key, if still within its window. */
  recall(key: string, now: number): InvokeOutcome<E> | undefined {
    const hit = this.idempotent.get(key)
    if (hit === undefined) return undefined
    if (hit.expiresAtMs <= now) {
      this.idempotent.delete(key)
      return undefined
    }
    return hit.outcome
  }

  /** Starts tracking a call. */
  start(id: string, nodeId: string, command: string, outcome: InvokeOutcome<E>, key: string, now: number): void {
    this.pending.set(id, { nodeId, command, outcome })
    this.idempotent.set(key, { outcome, expiresAtMs: now + IDEMPOTENCY_WINDOW_MS })
    while (this.idempotent.size > IDEMPOTENCY_MAX) this.idempotent.delete(this.idempotent.keys().next().value!)
  }

  /**
   * Ends a call that got no node answer: callers sharing its idempotency key get
   * `error` too, and the key may be retried.
   */
  abandon(id: string, key: string, error: E): Effect.Effect<void> {
    const p = this.pending.get(id)
    this.pending.delete(id)
    if (p === undefined) return Effect.void
    if (this.idempotent.get(key)?.outcome === p.outcome) this.idempotent.delete(key)
    return Effect.asVoid(Deferred.fail(p.outcome, error))
  }

  /** Completes the call `id` if `nodeId` owns it; false for unknown or late ids. */
  complete(id: string, nodeId: string, exit: Exit.Exit<unknown, E>): Effect.Effect<boolean> {
    const p = this.pending.get(id)
    if (p === undefined || p.nodeId !== nodeId) return Effect.succeed(false)
    this.pending.delete(id)
    return Effect.as(Deferred.done(p.outcome, exit), true)
  }

  /** Fails every call in flight to `nodeId` with the error made for its command. */
  failNode(nodeId: string, error: (command: string) => E): Effect.Effect<number> {
    const mine = [...this.pending.entries()].filter(([, p]) => p.nodeId === nodeId)
    for (const [id] of mine) this.pending.delete(id)
    for (const [key, hit] of this.idempotent) if (mine.some(([, p]) => p.outcome === hit.outcome)) this.idempotent.delete(key)
    return Effect.as(Effect.forEach(mine, ([, p]) => Deferred.fail(p.outcome, error(p.command)), { discard: true }), mine.length)
  }

  /** Calls in flight (for tests and status). */
  get size(): number {
    return this.pending.size
  }
}
