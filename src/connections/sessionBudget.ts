/**
 * The budget of authenticated sockets: how many one remote client (IPv4 address,
 * IPv6 /64) and one device identity may hold at once. Checked and taken in one
 * synchronous step before `hello-ok`, so concurrent handshakes cannot all slip
 * under the cap; given back when the session ends. Loopback clients are the
 * host's own processes (node hosts, the CLI) and are bounded by the listener's
 * socket cap instead.
 */
import { clientKey, LOOPBACK_CLIENT } from "../net/clientKey.ts"

/** What a claim got: a release to call when the session ends, or which budget is full. */
export type SessionClaim =
  | { readonly _tag: "Claimed"; readonly release: () => void }
  | { readonly _tag: "Refused"; readonly budget: "address" | "device"; readonly limit: number }

export interface SessionLimits {
  readonly maxConnectionsPerAddress: number
  readonly maxConnectionsPerDevice: number
}

/** Live authenticated sockets per client and per device, for one gateway. */
export class SessionTable {
  private readonly byClient = new Map<string, number>()
  private readonly byDevice = new Map<string, number>()

  /** Takes one socket of `address`'s and `deviceId`'s budgets, or says which is full. */
  claim(address: string, deviceId: string | undefined, limits: SessionLimits): SessionClaim {
    const client = clientKey(address)
    const counted = client !== LOOPBACK_CLIENT
    if (counted && (this.byClient.get(client) ?? 0) >= limits.maxConnectionsPerAddress) {
      return { _tag: "Refused", budget: "address", limit: limits.maxConnectionsPerAddress }
    }
    if (deviceId !== undefined && (this.byDevice.get(deviceId) ?? 0) >= limits.maxConnectionsPerDevice) {
      return { _tag: "Refused", budget: "device", limit: limits.maxConnectionsPerDevice }
    }
    if (counted) increment(this.byClient, client)
    if (deviceId !== undefined) increment(this.byDevice, deviceId)
    let released = false
    return {
      _tag: "Claimed",
      release: () => {
        if (released) return
        released = true
        if (counted) decrement(this.byClient, client)
        if (deviceId !== undefined) decrement(this.byDevice, deviceId)
      }
    }
  }

  /** Entries held (both tables): zero once every session has ended. */
  get size(): number {
    return this.byClient.size + this.byDevice.size
  }
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const increment = (map: Map<string, number>, key: string) => void map.set(key, (map.get(key) ?? 0) + 1)

// Keys at zero are dropped, so the tables hold only live clients.
const decrement = (map: Map<string, number>, key: string) => {
  const n = (map.get(key) ?? 1) - 1
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
