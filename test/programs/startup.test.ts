import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Logger from "effect/Logger"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import * as Gateway from "../../src/gateway.ts"
import { lockPath } from "../../src/programs/profileLock.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { tempHome } from "../helpers/testGateway.ts"

const start = (overrides: Parameters<typeof GatewayConfig.make>[0], env: Record<string, string>) =>
  Layer.build(
    Gateway.layerDefault().pipe(Layer.provideMerge(Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0, ...overrides }, env))))
  ).pipe(Effect.map(Context.get(GatewayServer)))

describe("startup", () => {
  it.live("generates a token on first start, saves it 0600, and uses it from then on", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const env = { HOME: home }
      yield* Effect.scoped(start({}, env))
      const path = join(home, ".openclaw", "gateway.token")
      assert.isTrue(existsSync(path))
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
      const token = readFileSync(path, "utf8").trim()
      assert.match(token, /^[0-9a-f]{48}$/)
      yield* Effect.scoped(start({}, env))
      assert.strictEqual(readFileSync(path, "utf8").trim(), token)
    }))

  it.live("refuses an emptied token file with the fix, and never replaces it with a new token", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const path = join(home, ".openclaw", "gateway.token")
      mkdirSync(join(home, ".openclaw"), { recursive: true })
      writeFileSync(path, "\n", { mode: 0o600 })
      const error = yield* Effect.flip(Effect.scoped(start({}, { HOME: home })))
      assert.include(error.message, `the gateway token file ${path} is empty`)
      assert.include(error.message, "delete the file to have a new one generated")
      assert.strictEqual(readFileSync(path, "utf8"), "\n")
    }))

  it.live("refuses a LAN bind without a secret, naming what to set", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(start({ bind: "lan", auth: "password" }, { HOME: tempHome() })))
      assert.include(error.message, "refusing to bind gateway to 0.0.0.0")
      assert.include(error.message, "OPENCLAW_GATEWAY_PASSWORD")
    }))

  it.live("refuses auth mode none beyond loopback", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(start({ bind: "lan", auth: "none" }, { HOME: tempHome() })))
      assert.include(error.message, "auth mode none is for loopback only")
    }))

  it.live("refuses placeholder secrets on any bind", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(start({ token: Redacted.make("change-me-to-a-long-random-token") }, { HOME: tempHome() }))
      )
      assert.include(error.message, "placeholder")
      const blank = yield* Effect.flip(Effect.scoped(start({}, { HOME: tempHome(), OPENCLAW_GATEWAY_TOKEN: "   " })))
      assert.include(blank.message, "placeholder or blank")
    }))

  it.live("starts on a LAN bind with a real token", () =>
    Effect.gen(function*() {
      const server = yield* Effect.scoped(start({ bind: "lan", token: Redacted.make("a-real-token-8f3a9c") }, { HOME: tempHome() }))
      assert.strictEqual(server.host, "0.0.0.0")
    }))

  it.live("allows one gateway per profile and names the running PID to a second one", () =>
    Effect.gen(function*() {
      const env = { HOME: tempHome() }
      yield* Effect.scoped(Effect.gen(function*() {
        yield* start({}, env)
        const error = yield* Effect.flip(Effect.scoped(start({}, env)))
        assert.include(error.message, `gateway already running for this profile (pid ${process.pid}`)
        const other = yield* Effect.scoped(start({ profile: "other" }, env))
        assert.isAbove(other.port, 0)
      }))
      assert.isFalse(existsSync(lockPath(join(env.HOME, ".openclaw"))))
    }))

  it.live("takes over a lock left by a dead process", () =>
    Effect.gen(function*() {
      const env = { HOME: tempHome() }
      const stateDir = join(env.HOME, ".openclaw")
      yield* Effect.scoped(start({}, env))
      writeFileSync(lockPath(stateDir), JSON.stringify({ pid: 2 ** 22 + 1, port: 18789, startedAtMs: 0 }))
      const server = yield* Effect.scoped(start({}, env))
      assert.isAbove(server.port, 0)
    }))

  it.live("moves a corrupt pairing file aside, reports it, and starts with empty pairing state", () =>
    Effect.gen(function*() {
      const home = tempHome()
      const devices = join(home, ".openclaw", "devices")
      mkdirSync(devices, { recursive: true })
      writeFileSync(join(devices, "pairing.json"), "{ this is not json")
      const logs: Array<string> = []
      const capture = Logger.layer([Logger.make(({ message }) => logs.push(String(message)))])
      yield* Effect.scoped(start({}, { HOME: home })).pipe(Effect.provide(capture))
      const aside = readdirSync(devices).filter((f) => f.startsWith("pairing.json.corrupt-"))
      assert.lengthOf(aside, 1)
      assert.strictEqual(readFileSync(join(devices, aside[0]!), "utf8"), "{ this is not json")
      assert.isTrue(logs.some((l) => l.includes("could not be read") && l.includes(aside[0]!)))
    }))

  it.live("says which port is taken when another program holds it", () =>
    Effect.gen(function*() {
      const env = { HOME: tempHome() }
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* start({ profile: "a" }, env)
        const error = yield* Effect.flip(Effect.scoped(start({ profile: "b", port: first.port }, env)))
        assert.include(error.message, `port ${first.port} on 127.0.0.1 is already in use`)
      }))
    }))
})
