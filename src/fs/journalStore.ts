/**
 * A JSON document made of keyed tables (records of rows), persisted as a snapshot
 * plus an append-only journal, so a change costs the rows it touches rather than
 * the whole document (pairing 1000 devices one by one rewrote the file 1000 times).
 *
 * - `<path>`: the snapshot, the same whole-document format `makeFileStore` writes
 *   (older single-file state opens as a snapshot with an empty journal).
 * - `<path>.journal`: one JSON line per change, `{"ops":[[table,key,row]|[table,key]]}`,
 *   appended and fsynced before the change is visible. A change that touches a
 *   non-table field (e.g. `version`) rewrites the snapshot instead.
 * - Compaction writes the snapshot atomically and then empties the journal, when the
 *   journal grows past `ratio`× the snapshot (and `minBytes`), and once at open when
 *   the journal is not empty. Replaying a journal over a snapshot that already holds
 *   its changes gives the same state, so a crash between the two steps loses nothing.
 * - A torn last line (the process died mid-append) is ignored with a warning; any
 *   other line that is not a record is a clear error, never silently skipped. A
 *   snapshot that does not decode is moved aside and reported, as `makeFileStore` does.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import { type FileHandle, mkdir, open, readFile, rename } from "node:fs/promises"
import { dirname } from "node:path"
import { writeFileAtomic } from "./atomicWrite.ts"
import type { JsonStore } from "./jsonStore.ts"
import { changedKeys } from "./tableRows.ts"

/** Compaction policy: compact once the journal exceeds `ratio`× the snapshot and `minBytes`. */
export interface CompactionPolicy {
  readonly ratio: number
  readonly minBytes: number
}

/** Compact when the journal is over 2× the snapshot (and at least 64 KiB). */
export const defaultCompaction: CompactionPolicy = { ratio: 2, minBytes: 64 * 1024 }

/** The journal file beside a snapshot. */
export const journalPath = (path: string) => `${path}.journal`

type Row = unknown
type Op = readonly [table: string, key: string, row?: Row]
type Doc = Record<string, unknown>

/** A store of `schema` (a struct whose record fields are the tables) at `path`; its journal is closed with the scope. */
export const makeJournalStore = <S>(
  path: string,
  schema: Schema.Codec<S, unknown> & { readonly fields: Readonly<Record<string, unknown>> },
  empty: S,
  policy: CompactionPolicy = defaultCompaction
): Effect.Effect<JsonStore<S>, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const decode = Schema.decodeUnknownResult(schema)
    const encode = Schema.encodeSync(schema)
    const encodeRow = rowEncoders(schema.fields)
    const jpath = journalPath(path)
    yield* attempt(() => mkdir(dirname(path), { recursive: true, mode: 0o700 }))

    // The snapshot: absent → empty; undecodable → moved aside (with its journal) and reported.
    const snapshotText = yield* readIfExists(path)
    let base: unknown = snapshotText === undefined ? encode(empty) : undefined
    if (snapshotText !== undefined) {
      const parsed = Result.try(() => JSON.parse(snapshotText) as unknown)
      const decoded = Result.isSuccess(parsed) ? decode(parsed.success) : undefined
      if (decoded !== undefined && Result.isSuccess(decoded)) base = Result.getOrThrow(parsed)
      else {
        const why = decoded === undefined ? "not JSON" : Result.isFailure(decoded) ? decoded.failure.message.split("\n")[0] : ""
        const aside = `${path}.corrupt-${yield* Clock.currentTimeMillis}`
        yield* attempt(() => rename(path, aside))
        yield* attempt(() => rename(jpath, `${aside}.journal`)).pipe(Effect.ignore)
        yield* Effect.logError(
          `${path} could not be read (${why}); moved it to ${aside} and started empty. ` +
            `Inspect it, and move it back once fixed while the gateway is stopped.`
        )
        base = encode(empty)
      }
    }

    // The journal: replay complete lines over the snapshot; a torn tail is dropped.
    const journalText = (yield* readIfExists(jpath)) ?? ""
    const replay = replayJournal(jpath, journalText)
    if (replay.error !== undefined) return yield* Effect.fail(new Error(replay.error))
    if (replay.torn !== undefined) yield* Effect.logWarning(replay.torn)
    const doc = base as Doc
    for (const ops of replay.changes) applyOps(doc, ops)
    const loaded = decode(doc)
    if (Result.isFailure(loaded)) {
      return yield* Effect.fail(
        new Error(
          `${jpath} does not apply to ${path} (${loaded.failure.message.split("\n")[0]}). ` +
            `Stop the gateway and move ${jpath} aside (changes since the last compaction are lost) or fix it.`
        )
      )
    }
    let state = loaded.success
    let snapshotBytes = snapshotText?.length ?? 0
    let journalBytes = 0
    let handle: FileHandle | undefined

    const compact = (next: S) =>
      Effect.gen(function*() {
        const text = JSON.stringify(encode(next), null, 2) + "\n"
        yield* writeFileAtomic(path, text)
        yield* resetJournal
        snapshotBytes = text.length
      })
    const resetJournal = Effect.gen(function*() {
      if (handle !== undefined) yield* attempt(() => handle!.close())
      handle = undefined
      yield* writeFileAtomic(jpath, "")
      handle = yield* attempt(() => open(jpath, "a", 0o600))
      journalBytes = 0
    })

    // A fresh store writes its empty snapshot, so the pair of files always exists (0600) once opened.
    if (journalText.length > 0 || snapshotText === undefined) yield* compact(state)
    else handle = yield* attempt(() => open(jpath, "a", 0o600))

    const lock = yield* Semaphore.make(1)
    // The journal's descriptor goes with the store (after any write in progress), not to the collector.
    yield* Effect.addFinalizer(() =>
      lock.withPermits(1)(Effect.promise(async () => {
        const h = handle
        handle = undefined
        await h?.close().catch(() => undefined)
      }))
    )
    return {
      get: Effect.sync(() => state),
      modify: <A>(f: (s: S) => readonly [A, S]) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const [a, next] = f(state)
          if (next === state) return a
          const ops = diff(state as Doc, next as Doc, encodeRow)
          if (ops === "snapshot") yield* compact(next)
          else if (ops.length > 0) {
            const line = JSON.stringify({ ops }) + "\n"
            const h = handle!
            yield* attempt(async () => {
              await h.appendFile(line, "utf8")
              await h.datasync()
            })
            journalBytes += line.length
            if (journalBytes > policy.minBytes && journalBytes > policy.ratio * snapshotBytes) yield* compact(next)
          }
          state = next
          return a
        }))
    }
  })

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const attempt = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => (e instanceof Error ? e : new Error(String(e))) })

const readIfExists = (p: string) =>
  Effect.tryPromise({ try: () => readFile(p, "utf8"), catch: (e) => e as NodeJS.ErrnoException }).pipe(
    Effect.map((t): string | undefined => t),
    Effect.catch((e) => (e.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(new Error(`cannot read ${p}: ${e.message}`))))
  )

// The row encoder of each record field of the struct (the tables).
function rowEncoders(fields: Readonly<Record<string, unknown>>): Map<string, (row: unknown) => unknown> {
  const out = new Map<string, (row: unknown) => unknown>()
  for (const [name, field] of Object.entries(fields)) {
    // Schemas are callable objects, so test for the record's own `key` and `value` schemas.
    if ((typeof field === "object" || typeof field === "function") && field !== null && "key" in field && "value" in field) {
      out.set(name, Schema.encodeSync(field.value as Schema.Codec<unknown, unknown>))
    }
  }
  return out
}

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

// The journal ops turning `prev` into `next`, or "snapshot" when a non-table field changed.
function diff(prev: Doc, next: Doc, encodeRow: Map<string, (row: unknown) => unknown>): Array<Op> | "snapshot" {
  const ops: Array<Op> = []
  for (const name of new Set([...Object.keys(prev), ...Object.keys(next)])) {
    const a = prev[name]
    const b = next[name]
    if (a === b) continue
    const enc = encodeRow.get(name)
    if (enc === undefined || !isTable(a) || !isTable(b)) return "snapshot"
    // A table made by `withRow` names the rows it changed; compare only those.
    const touched = changedKeys(a, b)
    if (touched !== undefined) {
      for (const key of new Set(touched)) {
        if (Object.hasOwn(b, key)) {
          if (!Object.hasOwn(a, key) || a[key] !== b[key]) ops.push([name, key, enc(b[key])])
        } else if (Object.hasOwn(a, key)) ops.push([name, key])
      }
      continue
    }
    for (const key of Object.keys(b)) {
      if (!Object.hasOwn(a, key) || a[key] !== b[key]) ops.push([name, key, enc(b[key])])
    }
    for (const key of Object.keys(a)) if (!Object.hasOwn(b, key)) ops.push([name, key])
  }
  return ops
}

// Applies ops to the encoded document in place; keys are set as own properties (`__proto__` is data).
function applyOps(doc: Doc, ops: ReadonlyArray<Op>) {
  for (const [name, key, row] of ops) {
    const table = isTable(doc[name]) ? doc[name] : (doc[name] = {}) as Record<string, unknown>
    if (row === undefined) delete table[key]
    else Object.defineProperty(table, key, { value: row, enumerable: true, writable: true, configurable: true })
  }
}

const isOp = (v: unknown): v is Op =>
  Array.isArray(v) && (v.length === 2 || v.length === 3) && typeof v[0] === "string" && typeof v[1] === "string" &&
  (v.length === 2 || v[2] !== undefined)

// Complete lines become changes; an unterminated or unreadable last line is torn; any other bad line is an error.
function replayJournal(jpath: string, text: string): { changes: Array<ReadonlyArray<Op>>; torn?: string; error?: string } {
  const lines = text.split("\n")
  const tail = lines.pop() ?? "" // "" when the journal ends with a newline
  const changes: Array<ReadonlyArray<Op>> = []
  let torn: string | undefined = tail.length > 0
    ? `${jpath}: ignored a torn last record (${tail.length} bytes without a newline; the writer stopped mid-append)`
    : undefined
  for (let i = 0; i < lines.length; i++) {
    const parsed = Result.try(() => JSON.parse(lines[i]!) as unknown)
    const ops = Result.isSuccess(parsed) && isTable(parsed.success) ? parsed.success.ops : undefined
    if (Array.isArray(ops) && ops.every(isOp)) {
      changes.push(ops)
      continue
    }
    if (i === lines.length - 1 && tail.length === 0) {
      torn = `${jpath}: ignored an unreadable last record (line ${i + 1}; the writer stopped mid-append)`
      break
    }
    return {
      changes,
      error: `${jpath} line ${i + 1} is not a journal record, so later changes cannot be trusted. ` +
        `Stop the gateway and fix or remove that line (or move the journal aside, losing changes since the last compaction).`
    }
  }
  return torn === undefined ? { changes } : { changes, torn }
}
