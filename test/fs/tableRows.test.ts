import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { mkdirSync, readFileSync } from "node:fs"
import { inspect } from "node:util"
import { join } from "node:path"
import { journalPath, makeJournalStore } from "../../src/fs/journalStore.ts"
import { changedKeys, rowCount, withoutRow, withRow } from "../../src/fs/tableRows.ts"
import { devicePairingStore } from "../../src/layers/pairingOnBackend.ts"
import { emptyPairingState, type PairedDevice, PairingState } from "../../src/pairing/model.ts"
import { own } from "../../src/pairing/records.ts"
import { documentBackend } from "../../src/pairing/stateBackend.ts"
import { device, noCompaction } from "../helpers/journalFixtures.ts"
import { tempHome } from "../helpers/testGateway.ts"


const fresh = () => {
  const dir = join(tempHome(), "devices")
  mkdirSync(dir, { recursive: true })
  return join(dir, "pairing.json")
}
const journalLines = (path: string) =>
  readFileSync(journalPath(path), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).ops as Array<Array<unknown>>)

// One change: set rows with `withRow` (one or two steps), set one by a plain copy, or delete one.
const Step = Schema.Struct({
  how: Schema.Literals(["withRow", "withRowTwice", "spread", "delete"]),
  key: Schema.Literals(["a", "b", "c", "__proto__", "constructor"]),
  other: Schema.Literals(["a", "b", "c", "__proto__"]),
  n: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }))
})

describe("rows that remember what they changed", () => {
  it("withRow sets one own row and leaves the old table as it was", () => {
    const before = { a: 1 } as Record<string, number>
    const after = withRow(before, "__proto__", 2)
    assert.deepStrictEqual(before, { a: 1 })
    assert.strictEqual(Object.getPrototypeOf(after), Object.prototype)
    assert.deepStrictEqual(Object.keys(after), ["a", "__proto__"])
    assert.deepStrictEqual(changedKeys(before, after), ["__proto__"])
    assert.deepStrictEqual(changedKeys(before, withRow(after, "b", 3)), ["b", "__proto__"])
    assert.strictEqual(changedKeys(before, { ...after }), undefined, "a table not made by withRow is unknown")
    assert.strictEqual(changedKeys(after, before), undefined)
  })

  it.effect("a transaction touching one row of 2000 journals exactly that row", () =>
    Effect.gen(function*() {
      const path = fresh()
      const file = yield* makeJournalStore(path, PairingState, emptyPairingState, noCompaction)
      const paired: Record<string, PairedDevice> = {}
      for (let i = 0; i < 2000; i++) paired[`d${i}`] = device(`d${i}`, i)
      yield* file.modify((s) => [undefined, { ...s, paired }] as const)
      const store = devicePairingStore(documentBackend(file))
      yield* store.rename("d1234", "kitchen")
      const last = journalLines(path).at(-1)!
      assert.strictEqual(last.length, 1)
      assert.strictEqual(last[0]![0], "paired")
      assert.strictEqual(last[0]![1], "d1234")
      assert.strictEqual((last[0]![2] as PairedDevice).label, "kitchen")
    }))

  it.effect.prop(
    "the journal of any mix of changes replays to the same state, one op per changed row",
    { steps: Schema.Array(Step).check(Schema.isMaxLength(25)) },
    ({ steps }) =>
      Effect.gen(function*() {
        const path = fresh()
        const store = yield* makeJournalStore(path, PairingState, emptyPairingState, noCompaction)
        let changes = 0
        for (const { how, key, n, other } of steps) {
          const before = yield* store.get
          // withRow builds exactly the table the object spread it replaced in the transitions did (rows and order).
          const row = device(key, n)
          assert.deepStrictEqual(Object.entries(withRow(before.paired, key, row)), Object.entries({ ...before.paired, [key]: row }))
          yield* store.modify((s) => {
            const paired = how === "withRow"
              ? withRow(s.paired, key, device(key, n))
              : how === "withRowTwice"
              ? withRow(withRow(s.paired, key, device(key, n)), other, device(other, n + 1))
              : how === "spread"
              ? { ...s.paired, [key]: device(key, n) }
              : Object.fromEntries(Object.entries(s.paired).filter(([k]) => k !== key))
            return [undefined, { ...s, paired }] as const
          })
          const after = yield* store.get
          const keys = [...new Set([...Object.keys(before.paired), ...Object.keys(after.paired)])]
          const differing = keys.filter((k) =>
            Object.hasOwn(before.paired, k) !== Object.hasOwn(after.paired, k) ||
            (Object.hasOwn(after.paired, k) && before.paired[k] !== after.paired[k])
          ).length
          if (differing > 0) {
            changes++
            assert.strictEqual(journalLines(path).at(-1)!.length, differing)
          }
          assert.strictEqual(journalLines(path).length, changes)
        }
        const reopened = yield* (yield* makeJournalStore(path, PairingState, emptyPairingState, noCompaction)).get
        assert.deepStrictEqual(reopened, yield* store.get)
      }),
    { arbitrary: { runs: 60 } }
  )

  it("withoutRow drops one own row, remembers it, and returns the table itself when there is none", () => {
    const before = withRow({ a: 1, b: 2 } as Record<string, number>, "c", 3)
    const after = withoutRow(before, "b")
    assert.deepStrictEqual(Object.entries(after), [["a", 1], ["c", 3]])
    assert.deepStrictEqual(Object.entries(before), [["a", 1], ["b", 2], ["c", 3]])
    assert.deepStrictEqual(changedKeys(before, after), ["b"])
    assert.strictEqual(withoutRow(after, "b"), after)
    assert.strictEqual(withoutRow(after, "toString"), after, "an inherited name is not a row")
    assert.strictEqual(rowCount(after), 2)
  })

  it("a persistent table is read-only, looks like a plain record, and prints its rows", () => {
    const table = withRow({} as Record<string, number>, "a", 1)
    assert.throws(() => {
      ;(table as Record<string, number>).b = 2
    }, TypeError)
    assert.throws(() => {
      delete (table as Record<string, number>).a
    }, TypeError)
    assert.throws(() => Object.defineProperty(table, "c", { value: 3 }), TypeError)
    assert.deepStrictEqual(Object.entries(table), [["a", 1]])
    assert.strictEqual(Object.getPrototypeOf(table), Object.prototype)
    assert.strictEqual(Object.prototype.toString.call(table), "[object Object]")
    assert.isFalse(Object.hasOwn(table, "constructor"))
    assert.strictEqual(own(table, "constructor"), undefined)
    assert.strictEqual(JSON.stringify(table), `{"a":1}`)
    assert.strictEqual(inspect(table), "{ a: 1 }")
  })

  it.prop(
    "any mix of withRow and withoutRow reads exactly like the same changes made to a plain record, and older tables never change",
    {
      steps: Schema.Array(Schema.Struct({
        set: Schema.Boolean,
        key: Schema.Literals(["a", "b", "10", "2", "0", "__proto__", "constructor", "toString", "hasOwnProperty"]),
        n: Schema.Int
      })).check(Schema.isMaxLength(40)),
      persistentFrom: Schema.Boolean
    },
    ({ persistentFrom, steps }) => {
      const keys = ["a", "b", "10", "2", "0", "__proto__", "constructor", "toString", "hasOwnProperty", "c"]
      const start: Record<string, number> = { z: 0 }
      let table: Readonly<Record<string, number>> = persistentFrom ? withRow(start, "y", 1) : start
      let plain: Record<string, number> = { ...table }
      const history: Array<readonly [Readonly<Record<string, number>>, string]> = []
      for (const { key, n, set } of steps) {
        history.push([table, JSON.stringify(Object.entries(table))])
        table = set ? withRow(table, key, n) : withoutRow(table, key)
        if (set) Object.defineProperty(plain, key, { value: n, enumerable: true, writable: true, configurable: true })
        else plain = Object.fromEntries(Object.entries(plain).filter(([k]) => k !== key))
        assert.deepStrictEqual(Object.entries(table), Object.entries(plain))
        assert.deepStrictEqual(Object.entries({ ...table }), Object.entries(plain))
        assert.strictEqual(JSON.stringify(table), JSON.stringify(plain))
        assert.strictEqual(rowCount(table), Object.keys(plain).length)
        for (const k of keys) {
          assert.strictEqual(Object.hasOwn(table, k), Object.hasOwn(plain, k), k)
          assert.strictEqual(own(table, k), own(plain, k), k)
          assert.strictEqual(k in table, k in plain, k)
        }
      }
      for (const [old, entries] of history) assert.strictEqual(JSON.stringify(Object.entries(old)), entries)
    },
    { arbitrary: { runs: 200 } }
  )

  it("setting one row costs O(log n): 20 000 successive rows take well under the time copying would", () => {
    // Copying each table would move 200 million rows here (tens of seconds); the persistent table takes ~0.1 s.
    const started = performance.now()
    let table: Readonly<Record<string, number>> = {}
    for (let i = 0; i < 20_000; i++) table = withRow(table, `d${i}`, i)
    assert.strictEqual(rowCount(table), 20_000)
    assert.strictEqual(own(table, "d12345"), 12345)
    assert.isBelow(performance.now() - started, 3000)
  })
})
