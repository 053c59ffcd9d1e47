import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { deviceAuthPath, forgetDeviceToken, loadDeviceToken, saveDeviceToken } from "../../src/identity/deviceAuthStore.ts"
import { tempDir } from "../helpers/tempDirs.ts"

describe("stored device tokens", () => {
  it.effect("one gateway's token never replaces or forgets another's", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* saveDeviceToken(dir, "dev", "operator", "token-a", ["operator.read"], "wss://a.example:18789")
      yield* saveDeviceToken(dir, "dev", "operator", "token-b", ["operator.read"], "ws://127.0.0.1:9999")
      assert.strictEqual(yield* loadDeviceToken(dir, "dev", "operator", "wss://a.example:18789"), "token-a")
      assert.strictEqual(yield* loadDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:9999"), "token-b")
      yield* forgetDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:9999")
      assert.strictEqual(yield* loadDeviceToken(dir, "dev", "operator", "wss://a.example:18789"), "token-a")
      assert.isUndefined(yield* loadDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:9999"))
    }))

  it.effect("reads a file written with one slot per role, for the gateway that issued it only", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      mkdirSync(join(dir, "identity"), { recursive: true })
      writeFileSync(deviceAuthPath(dir), JSON.stringify({
        version: 1,
        deviceId: "dev",
        tokens: { operator: { token: "old", role: "operator", scopes: [], updatedAtMs: 1, gatewayUrl: "ws://127.0.0.1:18789" } }
      }))
      assert.strictEqual(yield* loadDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:18789"), "old")
      assert.isUndefined(yield* loadDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:1"))
      yield* saveDeviceToken(dir, "dev", "operator", "other", [], "ws://127.0.0.1:1")
      assert.strictEqual(yield* loadDeviceToken(dir, "dev", "operator", "ws://127.0.0.1:18789"), "old")
    }))
})
