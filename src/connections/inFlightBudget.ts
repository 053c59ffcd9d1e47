/**
 * Bytes of received frames waiting to be handled, per connection and per client
 * (IPv4 address, IPv6 /64, loopback): a client that pipelines large frames faster
 * than the gateway handles them is closed at its budget instead of growing the
 * gateway's memory. A frame counts from its arrival until the connection program
 * takes it off the queue; the count is settled lazily from the queue's length, so
 * the per-frame path adds no bookkeeping on the consumer side.
 */
import { clientKey } from "../net/clientKey.ts"

export interface InFlightLimits {
  readonly maxInFlightBytesPerConnection: number
  readonly maxInFlightBytesPerAddress: number
}

/** Which budget a frame would overflow. */
export type InFlightVerdict = "ok" | "connection" | "address"

interface Client {
  bytes: number
  readonly conns: Set<ConnectionBytes>
}

/** One connection's frames in flight. */
export class ConnectionBytes {
  private sizes: Array<number> = []
  private head = 0
  private total = 0
  private closed = false

  private readonly client: Client
  private readonly queued: () => number
  private readonly onEmpty: () => void

  constructor(client: Client, queued: () => number, onEmpty: () => void) {
    this.client = client
    this.queued = queued
    this.onEmpty = onEmpty
  }

  /** Bytes still queued. */
  get bytes(): number {
    this.settle()
    return this.total
  }

  /** Counts a frame of `bytes`, or says which budget it would overflow (then nothing is counted). */
  admit(bytes: number, limits: InFlightLimits): InFlightVerdict {
    this.settle()
    if (this.total + bytes > limits.maxInFlightBytesPerConnection) return "connection"
    if (this.client.bytes + bytes > limits.maxInFlightBytesPerAddress) {
      for (const c of this.client.conns) c.settle()
      if (this.client.bytes + bytes > limits.maxInFlightBytesPerAddress) return "address"
    }
    this.sizes.push(bytes)
    this.total += bytes
    this.client.bytes += bytes
    return "ok"
  }

  /** Gives back everything this connection held. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.client.bytes -= this.total
    this.total = 0
    this.sizes = []
    this.head = 0
    this.client.conns.delete(this)
    if (this.client.conns.size === 0) this.onEmpty()
  }

  // Frames taken off the queue since the last look are the oldest ones counted.
  private settle(): void {
    // A closed connection gave back everything at close: settling it again would give its frames back twice.
    if (this.closed) return
    const waiting = this.queued()
    while (this.sizes.length - this.head > waiting) {
      const n = this.sizes[this.head++]!
      this.total -= n
      this.client.bytes -= n
    }
    if (this.head > 0 && this.head === this.sizes.length) {
      // All taken: a fresh array has no backing store, so an idle connection keeps none (its first frames grew one).
      this.sizes = []
      this.head = 0
    } else if (this.head > 256 && this.head * 2 > this.sizes.length) {
      this.sizes.splice(0, this.head)
      this.head = 0
    }
  }
}

/** The in-flight bytes of every connection of one listener. */
export class InFlightTable {
  private readonly clients = new Map<string, Client>()

  /** Starts counting a connection from `address`; `queued` tells how many of its frames are still waiting. */
  open(address: string, queued: () => number): ConnectionBytes {
    const key = clientKey(address)
    let client = this.clients.get(key)
    if (client === undefined) {
      client = { bytes: 0, conns: new Set() }
      this.clients.set(key, client)
    }
    const conn = new ConnectionBytes(client, queued, () => this.clients.delete(key))
    client.conns.add(conn)
    return conn
  }

  /** Clients with a connection open. */
  get size(): number {
    return this.clients.size
  }

  /** Bytes in flight of `address`'s client. */
  bytesOf(address: string): number {
    const client = this.clients.get(clientKey(address))
    if (client === undefined) return 0
    for (const c of client.conns) void c.bytes
    return client.bytes
  }
}
