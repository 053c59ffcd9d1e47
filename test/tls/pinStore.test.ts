import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
import { readdirSync, statSync, writeFileSync } from "node:fs"
import * as PinStoreFile from "../../src/layers/PinStoreFile.ts"
import * as PinStoreMemory from "../../src/layers/PinStoreMemory.ts"
import { PinStore } from "../../src/services/PinStore.ts"
import { tempHome } from "../helpers/testGateway.ts"

const FP = "5d154b4e1d09286c44e5f3be60e089033ccbe7c8b8e209a21958c10b050cdc2b"
const OTHER = "0".repeat(64)

const contract = (name: string, make: () => Layer.Layer<PinStore, unknown>) =>
  describe(`PinStore (${name})`, () => {
    it.effect("keeps one normalised pin per endpoint, replaced only by another trust, and forgets it", () =>
      Effect.gen(function*() {
        const store = yield* PinStore
        assert.isUndefined(yield* store.get("gw.lan:18789"))
        yield* TestClock.adjust(1234)
        const pin = yield* store.trust("GW.lan:18789", FP.toUpperCase().match(/../g)!.join(":"), "trust-flag")
        assert.deepStrictEqual(pin, { endpoint: "gw.lan:18789", fingerprint: FP, pinnedAtMs: 1234 })
        assert.deepStrictEqual(yield* store.get("gw.lan:18789"), pin)
        yield* store.trust("gw.lan:18789", OTHER, "prompt")
        assert.strictEqual((yield* store.get("gw.lan:18789"))?.fingerprint, OTHER)
        const invalid = yield* Effect.flip(store.trust("gw.lan:18789", "not-a-fingerprint", "trust-flag"))
        assert.strictEqual(invalid.reason._tag, "InvalidFingerprint")
        assert.strictEqual((yield* store.get("gw.lan:18789"))?.fingerprint, OTHER)
        assert.isTrue(yield* store.forget("gw.lan:18789"))
        assert.isFalse(yield* store.forget("gw.lan:18789"))
        assert.deepStrictEqual(yield* store.list, [])
      }).pipe(Effect.provide(make())))
  })

contract("memory", () => PinStoreMemory.layer())
contract("file", () => PinStoreFile.layer(tempHome()))

describe("PinStore (file) on disk", () => {
  it.effect("persists pins atomically with mode 0600, and starts empty (everything unpinned) from a corrupt file", () =>
    Effect.gen(function*() {
      const dir = tempHome()
      yield* Effect.flatMap(PinStore, (s) => s.trust("10.0.0.2:18789", FP, "trust-flag")).pipe(Effect.provide(PinStoreFile.layer(dir)))
      const path = PinStoreFile.pinsPath(dir)
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
      assert.deepStrictEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [])
      const again = yield* Effect.flatMap(PinStore, (s) => s.get("10.0.0.2:18789")).pipe(Effect.provide(PinStoreFile.layer(dir)))
      assert.strictEqual(again?.fingerprint, FP)
      writeFileSync(path, "{ not json")
      const afterCorruption = yield* Effect.flatMap(PinStore, (s) => s.list).pipe(Effect.provide(PinStoreFile.layer(dir)))
      assert.deepStrictEqual(afterCorruption, [])
      assert.isTrue(readdirSync(dir).some((f) => f.startsWith("tls-pins.json.corrupt-")))
    }))
})
