/**
 * Request rates for expensive methods, per connection: a token bucket for each
 * class of method (invokes that reach a node, pairing writes, probes that gather
 * state, subscriptions). A connection that drains a bucket is told to retry after
 * the time one token takes to come back; other connections are untouched, and
 * cheap methods (answers from nodes, reads of one value) are never throttled.
 */

export interface BucketPolicy {
  /** Requests allowed back to back. */
  readonly burst: number
  /** Tokens returned per second. */
  readonly perSecond: number
}

export const METHOD_CLASSES = {
  // Each reaches a node or a channel; also bounded by the invokes-in-flight caps.
  invoke: { burst: 512, perSecond: 256 },
  // Each rewrites pairing state (a file write or a database transaction).
  pairingWrite: { burst: 50, perSecond: 5 },
  // Each gathers state from every service (status, channel probes, stability). `health` is not one:
  // it answers a constant-size summary, and clients and the bench poll it.
  probe: { burst: 20, perSecond: 5 },
  // Each replaces the connection's subscription set.
  subscribe: { burst: 10, perSecond: 1 }
} as const satisfies Record<string, BucketPolicy>
export type MethodClass = keyof typeof METHOD_CLASSES

const CLASS_OF: ReadonlyMap<string, MethodClass> = new Map<string, MethodClass>([
  ["node.invoke", "invoke"],
  ["send", "invoke"],
  ["message.action", "invoke"],
  ["device.pair.approve", "pairingWrite"],
  ["device.pair.reject", "pairingWrite"],
  ["device.pair.remove", "pairingWrite"],
  ["device.pair.rename", "pairingWrite"],
  ["device.token.rotate", "pairingWrite"],
  ["device.token.revoke", "pairingWrite"],
  ["node.pair.approve", "pairingWrite"],
  ["node.pair.reject", "pairingWrite"],
  ["node.pair.remove", "pairingWrite"],
  ["node.pair.verify", "pairingWrite"],
  ["node.pair.request", "pairingWrite"],
  ["node.rename", "pairingWrite"],
  ["status", "probe"],
  ["channels.status", "probe"],
  ["diagnostics.stability", "probe"],
  ["node.events.subscribe", "subscribe"]
])

/** The class of a method, or undefined for one that is never throttled. */
export const methodClass = (method: string): MethodClass | undefined => CLASS_OF.get(method)

/** The verdict on one request. */
export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly limit: BucketPolicy }

/** The buckets of one connection (at most one per class, so it never grows). */
export class MethodRates {
  // Made on the first throttled request: most connections (every node) never send one, and 10k empty maps weigh ~2 MiB.
  private buckets: Map<MethodClass, { tokens: number; at: number }> | undefined = undefined

  /** Takes a token of `cls`'s bucket at `now` (ms), or says how long until one is back. */
  take(cls: MethodClass, now: number): Take {
    const policy = METHOD_CLASSES[cls]
    const buckets = this.buckets ??= new Map()
    const b = buckets.get(cls) ?? { tokens: policy.burst, at: now }
    // A clock that steps back refills nothing (and takes nothing away).
    const elapsed = Math.max(0, now - b.at)
    b.tokens = Math.min(policy.burst, b.tokens + (elapsed * policy.perSecond) / 1000)
    b.at = Math.max(b.at, now)
    buckets.set(cls, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / policy.perSecond), limit: policy }
  }
}
