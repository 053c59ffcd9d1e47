import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { EffectiveConfig } from "../../src/config/resolve.ts"
import * as DiscoveryReloading from "../../src/layers/DiscoveryReloading.ts"
import { Discovery, type DiscoveredGateway, idleState, type PublishedEndpoint } from "../../src/services/Discovery.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { homeWithConfig, TEST_TOKEN } from "../helpers/testGateway.ts"

// A Discovery per build that records its life (build, goodbye on close) and what it is asked to advertise.
const standIn = (events: Array<string>) => (config: EffectiveConfig): Layer.Layer<Discovery> => {
  const d = config.discovery
  const label = `${d.mdnsMode.value}[${d.interfaces.join(",")}]`
  return Layer.effect(
    Discovery,
    Effect.gen(function*() {
      events.push(`build ${label}`)
      yield* Effect.addFinalizer(() => Effect.sync(() => void events.push(`goodbye ${label}`)))
      let published: PublishedEndpoint | undefined
      const advertised = (): ReadonlyArray<DiscoveredGateway> =>
        published === undefined || d.mdnsMode.value === "off"
          ? []
          : [{ name: `gw ${d.mdnsMode.value}`, host: "127.0.0.1", port: published.port, txt: {}, source: "mdns" }]
      return Discovery.of({
        mode: d.mdnsMode.value === "off" ? "disabled" : "mdns",
        browse: () => Effect.succeed([]),
        advertised: Effect.sync(advertised),
        publish: (endpoint) => Effect.sync(() => void (published = endpoint)),
        state: Effect.sync(() => advertised().length > 0 ? { ...idleState, phase: "advertising" as const, interfaces: d.interfaces } : idleState)
      })
    })
  )
}

const mdns = (mode: string, interfaces: ReadonlyArray<string> = []) => ({ discovery: { mdns: { mode, interfaces } } })

// The stand-in never touches a network, so the OPENCLAW_DISABLE_BONJOUR that tests set is lifted for the file's mode to count.
const setup = (doc: unknown, failOn?: string) => {
  const env = { ...homeWithConfig(doc), OPENCLAW_DISABLE_BONJOUR: undefined }
  const events: Array<string> = []
  const logged: Array<string> = []
  const configLayer = Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, token: Redacted.make(TEST_TOKEN) }, env))
  const factory = (c: EffectiveConfig) =>
    c.discovery.mdnsMode.value === failOn ? Layer.effect(Discovery, Effect.die(new Error("no multicast socket"))) : standIn(events)(c)
  const layer = DiscoveryReloading.layer(factory).pipe(
    Layer.provideMerge(configLayer),
    Layer.provide(Logger.layer([Logger.make(({ message }) => void logged.push(String(message)))]))
  )
  // Writes the config and reloads it, then lets the wrapper's swap fiber run.
  const edit = (next: unknown) =>
    Effect.gen(function*() {
      writeFileSync(join(env.OPENCLAW_STATE_DIR, "openclaw.json"), JSON.stringify(next))
      const { reload } = yield* GatewayConfig
      yield* reload
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
    })
  return { events, logged, layer, edit }
}

describe("discovery follows config reloads", () => {
  it.effect("minimal → full → off → minimal rebuilds the advertiser, goodbyes first, and keeps the published endpoint", () => {
    const t = setup(mdns("minimal"))
    return Effect.gen(function*() {
      const discovery = yield* Discovery
      yield* discovery.publish({ port: 18789 })
      assert.deepStrictEqual(t.events, ["build minimal[]"])
      assert.strictEqual((yield* discovery.advertised)[0]?.name, "gw minimal")

      yield* t.edit(mdns("full"))
      assert.deepStrictEqual(t.events, ["build minimal[]", "goodbye minimal[]", "build full[]"])
      const full = yield* discovery.advertised
      assert.strictEqual(full[0]?.name, "gw full")
      assert.strictEqual(full[0]?.port, 18789)
      assert.strictEqual((yield* discovery.state).phase, "advertising")
      assert.include(t.logged, "discovery restarted: config changed (mDNS full)")

      yield* t.edit(mdns("off"))
      assert.deepStrictEqual(t.events.slice(3), ["goodbye full[]", "build off[]"])
      assert.strictEqual(discovery.mode, "disabled")
      assert.deepStrictEqual(yield* discovery.advertised, [])
      assert.strictEqual((yield* discovery.state).phase, "idle")

      yield* t.edit(mdns("minimal"))
      assert.deepStrictEqual(t.events.slice(5), ["goodbye off[]", "build minimal[]"])
      assert.strictEqual(discovery.mode, "mdns")
      assert.strictEqual((yield* discovery.advertised)[0]?.port, 18789)
    }).pipe(Effect.provide(t.layer))
  })

  it.effect("a new interface list rebuilds; an edit outside discovery does not", () => {
    const t = setup(mdns("minimal", ["eth0"]))
    return Effect.gen(function*() {
      const discovery = yield* Discovery
      yield* t.edit({ ...mdns("minimal", ["eth0"]), gateway: { nodes: { denyCommands: ["system.run"] } } })
      assert.deepStrictEqual(t.events, ["build minimal[eth0]"])
      yield* t.edit(mdns("minimal", ["eth1"]))
      assert.deepStrictEqual(t.events, ["build minimal[eth0]", "goodbye minimal[eth0]", "build minimal[eth1]"])
      yield* discovery.publish({ port: 1 })
      assert.deepStrictEqual((yield* discovery.state).interfaces, ["eth1"])
    }).pipe(Effect.provide(t.layer))
  })

  it.effect("closing the gateway says goodbye on the advertiser in force, once", () => {
    const t = setup(mdns("minimal"))
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(t.layer, scope)
      yield* t.edit(mdns("full")).pipe(Effect.provideContext(context))
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(t.events, ["build minimal[]", "goodbye minimal[]", "build full[]", "goodbye full[]"])
    })
  })

  it.effect("a rebuild that dies leaves discovery off and logged, and the next edit builds again", () => {
    const t = setup(mdns("minimal"), "full")
    return Effect.gen(function*() {
      const discovery = yield* Discovery
      yield* discovery.publish({ port: 18789 })
      yield* t.edit(mdns("full"))
      assert.deepStrictEqual(t.events, ["build minimal[]", "goodbye minimal[]"])
      assert.strictEqual(discovery.mode, "disabled")
      assert.deepStrictEqual(yield* discovery.advertised, [])
      assert.isTrue(t.logged.some((l) => l.startsWith("discovery could not start") && l.includes("no multicast socket")), t.logged.join("\n"))
      yield* t.edit(mdns("minimal"))
      assert.strictEqual(discovery.mode, "mdns")
      assert.strictEqual((yield* discovery.advertised)[0]?.port, 18789)
    }).pipe(Effect.provide(t.layer))
  })
})
