import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { appendBounded, capMessage, textMessage } from "../../src/chat/transcript.ts"
import { make, sessionFileName } from "../../src/layers/ChatHistoryFile.ts"
import { MAX_MESSAGES_PER_SESSION, MAX_SESSIONS, MAX_STORED_CHARS } from "../../src/services/ChatHistory.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const msg = (i: number, role: "user" | "assistant" = "user") => textMessage(role, `m${i}`, i)

describe("ChatHistoryFile", () => {
  it.effect("keeps a session's messages across a restart, in files of mode 0600 named by a hash", () =>
    Effect.gen(function*() {
      const dir = join(tempDir("chat-history-"), "chat")
      const first = yield* make(dir)
      yield* first.append("main", [msg(1), msg(2, "assistant")])
      yield* first.append("../../etc/passwd", [msg(3)])
      const names = readdirSync(dir).sort()
      assert.deepStrictEqual(names, [sessionFileName("../../etc/passwd"), sessionFileName("main")].sort())
      assert.strictEqual(statSync(join(dir, sessionFileName("main"))).mode & 0o777, 0o600)
      const second = yield* make(dir)
      assert.deepStrictEqual((yield* second.read("main", 10)).map((m) => m.content[0]!.text), ["m1", "m2"])
      assert.deepStrictEqual((yield* second.read("main", 1)).map((m) => m.content[0]!.text), ["m2"])
      assert.deepStrictEqual(yield* second.read("unknown", 10), [])
    }))

  it("names a well-formed key's file as it always has, and never gives two keys one file, lone surrogates included", () => {
    assert.strictEqual(sessionFileName("main"), `${createHash("sha256").update("main").digest("hex").slice(0, 32)}.json`)
    const keys = ["main", "s-\uD800", "s-\uDC00", "s-\uFFFD", "s-\uD800\uDC00", "\u0000utf-16le\u0000s", "\u0000utf-16le\u0000\u0000\u0620\u0000", "\uD800\u00A0"]
    assert.strictEqual(new Set(keys.map(sessionFileName)).size, keys.length)
  })

  it.effect("a key whose file another key holds (a hash collision) starts its own transcript, never appends to the other's", () =>
    Effect.gen(function*() {
      const dir = join(tempDir("chat-history-"), "chat")
      yield* (yield* make(dir)).append("victim", [msg(1)])
      renameSync(join(dir, sessionFileName("victim")), join(dir, sessionFileName("other")))
      const history = yield* make(dir)
      yield* history.append("other", [msg(2)])
      assert.deepStrictEqual((yield* history.read("other", 10)).map((m) => m.content[0]!.text), ["m2"])
    }))

  it.effect("keeps at most MAX_MESSAGES_PER_SESSION messages, the newest", () =>
    Effect.gen(function*() {
      const dir = join(tempDir("chat-history-"), "chat")
      const h = yield* make(dir)
      for (let i = 0; i < MAX_MESSAGES_PER_SESSION + 5; i += 5) yield* h.append("s", [0, 1, 2, 3, 4].map((j) => msg(i + j)))
      const again = yield* make(dir)
      const kept = yield* again.read("s", 1000)
      assert.strictEqual(kept.length, MAX_MESSAGES_PER_SESSION)
      assert.strictEqual(kept[kept.length - 1]!.content[0]!.text, `m${MAX_MESSAGES_PER_SESSION + 4}`)
      assert.strictEqual(kept[0]!.content[0]!.text, "m5")
    }))

  it.effect("keeps at most MAX_SESSIONS sessions, dropping the least recently written", () =>
    Effect.gen(function*() {
      const dir = join(tempDir("chat-history-"), "chat")
      const h = yield* make(dir)
      for (let i = 0; i < MAX_SESSIONS; i++) yield* h.append(`s${i}`, [msg(i)])
      yield* h.append("s0", [msg(1000)]) // s0 is now the most recent; s1 the oldest
      yield* h.append("new", [msg(1001)])
      assert.strictEqual(readdirSync(dir).length, MAX_SESSIONS)
      assert.deepStrictEqual(yield* h.read("s1", 10), [])
      assert.strictEqual((yield* h.read("s0", 10)).length, 2)
      assert.strictEqual((yield* h.read("new", 10)).length, 1)
    }))

  it.effect("moves a corrupt session file aside with a logged reason and starts that session empty", () =>
    Effect.gen(function*() {
      const dir = join(tempDir("chat-history-"), "chat")
      const h = yield* make(dir)
      yield* h.append("main", [msg(1)])
      writeFileSync(join(dir, sessionFileName("main")), "{ not json")
      const again = yield* make(dir)
      assert.deepStrictEqual(yield* again.read("main", 10), [])
      assert.isTrue(readdirSync(dir).some((n) => n.startsWith(`${sessionFileName("main")}.corrupt-`)))
      yield* again.append("main", [msg(2)])
      assert.deepStrictEqual((yield* again.read("main", 10)).map((m) => m.content[0]!.text), ["m2"])
      assert.include(readFileSync(join(dir, sessionFileName("main")), "utf8"), "\"m2\"")
    }))
})

describe("transcript policy", () => {
  it.prop("appendBounded keeps the newest messages, never more than the cap", {
    n: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 })),
    m: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 })),
    cap: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 30 }))
  }, ({ cap, m, n }) => {
    const existing = Array.from({ length: n }, (_, i) => msg(i))
    const added = Array.from({ length: m }, (_, i) => msg(n + i))
    const out = appendBounded(existing, added, cap, 100)
    assert.strictEqual(out.length, Math.min(cap, n + m))
    if (out.length > 0) assert.strictEqual(out[out.length - 1]!.timestamp, n + m - 1)
  }, { arbitrary: { runs: 200 } })

  it("cuts long text and says how much", () => {
    const long = textMessage("assistant", "x".repeat(MAX_STORED_CHARS + 10), 0)
    const cut = capMessage(long, MAX_STORED_CHARS).content[0]!.text
    assert.isTrue(cut.startsWith("x".repeat(MAX_STORED_CHARS)))
    assert.include(cut, "10 more characters not kept")
  })
})
