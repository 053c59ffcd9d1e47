/**
 * The pairing database setting: `state.postgres.url` in openclaw.json, overridden
 * by GATEHOUSE_POSTGRES_URL, held as a Redacted value and never shown with its
 * password (config errors, config.get redaction, the resolved config itself).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { REDACTED, redactConfig } from "../../src/config/redact.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const FILE_URL = "postgres://gatehouse:file-pw-123@db.internal:5432/gatehouse"
const ENV_URL = "postgresql://gatehouse:env-pw-456@10.0.0.5/pairing?sslmode=require"

const homeWith = (doc: unknown) => {
  const home = tempDir("gatehouse-pgconf-")
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return { HOME: home }
}

describe("state.postgres.url / GATEHOUSE_POSTGRES_URL", () => {
  it.effect("is unset by default: pairing stays in files", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({ port: 0 }, homeWith({}))
      assert.isUndefined(config.postgresUrl)
      assert.isUndefined(config.postgresUrlSource)
    }))

  it.effect("is read from openclaw.json as a known key, held redacted", () =>
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig.make({ port: 0 }, homeWith({ state: { postgres: { url: FILE_URL } } }))
      assert.strictEqual(Redacted.value(config.postgresUrl!), FILE_URL)
      assert.strictEqual(config.postgresUrlSource, "file")
      assert.deepStrictEqual(config.file.unknownKeys, [])
      assert.notInclude(String(config.postgresUrl), "file-pw-123")
      assert.notInclude(JSON.stringify(config.postgresUrl), "file-pw-123")
    }))

  it.effect("the environment wins over the file", () =>
    Effect.gen(function*() {
      const env = { ...homeWith({ state: { postgres: { url: FILE_URL } } }), GATEHOUSE_POSTGRES_URL: ENV_URL }
      const { config } = yield* GatewayConfig.make({ port: 0 }, env)
      assert.strictEqual(Redacted.value(config.postgresUrl!), ENV_URL)
      assert.strictEqual(config.postgresUrlSource, "env")
    }))

  it.effect("a value that is not a postgres URL is refused without echoing its password", () =>
    Effect.gen(function*() {
      const fromEnv = yield* Effect.flip(GatewayConfig.make({ port: 0 }, { ...homeWith({}), GATEHOUSE_POSTGRES_URL: "mysql://root:env-pw-456@db/x" }))
      assert.include(fromEnv.message, "GATEHOUSE_POSTGRES_URL must be a postgres:// or postgresql:// URL")
      assert.include(fromEnv.message, "mysql://root:***@db/x")
      assert.notInclude(fromEnv.message, "env-pw-456")
      const fromFile = yield* Effect.flip(GatewayConfig.make({ port: 0 }, homeWith({ state: { postgres: { url: "gatehouse:file-pw-123" } } })))
      assert.include(fromFile.message, "state.postgres.url in ")
      assert.notInclude(fromFile.message, "file-pw-123")
      const wrongType = yield* Effect.flip(GatewayConfig.make({ port: 0 }, homeWith({ state: { postgres: { url: 5432 } } })))
      assert.include(wrongType.message, "state.postgres.url")
    }))

  it("config.get redacts the password in the URL's authority and query", () => {
    const out = JSON.stringify(redactConfig({ state: { postgres: { url: FILE_URL } }, other: "postgres://db/x?user=u&password=q-pw-789" }))
    assert.notInclude(out, "file-pw-123")
    assert.notInclude(out, "q-pw-789")
    assert.include(out, `postgres://${REDACTED}@db.internal:5432/gatehouse`)
    assert.include(out, `password=${REDACTED}`)
  })
})
