import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { InFlightTable } from "../../src/connections/inFlightBudget.ts"

const limits = { maxInFlightBytesPerConnection: 1000, maxInFlightBytesPerAddress: 2500 }

// A connection whose queue the test drains by hand.
const open = (table: InFlightTable, address: string) => {
  let queued = 0
  const bytes = table.open(address, () => queued)
  return {
    bytes,
    send: (n: number) => {
      const v = bytes.admit(n, limits)
      if (v === "ok") queued++
      return v
    },
    take: (n = 1) => void (queued -= n)
  }
}

describe("bytes in flight", () => {
  it("a connection that pipelines past its budget is refused, and the frames it had handled count no more", () => {
    const table = new InFlightTable()
    const c = open(table, "203.0.113.4")
    assert.strictEqual(c.send(600), "ok")
    assert.strictEqual(c.send(600), "connection")
    c.take()
    assert.strictEqual(c.send(600), "ok")
    assert.strictEqual(c.bytes.bytes, 600)
  })

  it("a connection that drained its queue counts from zero again, and its next frames are counted and drained in order", () => {
    const table = new InFlightTable()
    const c = open(table, "203.0.113.4")
    assert.strictEqual(c.send(300), "ok")
    assert.strictEqual(c.send(200), "ok")
    c.take(2)
    assert.strictEqual(c.bytes.bytes, 0)
    assert.strictEqual(c.send(700), "ok")
    assert.strictEqual(c.send(250), "ok")
    assert.strictEqual(c.send(100), "connection")
    c.take()
    assert.strictEqual(c.bytes.bytes, 250)
    assert.strictEqual(table.bytesOf("203.0.113.4"), 250)
  })

  it("a client's connections together stay within the address budget (IPv4-mapped and /64 spellings are one client); others are unaffected", () => {
    const table = new InFlightTable()
    const a = open(table, "203.0.113.4")
    const b = open(table, "::ffff:203.0.113.4")
    const c = open(table, "::ffff:cb00:7104")
    assert.strictEqual(a.send(1000), "ok")
    assert.strictEqual(b.send(1000), "ok")
    assert.strictEqual(c.send(600), "address")
    assert.strictEqual(open(table, "198.51.100.1").send(1000), "ok")
    // Another connection of the client drained its queue: the address has room again.
    a.take()
    assert.strictEqual(c.send(600), "ok")
    const v6 = [open(table, "2001:db8:1:2::1"), open(table, "2001:db8:1:2::ffff"), open(table, "2001:db8:1:2:3::")]
    assert.deepStrictEqual(v6.map((x) => x.send(900)), ["ok", "ok", "address"])
  })

  it.prop("for any interleaving of frames, drains and closes, no connection or client exceeds its budget and the table empties when all close", [
    Schema.Array(Schema.Struct({
      conn: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 })),
      op: Schema.Literals(["send", "take", "close"]),
      size: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1200 }))
    })).check(Schema.isMaxLength(300))
  ], ([steps]) => {
    const table = new InFlightTable()
    const addresses = ["203.0.113.4", "::ffff:203.0.113.4", "2001:db8::1", "2001:db8::2", "198.51.100.7", "203.0.113.4"]
    type Sim = { queue: Array<number>; bytes: ReturnType<InFlightTable["open"]>; open: boolean }
    const sims: Array<Sim> = addresses.map((address) => {
      const sim = { queue: [] as Array<number>, open: true } as unknown as Sim
      sim.bytes = table.open(address, () => sim.queue.length)
      return sim
    })
    const clientOf = [0, 0, 1, 1, 2, 0]
    for (const { conn, op, size } of steps) {
      const sim = sims[conn]!
      if (!sim.open) continue
      if (op === "send" && sim.bytes.admit(size, limits) === "ok") sim.queue.push(size)
      if (op === "take") sim.queue.shift()
      if (op === "close") {
        sim.open = false
        sim.queue = []
        sim.bytes.close()
        // A late look at a closed connection (the listener settling it after the socket went) gives nothing back twice.
        void sim.bytes.bytes
      }
      for (const s of sims) if (s.open) assert.isAtMost(s.queue.reduce((a, b) => a + b, 0), limits.maxInFlightBytesPerConnection)
      for (const client of [0, 1, 2]) {
        const total = sims.filter((s, i) => s.open && clientOf[i] === client).reduce((a, s) => a + s.queue.reduce((x, y) => x + y, 0), 0)
        assert.isAtMost(total, limits.maxInFlightBytesPerAddress)
        // The address's count never goes below what its open connections still queue (a double give-back would).
        const open = sims.filter((s, i) => s.open && clientOf[i] === client)
        for (const s of open) void s.bytes.bytes
        if (open.length > 0) assert.strictEqual(table.bytesOf(addresses[clientOf.indexOf(client)]!), total)
      }
    }
    // The count is exact, not only within budget: settled at the end, each open connection holds what it still queues.
    for (const s of sims) if (s.open) assert.strictEqual(s.bytes.bytes, s.queue.reduce((a, b) => a + b, 0))
    for (const s of sims) s.bytes.close()
    assert.strictEqual(table.size, 0)
  }, { arbitrary: { runs: 300 } })
})
