import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { homeWithConfig } from "../helpers/testGateway.ts"

const FP = "5d154b4e1d09286c44e5f3be60e089033ccbe7c8b8e209a21958c10b050cdc2b"
const colon = FP.toUpperCase().match(/../g)!.join(":")

describe("TLS config", () => {
  it.effect("reads gateway.tls.* and gateway.remote.tlsFingerprint (any form) as known keys; --tls wins", () =>
    Effect.gen(function*() {
      const env = homeWithConfig({ gateway: { tls: { enabled: false, certPath: "/etc/gw/cert.pem", keyPath: "/etc/gw/key.pem" }, remote: { tlsFingerprint: colon } } })
      const { config } = yield* GatewayConfig.make({}, env)
      assert.deepStrictEqual(config.tls, { enabled: { value: false, source: "file" }, certPath: "/etc/gw/cert.pem", keyPath: "/etc/gw/key.pem" })
      assert.strictEqual(config.remote.tlsFingerprint, FP)
      assert.deepStrictEqual(config.file.unknownKeys, [])
      assert.deepStrictEqual((yield* GatewayConfig.make({ tls: true }, env)).config.tls.enabled, { value: true, source: "flag" })
    }))

  it.effect("refuses a certificate without its key, and a remote pin that is not a SHA-256", () =>
    Effect.gen(function*() {
      const half = yield* Effect.flip(GatewayConfig.make({}, homeWithConfig({ gateway: { tls: { certPath: "/etc/gw/cert.pem" } } })))
      assert.include(half.message, "must be set together")
      const bad = yield* Effect.flip(GatewayConfig.make({}, homeWithConfig({ gateway: { remote: { tlsFingerprint: FP.slice(2) } } })))
      assert.include(bad.message, "gateway.remote.tlsFingerprint")
    }))
})
