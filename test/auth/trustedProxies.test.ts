import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { addressSet, invalidEntries } from "../../src/net/addressSet.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory } from "../helpers/testGateway.ts"

describe("trusted proxies", () => {
  it("match addresses and CIDR ranges in any spelling", () => {
    const set = addressSet(["10.0.0.0/24", "fd00::/8", "192.0.2.7", "::ffff:198.51.100.1"])
    assert.isTrue(set.has("10.0.0.200"))
    assert.isTrue(set.has("::ffff:10.0.0.9"))
    assert.isFalse(set.has("10.0.1.1"))
    assert.isTrue(set.has("fd12:3456::1"))
    assert.isTrue(set.has("[fd00::2]"))
    assert.isTrue(set.has("192.0.2.7"))
    assert.isTrue(set.has("198.51.100.1"))
    assert.isFalse(set.has("not-an-ip"))
    assert.deepStrictEqual(invalidEntries(["10.0.0.0/33", "proxy.local", "10.0.0.1/8/1", "::1/129", "127.0.0.1"]), ["10.0.0.0/33", "proxy.local", "10.0.0.1/8/1", "::1/129"])
  })

  it.effect("a proxy inside a configured CIDR range has its client's address believed", () =>
    Effect.gen(function*() {
      const c = yield* openMemory({ remoteAddress: "10.0.0.5", headers: { "x-forwarded-for": "203.0.113.9, 10.0.0.6" } })
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ client: { id: "openclaw-tui", version: "1", platform: "linux", mode: "ui" } }) })
      const hello = yield* c.nextMatching((f) => f.id === "c")
      assert.strictEqual(hello.ok, true, JSON.stringify(hello.error))
      const other = yield* openMemory()
      yield* other.next
      yield* other.push({ type: "req", id: "c", method: "connect", params: connectParams({ scopes: ["operator.read"] }) })
      yield* other.nextMatching((f) => f.id === "c")
      yield* other.push({ type: "req", id: "p", method: "system-presence" })
      const presence = yield* other.nextMatching((f) => f.id === "p")
      assert.include(presence.payload.map((p: { ip?: string }) => p.ip), "203.0.113.9")
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["10.0.0.0/24"] } })))))

  it.effect("a forged hop (not an address, or claiming loopback) is one shared remote client, never a fresh key or loopback", () =>
    Effect.gen(function*() {
      for (const forged of ["x1", "x2", "::1", "127.0.0.1"]) {
        const c = yield* openMemory({ remoteAddress: "10.0.0.5", headers: { "x-forwarded-for": `${forged}, 10.0.0.6` } })
        yield* c.next
        yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ client: { id: "openclaw-tui", version: "1", platform: "linux", mode: "ui" } }) })
        const hello = yield* c.nextMatching((f) => f.id === "c")
        assert.strictEqual(hello.ok, true, JSON.stringify(hello.error))
      }
      const owner = yield* openMemory()
      yield* owner.next
      yield* owner.push({ type: "req", id: "c", method: "connect", params: connectParams({ scopes: ["operator.read"] }) })
      yield* owner.nextMatching((f) => f.id === "c")
      yield* owner.push({ type: "req", id: "p", method: "system-presence" })
      const presence = yield* owner.nextMatching((f) => f.id === "p")
      const ips: Array<string | undefined> = presence.payload.filter((p: { mode?: string }) => p.mode === "ui").map((p: { ip?: string }) => p.ip)
      assert.strictEqual(ips.length, 4, JSON.stringify(presence.payload))
      assert.notInclude(ips, "x1")
      assert.notInclude(ips, "::1")
      assert.notInclude(ips, "127.0.0.1")
      assert.deepStrictEqual(ips, Array(4).fill("forwarded-unattributable"))
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["10.0.0.0/24"] } })))))

  it.effect("an entry that is neither an address nor a CIDR range is refused at start, with the fix", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(GatewayConfig.make({ port: 0 }, homeWithConfig({ gateway: { trustedProxies: ["proxy.internal"] } })))
      assert.include(error.message, "gateway.trustedProxies")
      assert.include(error.message, "not an IP address or CIDR range")
    }))
})
