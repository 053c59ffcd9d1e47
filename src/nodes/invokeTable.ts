/**
 * In-flight `node.invoke` calls and the idempotency window. A result completes
 * the caller waiting on its id; a node's disconnect fails its calls at once; a
 * repeated idempotency key from the same caller within 5 minutes gets the first
 * call's answer. Calls in flight are capped per caller and per node. Calls are
 * indexed by node, so a node's disconnect costs its own calls, not a scan of
 * every call and key in the table (10k nodes disconnecting at once).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"

/** How long a repeated idempotency key returns the first answer. */
export const IDEMPOTENCY_WINDOW_MS = 5 * 60 * 1000
/** Idempotency entries kept at most (oldest dropped first). */
export const IDEMPOTENCY_MAX = 1000
/** Calls one caller may have in flight at once. */
export const MAX_IN_FLIGHT_PER_CALLER = 64
/** Calls one node may be asked to run at once. */
export const MAX_IN_FLIGHT_PER_NODE = 256

export type InvokeOutcome<E> = Deferred.Deferred<unknown, E>

interface Pending<E> {
  readonly nodeId: string
  readonly caller: string
  readonly command: string
  readonly outcome: InvokeOutcome<E>
  /** Its idempotency key, dropped with it when the call ends without an answer. */
  readonly key: string
}

/** The mutable table behind one NodeRegistry. */
export class InvokeTable<E> {
  private readonly pending = new Map<string, Pending<E>>()
  private readonly idempotent = new Map<string, { readonly outcome: InvokeOutcome<E>; readonly expiresAtMs: number }>()
  private readonly perCaller = new Map<string, number>()
  private readonly perNode = new Map<string, number>()
  private readonly idsByNode = new Map<string, Set<string>>()

  /** Which budget a new call from `caller` to `nodeId` would exceed, if any. */
  full(caller: string, nodeId: string): "caller" | "node" | undefined {
    if ((this.perCaller.get(caller) ?? 0) >= MAX_IN_FLIGHT_PER_CALLER) return "caller"
    if ((this.perNode.get(nodeId) ?? 0) >= MAX_IN_FLIGHT_PER_NODE) return "node"
    return undefined
  }

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
  start(id: string, nodeId: string, caller: string, command: string, outcome: InvokeOutcome<E>, key: string, now: number): void {
    this.pending.set(id, { nodeId, caller, command, outcome, key })
    bump(this.perCaller, caller, 1)
    bump(this.perNode, nodeId, 1)
    const ids = this.idsByNode.get(nodeId)
    if (ids === undefined) this.idsByNode.set(nodeId, new Set([id]))
    else ids.add(id)
    this.idempotent.set(key, { outcome, expiresAtMs: now + IDEMPOTENCY_WINDOW_MS })
    while (this.idempotent.size > IDEMPOTENCY_MAX) this.idempotent.delete(this.idempotent.keys().next().value!)
  }

  /**
   * Ends a call that got no node answer: callers sharing its idempotency key get
   * `error` too, and the key may be retried.
   */
  abandon(id: string, key: string, error: E): Effect.Effect<void> {
    const p = this.take(id)
    if (p === undefined) return Effect.void
    if (this.idempotent.get(key)?.outcome === p.outcome) this.idempotent.delete(key)
    return Effect.asVoid(Deferred.fail(p.outcome, error))
  }

  /** Completes the call `id` if `nodeId` owns it; false for unknown or late ids. */
  complete(id: string, nodeId: string, exit: Exit.Exit<unknown, E>): Effect.Effect<boolean> {
    if (this.pending.get(id)?.nodeId !== nodeId) return Effect.succeed(false)
    const p = this.take(id)!
    return Effect.as(Deferred.done(p.outcome, exit), true)
  }

  /** Fails every call in flight to `nodeId` with the error made for its command. */
  failNode(nodeId: string, error: (command: string) => E): Effect.Effect<number> {
    const mine = [...(this.idsByNode.get(nodeId) ?? [])].flatMap((id) => this.take(id) ?? [])
    for (const p of mine) if (this.idempotent.get(p.key)?.outcome === p.outcome) this.idempotent.delete(p.key)
    if (mine.length === 0) return Effect.succeed(0)
    return Effect.as(Effect.forEach(mine, (p) => Deferred.fail(p.outcome, error(p.command)), { discard: true }), mine.length)
  }

  /** Calls in flight (for tests and status). */
  get size(): number {
    return this.pending.size
  }

  private take(id: string): Pending<E> | undefined {
    const p = this.pending.get(id)
    if (p === undefined) return undefined
    this.pending.delete(id)
    bump(this.perCaller, p.caller, -1)
    bump(this.perNode, p.nodeId, -1)
    const ids = this.idsByNode.get(p.nodeId)
    ids?.delete(id)
    if (ids?.size === 0) this.idsByNode.delete(p.nodeId)
    return p
  }
}

// Counts that reach zero are dropped, so the maps hold only callers and nodes with calls in flight.
const bump = (counts: Map<string, number>, key: string, by: number) => {
  const n = (counts.get(key) ?? 0) + by
  if (n <= 0) counts.delete(key)
  else counts.set(key, n)
}
