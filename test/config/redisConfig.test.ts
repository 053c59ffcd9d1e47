/**
 * The shared rate limiter setting: `gateway.rateLimit.redisUrl` in openclaw.json,
 * overridden by GATEHOUSE_REDIS_URL, held as a Redacted value and never shown with
 * its password (config errors, config show, config.get redaction, gateway start).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { REDACTED, redactConfig } from "../../src/config/redact.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { freePort, run } from "../helpers/processes.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const FILE_URL = "redis://:file-pw-123@redis.internal:6379/0"
const ENV_URL = "rediss://gatehouse:env-pw-456@10.0.0.5:6380/2"

const homeWith = (doc: unknown) => {
  const home = tempDir("gatehouse-redisconf-")
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return { HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw") }
}

describe("gateway.rateLimit.redisUrl / GATEHOUSE_REDIS_URL", () => {
  it.effect("is unset by default: counts stay in memory", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({ port: 0 }, homeWith({}))
      assert.isUndefined(config.redisUrl)
      assert.isUndefined(config.redisUrlSource)
    }))

  it.effect("is read from openclaw.json as a known key, held redacted; the environment wins", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({ port: 0 }, homeWith({ gateway: { rateLimit: { redisUrl: FILE_URL } } }))
      assert.strictEqual(Redacted.value(config.redisUrl!), FILE_URL)
      assert.strictEqual(config.redisUrlSource, "file")
      assert.deepStrictEqual(config.file.unknownKeys, [])
      assert.notInclude(String(config.redisUrl), "file-pw-123")
      assert.notInclude(JSON.stringify(config.redisUrl), "file-pw-123")
      const env = { ...homeWith({ gateway: { rateLimit: { redisUrl: FILE_URL } } }), GATEHOUSE_REDIS_URL: ENV_URL }
      const fromEnv = (yield* GatewayConfig.make({ port: 0 }, env)).config
      assert.strictEqual(Redacted.value(fromEnv.redisUrl!), ENV_URL)
      assert.strictEqual(fromEnv.redisUrlSource, "env")
    }))

  it.effect("a value that is not a redis URL is refused at start without echoing its password", () =>
    Effect.gen(function*() {
      const fromEnv = yield* Effect.flip(GatewayConfig.make({ port: 0 }, { ...homeWith({}), GATEHOUSE_REDIS_URL: "http://u:env-pw-456@cache/x" }))
      assert.include(fromEnv.message, "GATEHOUSE_REDIS_URL must be a redis:// or rediss:// URL")
      assert.include(fromEnv.message, "http://u:***@cache/x")
      assert.notInclude(fromEnv.message, "env-pw-456")
      const fromFile = yield* Effect.flip(GatewayConfig.make({ port: 0 }, homeWith({ gateway: { rateLimit: { redisUrl: ":file-pw-123@cache" } } })))
      assert.include(fromFile.message, "gateway.rateLimit.redisUrl in ")
      assert.notInclude(fromFile.message, "file-pw-123")
      const wrongType = yield* Effect.flip(GatewayConfig.make({ port: 0 }, homeWith({ gateway: { rateLimit: { redisUrl: 6379 } } })))
      assert.include(wrongType.message, "gateway.rateLimit.redisUrl")
    }))

  it("config.get redacts the URL's credentials", () => {
    const out = JSON.stringify(redactConfig({ gateway: { rateLimit: { redisUrl: FILE_URL } } }))
    assert.notInclude(out, "file-pw-123")
    assert.include(out, `redis://${REDACTED}@redis.internal:6379/0`)
  })

  it("config show names the Redis without its password, in text and JSON", async () => {
    const env = { ...homeWith({}), GATEHOUSE_REDIS_URL: ENV_URL }
    const text = await run(["config", "show"], env)
    assert.strictEqual(text.code, 0, text.stderr)
    assert.include(text.stdout, "rediss://gatehouse:***@10.0.0.5:6380/2 (env)")
    const json = await run(["config", "show", "--json"], env)
    assert.strictEqual(json.code, 0, json.stderr)
    assert.deepStrictEqual(JSON.parse(json.stdout).rateLimit, { store: "redis", url: "rediss://gatehouse:***@10.0.0.5:6380/2", source: "env" })
    assert.notInclude(text.stdout + text.stderr + json.stdout + json.stderr, "env-pw-456")
  })

  it("gateway run with a Redis that is down says which one, without the password, and exits 1", async () => {
    const port = await freePort()
    const env = { ...homeWith({}), GATEHOUSE_REDIS_URL: `redis://:down-pw-789@127.0.0.1:${port}/0` }
    const r = await run(["gateway", "run", "--port", "0"], env)
    assert.strictEqual(r.code, 1, r.stdout + r.stderr)
    assert.include(r.stdout + r.stderr, `redis://:***@127.0.0.1:${port}/0`)
    assert.notInclude(r.stdout + r.stderr, "down-pw-789")
  })
})
