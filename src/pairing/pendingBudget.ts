/**
 * The budget of pending pairing requests: a store holds at most `total` of them,
 * and at most `perAddress` opened from one client (IPv4 address, IPv6 /64,
 * loopback). A request that only refreshes its owner's own pending one never
 * grows the store and is always allowed; a new one past the budget is refused
 * with a message that says what to do. Requests expire (5 min), so a full budget
 * frees itself even when no one answers.
 */
import { clientKey } from "../net/clientKey.ts"
import type { Refusal } from "./policy.ts"

export interface PendingBudget {
  readonly total: number
  readonly perAddress: number
}

/** The defaults of `gateway.limits.maxPendingPairings` and `maxPendingPairingsPerAddress`. */
export const DEFAULT_PENDING_BUDGET: PendingBudget = { total: 256, perAddress: 16 }

/** The budget `gateway.limits` configures. */
export const pendingBudgetOf = (limits: { readonly maxPendingPairings: number; readonly maxPendingPairingsPerAddress: number }): PendingBudget => ({
  total: limits.maxPendingPairings,
  perAddress: limits.maxPendingPairingsPerAddress
})

/** One live pending request, as the budget sees it. */
export interface PendingEntry {
  readonly owner: string
  readonly remoteIp?: string | undefined
}

/** Why `owner`'s new request from `remoteIp` does not fit among `pending`, or undefined when it does. */
export const overPendingBudget = (
  pending: ReadonlyArray<PendingEntry>,
  owner: string,
  remoteIp: string | undefined,
  budget: PendingBudget,
  what: "device" | "node"
): Refusal | undefined => {
  const others = pending.filter((p) => p.owner !== owner)
  // The owner's own request is replaced, not added: a refresh always fits.
  if (others.length < pending.length) return undefined
  if (others.length >= budget.total) {
    return {
      code: "pending-limit",
      message: `too many ${what} pairing requests are waiting (at most ${budget.total}); approve or reject some ` +
        `(\`gatehouse devices list\`), or wait for them to expire (5 min)`
    }
  }
  if (remoteIp === undefined) return undefined
  const client = clientKey(remoteIp)
  const mine = others.filter((p) => p.remoteIp !== undefined && clientKey(p.remoteIp) === client).length
  return mine >= budget.perAddress
    ? {
      code: "pending-limit",
      message: `too many ${what} pairing requests are waiting from this address (at most ${budget.perAddress}); ` +
        "ask the owner to approve or reject them, or wait for them to expire (5 min)"
    }
    : undefined
}
