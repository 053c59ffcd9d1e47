import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync, statSync, existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { REDACTED, redactText } from "../../src/config/redact.ts"
import { openLogFile } from "../../src/observability/logFile.ts"
import { connectParams, coreLayer, openMemory, testEnv } from "../helpers/testGateway.ts"
import { tempDir } from "../helpers/tempDirs.ts"

const call = (c: { push: (f: unknown) => Effect.Effect<void>; nextMatching: (p: (f: Record<string, any>) => boolean) => Effect.Effect<Record<string, any>> }, id: string, method: string, params: unknown = {}) =>
  Effect.andThen(c.push({ type: "req", id, method, params }), c.nextMatching((f) => f.type === "res" && f.id === id))

const connected = (scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const c = yield* openMemory()
    yield* c.next
    const hello = yield* call(c, "c", "connect", connectParams({ scopes }))
    assert.isTrue(hello.ok)
    return c
  })

describe("logs.tail", () => {
  const env = testEnv()
  const logFile = join(env.OPENCLAW_STATE_DIR, "logs", "gateway.log")

  it.effect("answers the gateway's log lines after a cursor, redacted, escaped, and also in the 0600 log file", () =>
    Effect.gen(function*() {
      const c = yield* connected(["operator.read"])
      yield* Effect.logWarning("upstream redis://admin:hunter2secret@10.0.0.5:6379 refused\nFAKE line", { token: "sk-abcdefghijklmnopqrstuvwxyz012345" })
      const first = yield* call(c, "t1", "logs.tail", { limit: 50 })
      assert.isTrue(first.ok, JSON.stringify(first))
      const p = first.payload
      assert.strictEqual(p.file, logFile)
      assert.isFalse(p.reset)
      const line = (p.lines as Array<string>).find((l) => l.includes("upstream"))
      assert.isDefined(line)
      assert.notInclude(line!, "hunter2secret")
      assert.notInclude(line!, "sk-abcdefghijklmnopqrstuvwxyz012345")
      const record = JSON.parse(line!)
      assert.strictEqual(record.level, "warn")
      assert.match(record.time, /^\d{4}-\d\d-\d\dT/)
      assert.include(record.message, "\\nFAKE line")
      assert.include(record.message, `redis://${REDACTED}@10.0.0.5:6379`)
      // Following: only what came after the cursor.
      yield* Effect.logWarning("second record")
      const next = yield* call(c, "t2", "logs.tail", { cursor: p.cursor })
      assert.deepStrictEqual((next.payload.lines as Array<string>).map((l) => JSON.parse(l).message), ["second record"])
      assert.strictEqual(next.payload.cursor, p.cursor + Buffer.byteLength(next.payload.lines[0]) + 1)
      // Bad input: a clear error, nothing changes.
      const bad = yield* call(c, "t3", "logs.tail", { limit: -1 })
      assert.strictEqual(bad.error.code, "INVALID_REQUEST")
      // The file gets the same lines, without blocking: wait for the writer.
      for (let i = 0; i < 100 && !(existsSync(logFile) && readFileSync(logFile, "utf8").includes("second record")); i++) {
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
      }
      const text = readFileSync(logFile, "utf8")
      assert.include(text, line!)
      assert.notInclude(text, "hunter2secret")
      assert.strictEqual(statSync(logFile).mode & 0o777, 0o600)
    }).pipe(Effect.provide(coreLayer({}, env))))

  it.effect("needs operator.read", () =>
    Effect.gen(function*() {
      const c = yield* connected([])
      const res = yield* call(c, "t", "logs.tail", {})
      assert.isFalse(res.ok)
      assert.include(res.error.message, "operator.read")
    }).pipe(Effect.provide(coreLayer())))
})

describe("secrets in log text", () => {
  it("are cut out in place, the rest kept", () => {
    assert.strictEqual(redactText("GET /hook?token=abc12345&x=1 from 10.0.0.1"), `GET /hook?token=${REDACTED}&x=1 from 10.0.0.1`)
    assert.strictEqual(redactText("Authorization: Bearer abcdefghijkl0123"), `Authorization: Bearer ${REDACTED}`)
    assert.strictEqual(redactText("key -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- ok"), `key ${REDACTED} ok`)
    assert.strictEqual(redactText("listening on ws://127.0.0.1:18789 with 3 token checks"), "listening on ws://127.0.0.1:18789 with 3 token checks")
    assert.strictEqual(redactText("bot https://api.telegram.org/bot123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/getUpdates"), `bot https://api.telegram.org/${REDACTED}/getUpdates`)
  })
})

describe("the rotating log file", () => {
  it.effect("rotates at its cap, keeps N old files, all 0600", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const path = join(dir, "logs", "gateway.log")
      const file = openLogFile({ path, maxBytes: 1000, keep: 2 })
      for (let i = 0; i < 100; i++) file.write(`{"n":${i},"pad":"${"x".repeat(80)}"}`)
      await file.close()
      const names = readdirSync(join(dir, "logs")).sort()
      assert.deepStrictEqual(names, ["gateway.log", "gateway.log.1", "gateway.log.2"])
      for (const name of names) {
        const p = join(dir, "logs", name)
        assert.isAtMost(statSync(p).size, 1100)
        assert.strictEqual(statSync(p).mode & 0o777, 0o600)
      }
      assert.strictEqual(statSync(join(dir, "logs")).mode & 0o777, 0o700)
      // The newest line is in the current file, and every line is whole.
      const current = readFileSync(path, "utf8").trim().split("\n")
      assert.strictEqual(JSON.parse(current.at(-1)!).n, 99)
    }))

  it.effect("drops lines over its queue cap and says how many, instead of growing memory", () =>
    Effect.promise(async () => {
      const path = join(tempDir(), "gateway.log")
      const file = openLogFile({ path, maxBytes: 1_000_000, keep: 1, maxQueuedBytes: 100 })
      for (let i = 0; i < 50; i++) file.write(`{"n":${i},"pad":"${"y".repeat(30)}"}`)
      await file.close()
      const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l))
      const notice = lines.find((l) => typeof l.message === "string" && /log lines dropped/.test(l.message))
      const kept = lines.filter((l) => typeof l.n === "number").length
      assert.isBelow(kept, 50)
      assert.strictEqual(Number(/^(\d+)/.exec(notice?.message ?? "")?.[1]), 50 - kept)
    }))
})
