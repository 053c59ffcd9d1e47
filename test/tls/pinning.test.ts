import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createServer, type Server } from "node:net"
import { TLSSocket } from "node:tls"
import * as PinStoreMemory from "../../src/layers/PinStoreMemory.ts"
import * as TransportDirect from "../../src/layers/TransportDirect.ts"
import { callRpc, openSession, type Target } from "../../src/programs/gatewayClient.ts"
import { confirmFirstUse, decidePin } from "../../src/programs/tlsPin.ts"
import { Health, Status } from "../../src/protocol/rpcs/core.ts"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { PinStore } from "../../src/services/PinStore.ts"
import { generateCertificate, type TlsMaterial } from "../../src/tls/certificate.ts"
import { colonForm } from "../../src/tls/fingerprint.ts"
import { serverLayer, TEST_TOKEN, testEnv } from "../helpers/testGateway.ts"

const token = Redacted.make(TEST_TOKEN)

const newCertificate = (): Effect.Effect<TlsMaterial> =>
  generateCertificate(mkdtempSync(join(tmpdir(), "gatehouse-cert-"))).pipe(Effect.provide(NodeServices.layer), Effect.orDie)

interface Received {
  readonly bytes: Buffer
}

/** A TLS server presenting `cert` that records every application byte each connection sent, reported when it closes. */
const recordingServer = (cert: TlsMaterial) =>
  Effect.gen(function*() {
    const closed = yield* Queue.unbounded<Received>()
    const server = yield* Effect.acquireRelease(
      Effect.callback<Server>((resume) => {
        // TLS over each raw socket by hand, so a connection is reported when its TCP socket closes,
        // whether or not this side ever finished the handshake.
        const s = createServer((raw) => {
          const chunks: Array<Buffer> = []
          const sock = new TLSSocket(raw, { isServer: true, cert: cert.cert, key: cert.key, ALPNProtocols: ["http/1.1"] })
          sock.on("data", (d: Buffer) => {
            chunks.push(d)
            // The end of an HTTP request: enough to show what got through; the client then sees a hang-up.
            if (Buffer.concat(chunks).includes("\r\n\r\n")) raw.destroy()
          })
          sock.on("error", () => raw.destroy())
          raw.on("error", () => undefined)
          raw.once("close", () => Queue.offerUnsafe(closed, { bytes: Buffer.concat(chunks) }))
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.callback<void>((resume) => void s.close(() => resume(Effect.void)))
    )
    const port = (server.address() as { port: number }).port
    return { url: `wss://127.0.0.1:${port}`, nextClosed: Queue.take(closed) }
  })

describe("pinning against a server that records every byte", () => {
  it.live("with a wrong pin or none, not one byte after the TLS handshake reaches the server", () =>
    Effect.gen(function*() {
      const [pinned, impostor] = yield* Effect.all([newCertificate(), newCertificate()], { concurrency: 2 })
      const server = yield* recordingServer(impostor)
      const wrong = yield* openSession({ url: server.url, token, tls: { fingerprint: pinned.fingerprint, pinnedBy: "the test's pin" } }).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(wrong.code, "TLS_PIN_MISMATCH")
      assert.include(wrong.message, "the gateway's certificate changed")
      assert.include(wrong.message, pinned.fingerprint)
      assert.include(wrong.message, impostor.fingerprint)
      assert.include(wrong.message, `--trust-fingerprint ${impostor.fingerprint}`)
      assert.strictEqual((yield* server.nextClosed).bytes.length, 0)

      const none = yield* openSession({ url: server.url, token }).pipe(Effect.scoped, Effect.flip)
      assert.strictEqual(none.code, "TLS_UNPINNED")
      assert.include(none.message, impostor.fingerprint)
      assert.strictEqual((yield* server.nextClosed).bytes.length, 0)

      // Control: with the certificate's own pin the upgrade request does reach the recorder.
      yield* openSession({ url: server.url, token, tls: { fingerprint: impostor.fingerprint, pinnedBy: "the test's pin" } }).pipe(
        Effect.scoped,
        Effect.flip
      )
      const through = (yield* server.nextClosed).bytes.toString("latin1")
      assert.match(through, /^GET \/ HTTP\/1\.1\r\n/)
      assert.match(through, /upgrade: websocket/i)
    }).pipe(Effect.provide(TransportDirect.layer)))
})

layer(serverLayer({ tls: true }, testEnv()))("a gateway with TLS on", (it) => {
  it.effect("serves wss:// with a generated certificate and reports its fingerprint in status", () =>
    Effect.gen(function*() {
      const server = yield* GatewayServer
      assert.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+$/)
      assert.match(server.tlsFingerprint ?? "", /^[0-9a-f]{64}$/)
      const { payload } = yield* callRpc({ url: server.url, token, tls: { fingerprint: server.tlsFingerprint!, pinnedBy: "test" } }, Status, {})
      assert.deepStrictEqual(payload.gateway.tls, { enabled: true, sha256: server.tlsFingerprint! })
      const certPath = join(payload.gateway.stateDir!, "tls", "gateway-cert.pem")
      const printed = execFileSync("openssl", ["x509", "-in", certPath, "-noout", "-fingerprint", "-sha256"], { encoding: "utf8" })
      assert.strictEqual(printed.trim().split("=")[1], colonForm(server.tlsFingerprint!))
    }).pipe(Effect.provide(TransportDirect.layer)))

  it.effect("stores a --trust-fingerprint pin only once the gateway presented it, and never an advertised one", () =>
    Effect.gen(function*() {
      const server = yield* GatewayServer
      const store = yield* PinStore
      const rogue = (yield* newCertificate()).fingerprint
      const connect = (flags: Parameters<typeof decidePin>[1]) =>
        Effect.flatMap(decidePin(server.url, flags, undefined), (tls) => callRpc({ url: server.url, token, tls }, Health, {}))

      const advertised = yield* Effect.flip(connect({ advertised: rogue }))
      assert.strictEqual(advertised._tag === "GatewayCallError" && advertised.code, "TLS_UNPINNED")
      assert.deepStrictEqual(yield* store.list, [])

      const mistrusted = yield* Effect.flip(connect({ trustFingerprint: colonForm(rogue) }))
      assert.strictEqual(mistrusted._tag === "GatewayCallError" && mistrusted.code, "TLS_PIN_MISMATCH")
      assert.deepStrictEqual(yield* store.list, [])

      yield* connect({ trustFingerprint: colonForm(server.tlsFingerprint!).toLowerCase() })
      const [pin] = yield* store.list
      assert.strictEqual(pin?.fingerprint, server.tlsFingerprint)

      const stored = yield* connect({ advertised: rogue })
      assert.isTrue(stored.payload.ok)
      assert.strictEqual((yield* store.list)[0]?.fingerprint, server.tlsFingerprint)
    }).pipe(Effect.provide([TransportDirect.layer, PinStoreMemory.layer()])))

  it.effect("asks on first use, pins only on yes, and only once the gateway presented that certificate", () =>
    Effect.gen(function*() {
      const server = yield* GatewayServer
      const store = yield* PinStore
      const questions: Array<string> = []
      const answering = (yes: boolean) => (question: string) => Effect.sync(() => (questions.push(question), yes))

      const target: Target = { url: server.url, token }
      const declined = yield* confirmFirstUse(target, answering(false), 5_000)
      assert.isUndefined(declined.tls)
      assert.include(questions[0], server.tlsFingerprint!)
      assert.strictEqual((yield* Effect.flip(callRpc(declined, Health, {}))).code, "TLS_UNPINNED")
      assert.deepStrictEqual(yield* store.list, [])

      const accepted = yield* confirmFirstUse(target, answering(true), 5_000)
      assert.strictEqual(accepted.tls?.fingerprint, server.tlsFingerprint)
      assert.deepStrictEqual(yield* store.list, [])
      yield* callRpc(accepted, Health, {})
      assert.strictEqual((yield* store.list)[0]?.fingerprint, server.tlsFingerprint)

      const pinned = yield* confirmFirstUse(accepted, answering(true), 5_000)
      assert.strictEqual(pinned, accepted)
      assert.strictEqual(questions.length, 2)
    }).pipe(Effect.provide([TransportDirect.layer, PinStoreMemory.layer()])))
})
