import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { SessionTable } from "../../src/connections/sessionBudget.ts"

const limits = { maxConnectionsPerAddress: 3, maxConnectionsPerDevice: 2 }

describe("session budget", () => {
  it.prop("for any interleaving of claims and releases, no client or device holds more than its budget, and the table empties", [
    Schema.Array(Schema.Struct({
      address: Schema.Literals(["203.0.113.4", "::ffff:203.0.113.4", "2001:db8::1", "2001:db8::9", "127.0.0.1", "::1"]),
      device: Schema.optionalKey(Schema.Literals(["d1", "d2"])),
      release: Schema.Int.check(Schema.isBetween({ minimum: -1, maximum: 20 }))
    })).check(Schema.isMaxLength(200))
  ], ([steps]) => {
    const table = new SessionTable()
    const held: Array<{ client: string; device: string | undefined; release: () => void }> = []
    const clientOf = (a: string) => (a.includes("203.0.113.4") ? "v4" : a.startsWith("2001") ? "v6" : "loopback")
    for (const { address, device, release } of steps) {
      const claim = table.claim(address, device, limits)
      if (claim._tag === "Claimed") held.push({ client: clientOf(address), device, release: claim.release })
      if (release >= 0 && release < held.length) {
        const [h] = held.splice(release, 1)
        h!.release()
        h!.release()
      }
      for (const client of ["v4", "v6"]) assert.isAtMost(held.filter((h) => h.client === client).length, limits.maxConnectionsPerAddress)
      for (const d of ["d1", "d2"]) assert.isAtMost(held.filter((h) => h.device === d).length, limits.maxConnectionsPerDevice)
    }
    for (const h of held) h.release()
    assert.strictEqual(table.size, 0)
  }, { arbitrary: { runs: 300 } })
})
