import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/testing/TestClock"
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { SETTLE_MS, stampFiles } from "../../src/config/fileStamp.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const configLayer = (env: ReturnType<typeof homeWithConfig>) => Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0 }, env))

const tokenOf = (secrets: { token?: { value: Redacted.Redacted<string> } | undefined }) =>
  secrets.token === undefined ? undefined : Redacted.value(secrets.token.value)

describe("config refresh (Auth's per-connection re-read)", () => {
  it("a file changed within the settle window is never trusted by its stamp; a missing file is", () => {
    const dir = tempDir("gatehouse-stamp-")
    const path = join(dir, "openclaw.json")
    const absent = stampFiles([path], Date.now())
    assert.deepStrictEqual(absent, { key: "-|", settled: true })
    writeFileSync(path, "{}")
    const now = Date.now()
    const fresh = stampFiles([path], now)!
    assert.isFalse(fresh.settled)
    assert.notStrictEqual(fresh.key, absent!.key)
    // The same file, stamped for a read that begins well after its last change, stands for its content.
    assert.isTrue(stampFiles([path], now + SETTLE_MS + 1000)!.settled)
    // Any change of size or time changes the stamp.
    utimesSync(path, new Date(now - 60_000), new Date(now - 60_000))
    assert.notStrictEqual(stampFiles([path], now)!.key, fresh.key)
  })

  // TestClock time is set from the real clock so that the files count as settled; every edit below
  // also moves the file's mtime, so a same-size rewrite within one coarse file-system tick still shows.
  it.effect("an unchanged file is not read again; any edit is read by the next refresh, a rotated token bumps the generation", () => {
    const env = homeWithConfig({ gateway: { auth: { token: "token-aaaaaaaaaaaaaaaa" } } })
    const path = join(env.OPENCLAW_STATE_DIR, "openclaw.json")
    return Effect.gen(function*() {
      const config = yield* GatewayConfig
      yield* TestClock.setTime(Date.now() + 10_000)
      const first = yield* config.refresh
      assert.strictEqual(tokenOf(first.live.secrets), "token-aaaaaaaaaaaaaaaa")
      // Unchanged: the same config in force, nothing applied or rotated.
      const again = yield* config.refresh
      assert.strictEqual(again.live, first.live)
      assert.isFalse(again.rotated)
      writeFileSync(path, JSON.stringify({ gateway: { auth: { token: "token-bbbbbbbbbbbbbbbb" } } }))
      utimesSync(path, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000))
      const rotated = yield* config.refresh
      assert.isTrue(rotated.rotated)
      assert.strictEqual(tokenOf(rotated.live.secrets), "token-bbbbbbbbbbbbbbbb")
      assert.strictEqual(rotated.live.secretGeneration, first.live.secretGeneration + 1)
    }).pipe(Effect.provide(configLayer(env)))
  })

  it.effect("the generated token file is stamped too: a new token there is read by the next refresh", () => {
    const env = homeWithConfig({})
    const tokenPath = join(env.OPENCLAW_STATE_DIR, "gateway.token")
    writeFileSync(tokenPath, "generated-aaaaaaaaaaaaaaaa")
    return Effect.gen(function*() {
      const config = yield* GatewayConfig
      yield* TestClock.setTime(Date.now() + 10_000)
      assert.strictEqual(tokenOf((yield* config.refresh).live.secrets), "generated-aaaaaaaaaaaaaaaa")
      writeFileSync(tokenPath, "generated-bbbbbbbbbbbbbbbb")
      utimesSync(tokenPath, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000))
      const rotated = yield* config.refresh
      assert.isTrue(rotated.rotated)
      assert.strictEqual(tokenOf(rotated.live.secrets), "generated-bbbbbbbbbbbbbbbb")
    }).pipe(Effect.provide(configLayer(env)))
  })

  it.effect("a file changed just before the read is read again every time until it settles", () => {
    const env = homeWithConfig({ gateway: { auth: { token: "token-aaaaaaaaaaaaaaaa" } } })
    const path = join(env.OPENCLAW_STATE_DIR, "openclaw.json")
    return Effect.gen(function*() {
      const config = yield* GatewayConfig
      // The clock at the file's change time: too close to tell a later same-tick write apart, so never trusted.
      yield* TestClock.setTime(Date.now())
      yield* config.refresh
      // A same-size rewrite whose stamp could be identical (same tick) is still seen.
      writeFileSync(path, JSON.stringify({ gateway: { auth: { token: "token-bbbbbbbbbbbbbbbb" } } }))
      const next = yield* config.refresh
      assert.strictEqual(tokenOf(next.live.secrets), "token-bbbbbbbbbbbbbbbb")
    }).pipe(Effect.provide(configLayer(env)))
  })

  it.effect("a token file that cannot be read keeps the token in force (no rotation), says so, and is read again once readable", () => {
    const env = homeWithConfig({})
    const tokenPath = join(env.OPENCLAW_STATE_DIR, "gateway.token")
    writeFileSync(tokenPath, "generated-aaaaaaaaaaaaaaaa")
    return Effect.gen(function*() {
      const config = yield* GatewayConfig
      const first = yield* config.reload
      // Unreadable (here EISDIR; EACCES or EMFILE alike): not "no token".
      rmSync(tokenPath)
      mkdirSync(tokenPath)
      const failed = yield* config.reload
      assert.isFalse(failed.rotated)
      assert.strictEqual(failed.live.secretGeneration, first.live.secretGeneration)
      assert.strictEqual(tokenOf(failed.live.secrets), "generated-aaaaaaaaaaaaaaaa")
      assert.match(failed.live.invalid ?? "", /cannot read the gateway token file .*gateway\.token \(EISDIR\)/)
      rmSync(tokenPath, { recursive: true })
      writeFileSync(tokenPath, "generated-aaaaaaaaaaaaaaaa")
      const back = yield* config.reload
      assert.isFalse(back.rotated)
      assert.isUndefined(back.live.invalid)
    }).pipe(Effect.provide(configLayer(env)))
  })

  it.effect("a gateway does not start on a token file it cannot read", () => {
    const env = homeWithConfig({})
    mkdirSync(join(env.OPENCLAW_STATE_DIR, "gateway.token"))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(GatewayConfig.make({ port: 0 }, env))
      assert.match(error.message, /cannot read the gateway token file/)
    })
  })
})
