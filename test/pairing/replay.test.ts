import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createPrivateKey, sign } from "node:crypto"
import { readFileSync } from "node:fs"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { payloadV3 } from "../../src/protocol/deviceAuth.ts"
import { homeWithConfig, serverLayer, TEST_TOKEN } from "../helpers/testGateway.ts"
import { openWs, type WsTestClient } from "../helpers/wsClient.ts"

const FIXTURES = new URL("../fixtures/openclaw-2026.9.6/", import.meta.url)
const read = (name: string) => readFileSync(new URL(name, FIXTURES), "utf8")
const frames = (name: string) =>
  read(name).trim().split("\n").map((l) => JSON.parse(l) as { dir: string; who: string; frame: string }).map((r) => ({ dir: r.dir, who: r.who, frame: JSON.parse(r.frame) }))

const identities: Record<string, { privateKeyPem: string }> = Object.fromEntries(
  [...Object.values(JSON.parse(read("pairing-identities.json"))), JSON.parse(read("pairing-remote-identity.json"))].map((i: any) => [i.deviceId, i])
)
const REMOTE_DEVICE = JSON.parse(read("pairing-remote-identity.json")).deviceId as string
// node.* pairing arrives with the nodes work; the replay checks everything else.
const NOT_YET_SERVED = new Set(["node.pair.list"])

layer(serverLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"] } })))("replay of OpenClaw's recorded pairing transcripts", (it) => {
  it.effect("answers each recorded request as OpenClaw did: same outcome, same error codes", () =>
    Effect.gen(function*() {
      const { url } = yield* GatewayServer
      const issued = new Map<string, string>()
      let pendingRemote: string | undefined
      const approveAsOwner = (requestId: string) =>
        Effect.scoped(Effect.gen(function*() {
          const c = yield* openWs(url)
          yield* c.next
          yield* c.send({ type: "req", id: "a", method: "connect", params: { minProtocol: 4, maxProtocol: 4, client: { id: "cli", version: "t", platform: "linux", mode: "cli" }, auth: { token: TEST_TOKEN }, scopes: ["operator.admin"] } })
          yield* c.nextMatching((f) => f.id === "a")
          yield* c.send({ type: "req", id: "b", method: "device.pair.approve", params: { requestId } })
          assert.strictEqual((yield* c.nextMatching((f) => f.id === "b")).ok, true)
        }))
      const replay = (name: string) =>
        Effect.gen(function*() {
          const recorded = frames(name)
          const answers = new Map(recorded.filter((r) => r.frame.type === "res").map((r) => [r.frame.id, r.frame]))
          const sockets = new Map<string, WsTestClient>()
          let compared = 0
          for (const { dir, frame, who } of recorded) {
            if (dir !== "c2s") continue
            if (NOT_YET_SERVED.has(frame.method)) continue
            const expected = answers.get(frame.id)
            const sendConnect = Effect.fnUntraced(function*() {
              const p = frame.params
              const remote = p.device?.id === REMOTE_DEVICE
              const socket = yield* openWs(url, remote ? { "x-forwarded-for": "203.0.113.7" } : {})
              sockets.set(who, socket)
              const challenge = yield* socket.nextMatching((f) => f.event === "connect.challenge")
              const auth = { ...p.auth, ...(p.auth.token === "secret" ? { token: TEST_TOKEN } : {}) }
              if (auth.deviceToken !== undefined) auth.deviceToken = issued.get(p.device.id) ?? "unknown"
              const params = { ...p, auth }
              if (p.device !== undefined) {
                const key = createPrivateKey(identities[p.device.id]!.privateKeyPem)
                const signedAt = challenge.payload.ts
                const text = payloadV3({
                  deviceId: p.device.id, clientId: p.client.id, clientMode: p.client.mode, role: p.role, scopes: p.scopes,
                  signedAtMs: signedAt, token: auth.token ?? auth.deviceToken ?? "", nonce: challenge.payload.nonce,
                  platform: p.client.platform, deviceFamily: p.client.deviceFamily
                })
                params.device = { ...p.device, signedAt, nonce: challenge.payload.nonce, signature: sign(null, Buffer.from(text), key).toString("base64url") }
              }
              yield* socket.send({ ...frame, params })
              return yield* socket.nextMatching((f) => f.type === "res" && f.id === frame.id)
            })
            let res: Record<string, any>
            if (frame.method === "connect") {
              res = yield* sendConnect()
              // Stricter than OpenClaw: a scope upgrade waits for approval even on loopback.
              if (expected?.ok === true && res.error?.details?.reason === "scope-upgrade") {
                yield* approveAsOwner(res.error.details.requestId)
                res = yield* sendConnect()
              }
            } else {
              yield* sockets.get(who)!.send(frame)
              res = yield* sockets.get(who)!.nextMatching((f) => f.type === "res" && f.id === frame.id)
            }
            if (expected === undefined) continue
            assert.strictEqual(res.ok, expected.ok, `${name} ${frame.method}: ${JSON.stringify(res.error)}`)
            if (!res.ok) {
              assert.strictEqual(res.error.code, expected.error.code, `${name} ${frame.method}`)
              assert.strictEqual(res.error.details?.code, expected.error.details?.code, `${name} ${frame.method}`)
              if (res.error.details?.code === "PAIRING_REQUIRED") pendingRemote = res.error.details.requestId
            }
            if (frame.method === "connect" && res.ok) {
              assert.strictEqual(typeof res.payload.auth.deviceToken, typeof expected.payload.auth.deviceToken, `${name} connect ${frame.params.client.id}`)
              if (res.payload.auth.deviceToken !== undefined) issued.set(frame.params.device.id, res.payload.auth.deviceToken)
            }
            if (frame.method === "device.pair.list") {
              assert.strictEqual(res.payload.pending.length, expected.payload.pending.length, `${name} pending`)
              assert.strictEqual(res.payload.paired.length > 0, expected.payload.paired.length > 0, `${name} paired`)
            }
            compared++
          }
          return compared
        }).pipe(Effect.scoped)

      assert.isAtLeast(yield* replay("pairing-try.jsonl"), 8)
      assert.isAtLeast(yield* replay("pairing-remote-try.jsonl"), 3)
      assert.isString(pendingRemote)
      yield* approveAsOwner(pendingRemote!)
      assert.isAtLeast(yield* replay("pairing-remote-retry.jsonl"), 2)
    }))
})
