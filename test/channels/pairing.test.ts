import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { approve, CODE_TTL_MS, emptyPairing, MAX_PENDING, type PairingState, request } from "../../src/channels/dmPairing.ts"
import { join } from "node:path"
import { modifyPairing, pairingPath, readPairing } from "../../src/channels/dmPairingFile.ts"
import { randomPairingCode } from "../../src/channels/telegram.ts"
import { Agent } from "../../src/services/Agent.ts"
import { fakeTelegram } from "../helpers/fakeTelegram.ts"
import { memoryOperator } from "../helpers/memoryNode.ts"
import { coreLayer, homeWithConfig } from "../helpers/testGateway.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
const config = (apiRoot: string, dmPolicy: string) => ({
  channels: { telegram: { enabled: true, botToken: TOKEN, apiRoot, allowFrom: [111], dmPolicy } }
})

describe("DM pairing policy", () => {
  const Sender = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 }))
  it.prop("never keeps more than MAX_PENDING codes, a sender asking again keeps their code, and an approved code admits its sender", {
    senders: Schema.Array(Sender)
  }, ({ senders }) => {
    let state: PairingState = emptyPairing
    let n = 0
    const codes = new Map<string, string>()
    for (const s of senders) {
      const [entry, next] = request(state, { userId: String(s), chatId: String(s) }, 1000 + n, () => `C${n++}`)
      const earlier = codes.get(String(s))
      if (earlier !== undefined && state.pending.some((p) => p.code === earlier)) assert.strictEqual(entry.code, earlier)
      codes.set(String(s), entry.code)
      state = next
      assert.isAtMost(state.pending.length, MAX_PENDING)
    }
    for (const p of state.pending) {
      const [hit, after] = approve(state, p.code.toLowerCase(), 2000)
      assert.strictEqual(hit?.userId, p.userId)
      assert.include(after.approved, p.userId)
      assert.isFalse(after.pending.some((q) => q.code === p.code))
    }
  }, { arbitrary: { runs: 200 } })

  it("a code expires after an hour, and an unknown code approves nobody", () => {
    const [entry, state] = request(emptyPairing, { userId: "5", chatId: "5" }, 0, () => "ABCDEFGH")
    assert.strictEqual(approve(state, entry.code, CODE_TTL_MS - 1)[0]?.userId, "5")
    const [late, after] = approve(state, entry.code, CODE_TTL_MS)
    assert.isUndefined(late)
    assert.deepStrictEqual(after.pending, [])
    assert.isUndefined(approve(state, "NOPE", 0)[0])
  })

  it("random codes use the alphabet without look-alikes", () => {
    for (let i = 0; i < 50; i++) assert.match(randomPairingCode(), /^[A-HJ-NP-Z2-9]{8}$/)
  })

  it.effect("a corrupt pairing file is an error that says what to do, and is left as it is", () =>
    Effect.gen(function*() {
      const env = homeWithConfig({})
      const path = pairingPath(env.OPENCLAW_STATE_DIR, "telegram")
      yield* modifyPairing(path, (s) => request(s, { userId: "1", chatId: "1" }, 0, () => "AAAAAAAA"))
      const { writeFileSync, readFileSync } = yield* Effect.promise(() => import("node:fs"))
      writeFileSync(path, "[1,2")
      const error = yield* Effect.flip(readPairing(path))
      assert.include(error.message, "fix or remove it")
      assert.strictEqual(readFileSync(path, "utf8"), "[1,2")
    }))
})

describe("telegram under dmPolicy pairing", () => {
  it.live("an unknown sender gets a code; once approved (channels.pairing.approve) they are answered, and exchanges go to the chat's history", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(config(tg.apiRoot, "pairing"))
      yield* Effect.gen(function*() {
        tg.deliver(222, "/help")
        const [first] = yield* tg.sentCount(1)
        assert.strictEqual(first!.chat_id, 222)
        const code = /Pairing code: ([A-Z0-9]{8})/.exec(first!.text)?.[1]
        assert.isDefined(code)
        assert.include(first!.text, `gatehouse pairing approve telegram ${code}`)
        tg.deliver(222, "/help again")
        const second = yield* tg.sentCount(2)
        assert.include(second[1]!.text, `Pairing code: ${code}`)
        const reader = yield* memoryOperator(["operator.read"])
        assert.strictEqual((yield* reader.call("channels.pairing.list", {})).error.code, "FORBIDDEN")
        const owner = yield* memoryOperator(["operator.pairing"])
        const listed = yield* owner.call("channels.pairing.list", { channel: "telegram" })
        assert.deepStrictEqual(listed.payload.pending.map((p: any) => [p.channel, p.code, p.userId]), [["telegram", code, "222"]])
        const wrong = yield* owner.call("channels.pairing.approve", { channel: "telegram", code: "ZZZZZZZZ" })
        assert.strictEqual(wrong.error.details.code, "CODE_UNKNOWN")
        const approved = yield* owner.call("channels.pairing.approve", { channel: "telegram", code: code!.toLowerCase() })
        assert.deepStrictEqual(approved.payload, { ok: true, channel: "telegram", userId: "222", chatId: "222" })
        assert.deepStrictEqual((yield* owner.call("channels.pairing.list", {})).payload.pending, [])
        tg.deliver(222, "/help")
        const third = yield* tg.sentCount(3)
        assert.include(third[2]!.text, "/run <node> <command>")
        const op = yield* memoryOperator(["operator.read"])
        const history = yield* op.call("chat.history", { sessionKey: "telegram:222" })
        assert.deepStrictEqual(history.payload.messages.map((m: any) => [m.role, m.content[0].text.slice(0, 5)]), [["user", "/help"], ["assistant", "I am "]])
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))

  it.live("under allowlist an unknown sender gets no code", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const env = homeWithConfig(config(tg.apiRoot, "allowlist"))
      yield* Effect.gen(function*() {
        tg.deliver(222, "/help")
        const [first] = yield* tg.sentCount(1)
        assert.include(first!.text, "not allowed")
        assert.notInclude(first!.text, "Pairing code")
        assert.deepStrictEqual((yield* readPairing(pairingPath(env.OPENCLAW_STATE_DIR, "telegram"))).pending, [])
      }).pipe(Effect.provide(coreLayer({}, env)))
    }).pipe(Effect.scoped))
})

describe("telegram concurrency", () => {
  it.live("a slow answer in one chat does not hold up another chat; one chat's answers stay in order", () =>
    Effect.gen(function*() {
      const tg = yield* fakeTelegram(TOKEN)
      const release = yield* Deferred.make<void>()
      const agent = Layer.succeed(Agent, Agent.of({
        reply: (m) => m.text === "slow" ? Effect.as(Deferred.await(release), "slow done") : Effect.succeed(`fast ${m.text}`)
      }))
      const env = homeWithConfig({ channels: { telegram: { enabled: true, botToken: TOKEN, apiRoot: tg.apiRoot, allowFrom: [111, 333], dmPolicy: "allowlist" } } })
      yield* Effect.gen(function*() {
        tg.deliver(111, "slow")
        tg.deliver(111, "after")
        tg.deliver(333, "other")
        const [first] = yield* tg.sentCount(1)
        assert.deepStrictEqual([first!.chat_id, first!.text], [333, "fast other"])
        yield* Deferred.succeed(release, undefined)
        const all = yield* tg.sentCount(3)
        assert.deepStrictEqual(all.map((m) => [m.chat_id, m.text]), [[333, "fast other"], [111, "slow done"], [111, "fast after"]])
      }).pipe(Effect.provide(coreLayer({}, env, { agent })))
    }).pipe(Effect.scoped))
})


describe("pairing file lock", () => {
  it.live("concurrent changes from many writers all land (none is lost), and no lock file is left", () =>
    Effect.gen(function*() {
      const env = homeWithConfig({})
      const path = pairingPath(env.OPENCLAW_STATE_DIR, "telegram")
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        modifyPairing(path, (s) => [undefined, { ...s, approved: [...s.approved, String(i)] }]), { concurrency: "unbounded" })
      const state = yield* readPairing(path)
      assert.strictEqual(new Set(state.approved).size, 20)
      const { existsSync } = yield* Effect.promise(() => import("node:fs"))
      assert.isFalse(existsSync(`${path}.lock`))
    }))

  it.live("a lock left by a crashed process is taken over once stale", () =>
    Effect.gen(function*() {
      const env = homeWithConfig({})
      const path = pairingPath(env.OPENCLAW_STATE_DIR, "telegram")
      const fs = yield* Effect.promise(() => import("node:fs"))
      fs.mkdirSync(join(env.OPENCLAW_STATE_DIR, "channels"), { recursive: true })
      fs.writeFileSync(`${path}.lock`, "")
      const old = new Date(Date.now() - 60_000)
      fs.utimesSync(`${path}.lock`, old, old)
      yield* modifyPairing(path, (s) => [undefined, { ...s, approved: ["9"] }])
      assert.deepStrictEqual((yield* readPairing(path)).approved, ["9"])
    }))
})
