import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type CompactionPolicy, journalPath, makeJournalStore } from "../../src/fs/journalStore.ts"
import { emptyPairingState, PairingState } from "../../src/pairing/model.ts"
import { device, noCompaction } from "../helpers/journalFixtures.ts"
import { tempHome } from "../helpers/testGateway.ts"


const open = (path: string, policy?: CompactionPolicy) => makeJournalStore(path, PairingState, emptyPairingState, policy)
const pair = (id: string, n: number) => (s: PairingState) => [undefined, { ...s, paired: { ...s.paired, [id]: device(id, n) } }] as const
const unpair = (id: string) => (s: PairingState) => {
  const { [id]: _gone, ...paired } = s.paired
  return [undefined, { ...s, paired }] as const
}
const ids = (s: PairingState) => Object.keys(s.paired).sort()
const fresh = () => {
  const dir = join(tempHome(), "devices")
  mkdirSync(dir, { recursive: true })
  return join(dir, "pairing.json")
}

describe("journaled pairing store", () => {
  it.effect("reopens with every change, in files of mode 0600", () =>
    Effect.gen(function*() {
      const path = fresh()
      const store = yield* open(path)
      for (let i = 0; i < 5; i++) yield* store.modify(pair(`d${i}`, i))
      yield* store.modify(unpair("d2"))
      yield* store.modify(pair("__proto__", 9))
      const again = yield* (yield* open(path)).get
      assert.deepStrictEqual(ids(again), ["__proto__", "d0", "d1", "d3", "d4"])
      assert.strictEqual(Object.getPrototypeOf(again.paired), Object.prototype, "__proto__ is a row, not a prototype")
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
      assert.strictEqual(statSync(journalPath(path)).mode & 0o777, 0o600)
    }))

  it.effect("appends only the changed rows, and compacts when the journal outgrows the snapshot", () =>
    Effect.gen(function*() {
      const path = fresh()
      const store = yield* open(path, { ratio: 2, minBytes: 2048 })
      let maxJournal = 0
      for (let i = 0; i < 200; i++) {
        yield* store.modify(pair(`d${i}`, i))
        maxJournal = Math.max(maxJournal, statSync(journalPath(path)).size)
        const line = readFileSync(journalPath(path), "utf8").trim().split("\n").at(-1) ?? ""
        if (line !== "") assert.strictEqual(JSON.parse(line).ops.length, 1, "one row per change, not the document")
      }
      const snapshot = statSync(path).size
      assert.isAbove(snapshot, 2048, "compaction has written the snapshot")
      assert.isAtMost(statSync(journalPath(path)).size, Math.max(2 * snapshot, 2048) + 1024)
      assert.strictEqual(ids(yield* (yield* open(path)).get).length, 200)
    }))

  it.effect("a journal cut at any byte reopens as the changes whose lines are complete, warning about a torn tail", () =>
    Effect.gen(function*() {
      const path = fresh()
      const store = yield* open(path, noCompaction)
      const states: Array<Array<string>> = [ids(yield* store.get)]
      for (let i = 0; i < 4; i++) {
        yield* store.modify(pair(`d${i}`, i))
        states.push(ids(yield* store.get))
      }
      yield* store.modify(unpair("d1"))
      states.push(ids(yield* store.get))
      const snapshot = readFileSync(path)
      const journal = readFileSync(journalPath(path))
      for (let cut = 0; cut <= journal.length; cut++) {
        const copy = fresh()
        writeFileSync(copy, snapshot)
        writeFileSync(journalPath(copy), journal.subarray(0, cut))
        const logs: Array<string> = []
        const capture = Logger.layer([Logger.make(({ message }) => logs.push(String(message)))])
        const reopened = yield* Effect.flatMap(open(copy, noCompaction), (s) => s.get).pipe(Effect.provide(capture))
        const complete = journal.subarray(0, cut).filter((b) => b === 10).length
        assert.deepStrictEqual(ids(reopened), states[complete], `cut at byte ${cut}`)
        const torn = cut > 0 && journal[cut - 1] !== 10
        assert.strictEqual(logs.some((l) => l.includes("torn")), torn, `warning at byte ${cut}`)
        // Opening compacted the journal away, so the next append cannot follow a torn line.
        assert.strictEqual(statSync(journalPath(copy)).size, 0)
        if (cut % 64 === 0) assert.deepStrictEqual(ids(yield* (yield* open(copy)).get), states[complete])
      }
    }))

  it.effect("reads the old single-file state and keeps it", () =>
    Effect.gen(function*() {
      const path = fresh()
      const old = { version: 1, pending: {}, paired: { old: device("old", 1) }, setupCodes: {} }
      writeFileSync(path, JSON.stringify(old, null, 2) + "\n", { mode: 0o600 })
      const store = yield* open(path)
      yield* store.modify(pair("new", 2))
      assert.deepStrictEqual(ids(yield* (yield* open(path)).get), ["new", "old"])
    }))

  it.effect("a journal line that is not a record, before the last, is a clear error and changes nothing", () =>
    Effect.gen(function*() {
      const path = fresh()
      const store = yield* open(path, noCompaction)
      yield* store.modify(pair("a", 1))
      yield* store.modify(pair("b", 2))
      const lines = readFileSync(journalPath(path), "utf8").split("\n")
      lines[0] = "{ garbage"
      const corrupted = lines.join("\n")
      writeFileSync(journalPath(path), corrupted)
      const error = yield* Effect.flip(open(path))
      assert.include(error.message, "line 1 is not a journal record")
      assert.include(error.message, "Stop the gateway")
      assert.strictEqual(readFileSync(journalPath(path), "utf8"), corrupted)
    }))
})
