/**
 * Persistent rows of a keyed table (a record of rows) that remember what they changed.
 *
 * `withRow` and `withoutRow` make a new table with one row set or removed in O(log n): the
 * table is a read-only record (a Proxy) over an effect `HashMap` that shares its structure
 * with the table it came from, so pairing the 10 000th device no longer copies 9 999 rows.
 * It reads like the plain record it replaces: own keys only (`__proto__` is data), keys in
 * the order a plain object keeps (integer-like first, then by first insertion), `JSON.stringify`,
 * spread and Schema encoding see exactly the rows; writing to it fails (it is immutable).
 * Unlike a plain record, `structuredClone` and `Object.freeze` throw on it (nothing here calls them), and
 * listing it (Object.keys/values/entries) costs 2–3× a plain record's: fine for the pending tables (at most 256
 * rows), and the paired tables are read by key.
 * It stays a record (rather than a HashMap in PairingState's type) so that every reader of the
 * state, the stores' Schema codecs and the PostgreSQL store's row diff work unchanged.
 * Each new table also notes its origin and key, so the journal store (src/fs/journalStore.ts)
 * journals only the rows that changed; tables not made this way are compared in full.
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { inspect } from "node:util"

// ---------------------------------------------------------------------------
// Persistent tables
// ---------------------------------------------------------------------------

// One row and its insertion number (a plain object's key order is first-insertion order).
interface Slot {
  readonly row: unknown
  readonly seq: number
}

// The rows behind a persistent table, and the next insertion number.
interface Rows {
  readonly map: HashMap.HashMap<string, Slot>
  readonly next: number
  // The keys in plain-object order, computed on first enumeration (the rows never change).
  keys?: ReadonlyArray<string>
}

// Where a persistent table's target keeps its rows (module-private; reached through the proxy too).
const ROWS = Symbol("tableRows.rows")

// The target every persistent table is a proxy of: no own rows, and a prototype that prints the
// rows for util.inspect (which shows a proxy's target, bypassing the traps) and inherits Object's.
const targetProto: object = Object.create(Object.prototype, {
  [inspect.custom]: {
    value: function(this: object, _depth: number, options: object) {
      return inspect({ ...this }, options)
    }
  }
})

const rowsOf = (table: object): Rows | undefined => (table as { readonly [ROWS]?: Rows })[ROWS]

const slotOf = (rows: Rows, key: string): Slot | undefined => Option.getOrUndefined(HashMap.get(rows.map, key))

// The rows of `table`: its own when it is persistent, else a copy of its own enumerable entries (O(n), once).
const rowsFrom = (table: object): Rows => {
  const known = rowsOf(table)
  if (known !== undefined) return known
  const entries = Object.entries(table)
  return { map: HashMap.fromIterable(entries.map(([key, row], seq): [string, Slot] => [key, { row, seq }])), next: entries.length }
}

// A canonical array index ("0", "17"): plain objects list these first, in numeric order.
const isIndex = (key: string) => {
  const n = Number(key)
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === key
}

const orderedKeys = (rows: Rows): ReadonlyArray<string> => {
  if (rows.keys !== undefined) return rows.keys
  const slots = Array.from(HashMap.entries(rows.map))
  const indexes = slots.filter(([k]) => isIndex(k)).sort(([a], [b]) => Number(a) - Number(b))
  const named = slots.filter(([k]) => !isIndex(k)).sort(([, a], [, b]) => a.seq - b.seq)
  rows.keys = [...indexes, ...named].map(([k]) => k)
  return rows.keys
}

// Reads go to the rows; anything else (prototype methods, symbols) to the empty target.
const handler: ProxyHandler<object> = {
  get: (target, key, receiver) => {
    const slot = typeof key === "string" ? slotOf(rowsOf(target)!, key) : undefined
    return slot !== undefined ? slot.row : Reflect.get(target, key, receiver)
  },
  has: (target, key) => (typeof key === "string" && slotOf(rowsOf(target)!, key) !== undefined) || Reflect.has(target, key),
  getOwnPropertyDescriptor: (target, key) => {
    if (typeof key !== "string") return Reflect.getOwnPropertyDescriptor(target, key)
    const slot = slotOf(rowsOf(target)!, key)
    return slot === undefined ? undefined : { value: slot.row, writable: false, enumerable: true, configurable: true }
  },
  ownKeys: (target) => [...orderedKeys(rowsOf(target)!)],
  // A plain record's prototype (the target's own only adds how util.inspect prints it).
  getPrototypeOf: () => Object.prototype,
  // Immutable: in strict code these throw a TypeError.
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
  setPrototypeOf: () => false,
  preventExtensions: () => false
}

const tableOf = <V>(rows: Rows): Record<string, V> => {
  const target = Object.create(targetProto) as object
  Object.defineProperty(target, ROWS, { value: rows, configurable: true }) // configurable: the proxy may leave it out of its keys
  return new Proxy(target, handler) as Record<string, V>
}

// ---------------------------------------------------------------------------
// Changes that remember their origin
// ---------------------------------------------------------------------------

// Which row a table made by `withRow`/`withoutRow` changed, and the table it came from. The
// origin is held weakly, so a long history of tables never stays alive through this side table.
const origins = new WeakMap<object, { readonly base: WeakRef<object>; readonly key: string }>()

// How many steps `changedKeys` follows back before it gives up (one change makes a few).
const MAX_STEPS = 16

/**
 * `table` with `key` set to `row`, as a new persistent table, in O(log n) (O(n) once when
 * `table` is a plain record). Remembers that only `key` changed; `table` stays as it was.
 */
export const withRow = <V>(table: Readonly<Record<string, V>>, key: string, row: NoInfer<V>): Record<string, V> => {
  const rows = rowsFrom(table)
  const seq = slotOf(rows, key)?.seq
  const next = tableOf<V>({
    map: HashMap.set(rows.map, key, { row, seq: seq ?? rows.next }),
    next: seq === undefined ? rows.next + 1 : rows.next
  })
  origins.set(next, { base: new WeakRef(table), key })
  return next
}

/**
 * `table` without the row `key`, as a new persistent table, in O(log n) (O(n) once when
 * `table` is a plain record); `table` itself when it has no such own row.
 */
export const withoutRow = <V>(table: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  if (!Object.hasOwn(table, key)) return table
  const rows = rowsFrom(table)
  const next = tableOf<V>({ map: HashMap.remove(rows.map, key), next: rows.next })
  origins.set(next, { base: new WeakRef(table), key })
  return next
}

/** How many rows `table` has: O(1) for a persistent table. */
export const rowCount = (table: object): number => {
  const rows = rowsOf(table)
  return rows !== undefined ? HashMap.size(rows.map) : Object.keys(table).length
}

/**
 * The keys at which `next` may differ from `prev`, when `next` was made from `prev` by a few
 * `withRow`/`withoutRow` steps; undefined when that is not known (compare every row then).
 */
export const changedKeys = (prev: object, next: object): ReadonlyArray<string> | undefined => {
  const keys: Array<string> = []
  let at: object | undefined = next
  for (let step = 0; step <= MAX_STEPS && at !== undefined; step++) {
    if (at === prev) return keys
    const origin = origins.get(at)
    if (origin === undefined) return undefined
    keys.push(origin.key)
    at = origin.base.deref()
  }
  return undefined
}
