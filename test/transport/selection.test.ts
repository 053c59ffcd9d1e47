import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { type DiscoveredCandidate, forcedSsh, type RouteKind, selectRoute, type SelectionInput, withProbeTimeout } from "../../src/transport/selection.ts"

const DIRECT = "wss://gw.example:18789"
const LAN = { name: "gatehouse on box", url: "ws://192.168.1.5:18789" }
const TAILNET = "ws://box.tail1234.ts.net:18789"
const SSH = { target: "root@box", port: 2222 }
const full: SelectionInput = { direct: DIRECT, discovered: [LAN], tailnet: TAILNET, ssh: SSH }

const pick = (first: boolean) => (c: ReadonlyArray<DiscoveredCandidate>) => Effect.succeed(first ? c[0] : undefined)

describe("transport selection", () => {
  // [what, input, reachable URLs, the user picks a discovered gateway, chosen route, skipped kinds]
  const table: ReadonlyArray<[string, SelectionInput, ReadonlyArray<string>, boolean, RouteKind | undefined, ReadonlyArray<RouteKind>]> = [
    ["paired direct endpoint answers", full, [DIRECT, LAN.url, TAILNET], true, "direct", []],
    ["direct down: the discovered gateway the user chose", full, [LAN.url, TAILNET], true, "discovered", ["direct"]],
    ["direct down, user chose none: tailnet", full, [LAN.url, TAILNET], false, "tailnet", ["direct", "discovered"]],
    ["direct down, chosen gateway down: tailnet", full, [TAILNET], true, "tailnet", ["direct", "discovered"]],
    ["nothing answers: ssh", full, [], true, "ssh", ["direct", "discovered", "tailnet"]],
    ["nothing configured but ssh: ssh", { discovered: [], ssh: SSH }, [], true, "ssh", ["direct", "discovered", "tailnet"]],
    ["nothing configured: no route", { discovered: [] }, [], true, undefined, ["direct", "discovered", "tailnet", "ssh"]],
    ["only tailnet, it answers", { discovered: [], tailnet: TAILNET }, [TAILNET], true, "tailnet", ["direct", "discovered"]]
  ]
  for (const [what, input, up, choose, route, skipped] of table) {
    it.effect(what, () =>
      Effect.gen(function*() {
        const probed: Array<string> = []
        const s = yield* selectRoute(input, {
          reachable: (url) => Effect.sync(() => (probed.push(url), up.includes(url))),
          choose: pick(choose)
        })
        assert.strictEqual(s.route?.kind, route)
        assert.deepStrictEqual(s.skipped.map((x) => x.kind), skipped)
        for (const x of s.skipped) assert.isAbove(x.reason.length, 10)
        // Probing stops at the first route that works; SSH is never probed.
        if (route === "direct") assert.deepStrictEqual(probed, [DIRECT])
        assert.notInclude(probed, "ssh")
        if (route === "discovered") assert.strictEqual(s.saveAsDirect, LAN.url)
        else assert.isUndefined(s.saveAsDirect)
      }))
  }

  it.effect("the skip reasons say what is missing or what did not answer", () =>
    Effect.gen(function*() {
      const s = yield* selectRoute({ direct: DIRECT, discovered: [], discoveryNote: "discovery is disabled", ssh: SSH }, {
        reachable: () => Effect.succeed(false),
        choose: pick(true)
      })
      assert.deepStrictEqual(s.skipped.map((x) => x.reason), [
        `${DIRECT} did not answer`,
        "discovery is disabled",
        "no tailnet name or IP (gateway.remote.tailnet) is configured"
      ])
      assert.deepStrictEqual(forcedSsh(SSH, "--ssh given").skipped.map((x) => x.kind), ["direct", "discovered", "tailnet"])
    }))

  it.effect("a probe that never answers falls back after its timeout, by the Clock", () =>
    Effect.gen(function*() {
      const hang = yield* Deferred.make<boolean>()
      const fiber = yield* selectRoute(full, {
        reachable: (url) => withProbeTimeout(url === TAILNET ? Effect.succeed(true) : Deferred.await(hang), 2000),
        choose: pick(true)
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis") // direct gives up
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("2 seconds") // the chosen discovered gateway gives up
      const s = yield* Fiber.join(fiber)
      assert.strictEqual(s.route?.kind, "tailnet")
      assert.deepStrictEqual(s.skipped.map((x) => x.kind), ["direct", "discovered"])
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
    }))
})
