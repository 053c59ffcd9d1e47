/**
 * Pairing stores on PostgreSQL, so several gateways can share one pairing
 * database: a row backend under the same domain operations as the file and
 * memory stores (`pairingOnBackend.ts`).
 *
 * Driver: `@effect/sql-pg` 4.0.5, the release whose peer range (`effect ^4.0.5`)
 * covers effect 4.1.0; it speaks the wire protocol itself, so no `pg`/`postgres`
 * package comes with it. Only Effect's SqlClient API is used (`sql.withTransaction`).
 *
 * Tables (created on first start, idempotently, under an advisory lock so two
 * gateways starting at once do not race on the catalog): one row per pending
 * request, paired device, setup code, node pending request and paired node; a
 * JSONB `doc` holds the row as its Schema encodes it, beside the key, the owner
 * id of pending rows and the instant a row stops counting (indexed, so expired
 * rows are swept by one cheap DELETE per write).
 *
 * Concurrency: every write runs in one transaction that first takes
 * `pg_advisory_xact_lock(ADVISORY_LOCKS.class, <store>)`, which serializes pairing
 * writers across every gateway sharing the database (a per-row lock would not
 * do: a new device has no row to lock yet). It then loads the rows the operation
 * names, runs the pure transition and writes back only the rows that changed.
 * Reads are single statements, so they see one snapshot without locking.
 *
 * Time comes only from Clock (expiry sweeps compare with the gateway's `now`,
 * never SQL `now()`), and no message ever carries the URL's password.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { redactUrl } from "../config/redact.ts"
import { NodePendingRequest, PairedNode, type NodePairingState } from "../nodes/pairingModel.ts"
import { PairedDevice, type PairingState, PENDING_TTL_MS, PendingRequest, SetupCode } from "../pairing/model.ts"
import { type StateBackend, type StateKeys, StateUnavailable } from "../pairing/stateBackend.ts"
import { NodePairingStore } from "../services/NodePairingStore.ts"
import { PairingStore } from "../services/PairingStore.ts"
import { devicePairingStore, nodePairingStore } from "./pairingOnBackend.ts"
import { DEFAULT_PENDING_BUDGET, type PendingBudget } from "../pairing/pendingBudget.ts"

export { redactUrl }

/** The pairing database could not be used at start-up (unreachable, refused, or its tables could not be created). */
export class PairingStorePgError extends Schema.TaggedError<PairingStorePgError>()("PairingStorePgError", {
  reason: Schema.Literals(["unreachable", "refused", "invalid-url", "schema"]),
  message: Schema.String
}) {}

/** Both pairing stores in the PostgreSQL database at `url`; fails to build when the database cannot be used. */
export const layer = (
  url: Redacted.Redacted<string>,
  budget: PendingBudget = DEFAULT_PENDING_BUDGET
): Layer.Layer<PairingStore | NodePairingStore, PairingStorePgError> =>
  Layer.effectContext(Effect.gen(function*() {
    const shown = redactUrl(url)
    const sql = yield* PgClient.make({
      url,
      applicationName: "gatehouse",
      // A writer waits for the pairing lock at most this long, and a hung gateway
      // cannot hold it forever: PostgreSQL ends its idle transaction.
      startupParameters: { lock_timeout: "15s", idle_in_transaction_session_timeout: "60s" }
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((e) => startupError(e, shown, url))
    )
    yield* createTables(sql).pipe(Effect.mapError((e) => startupError(e, shown, url)))
    yield* Effect.logInfo(`pairing state in PostgreSQL at ${shown}`)
    return Context.make(PairingStore, devicePairingStore(rowBackend(sql, DEVICE_LAYOUT, url), budget)).pipe(
      Context.add(NodePairingStore, nodePairingStore(rowBackend(sql, NODE_LAYOUT, url), budget))
    )
  }))

/**
 * The two-key advisory locks (`pg_advisory_xact_lock(class, id)`) that serialize
 * gatehouse's writers: the class is "gate" in ASCII, the id names what is guarded.
 * Constant, so every gateway on the database agrees; visible in `pg_locks`.
 */
export const ADVISORY_LOCKS = { class: 0x67617465, schema: 0, devices: 1, nodes: 2 } as const

/** The tables this layer keeps, by what they hold. */
export const TABLE_NAMES = {
  devicePending: "gatehouse_device_pending",
  devicePaired: "gatehouse_device_paired",
  setupCodes: "gatehouse_setup_codes",
  nodePending: "gatehouse_node_pending",
  nodePaired: "gatehouse_node_paired"
} as const

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

/** One table of rows, all of one Schema, as the row code sees it (documents as unknowns). */
interface Table {
  readonly name: string
  readonly key: string
  readonly decode: (doc: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly encode: (value: unknown) => unknown
  readonly keyOf: (value: unknown) => string
  /** Pending rows: the owner (device or node) column and value. */
  readonly owner?: { readonly column: string; readonly of: (value: unknown) => string }
  /** Rows that stop counting at some instant: the column and that instant (ms). */
  readonly expiry?: { readonly column: string; readonly of: (value: unknown) => number }
}

interface TableSpec<V> {
  readonly name: string
  readonly key: string
  readonly schema: Schema.Codec<V, unknown>
  readonly keyOf: (v: V) => string
  readonly owner?: { readonly column: string; readonly of: (v: V) => string }
  readonly expiry?: { readonly column: string; readonly of: (v: V) => number }
}

// The only place a document's type is forgotten: values reaching keyOf/owner/expiry/encode were decoded by `schema`.
const table = <V>(spec: TableSpec<V>): Table => {
  const encode = Schema.encodeSync(spec.schema)
  const decode = Schema.decodeUnknownResult(spec.schema)
  const owner = spec.owner
  const expiry = spec.expiry
  return {
    name: spec.name,
    key: spec.key,
    decode,
    encode: (value) => encode(value as V),
    keyOf: (value) => spec.keyOf(value as V),
    ...(owner === undefined ? {} : { owner: { column: owner.column, of: (value: unknown) => owner.of(value as V) } }),
    ...(expiry === undefined ? {} : { expiry: { column: expiry.column, of: (value: unknown) => expiry.of(value as V) } })
  }
}

/** How a state splits into tables: its pending rows, paired rows and (device pairing) setup codes. */
interface Layout<S> {
  readonly lockId: number
  readonly pending: Table
  readonly paired: Table
  readonly codes?: Table
  readonly assemble: (rows: Rows) => S
  readonly split: (s: S) => Rows
}

type Docs = Readonly<Record<string, unknown>>

interface Rows {
  readonly pending: Docs
  readonly paired: Docs
  readonly codes: Docs
}

const DEVICE_PENDING = table<PendingRequest>({
  name: TABLE_NAMES.devicePending,
  key: "request_id",
  schema: PendingRequest,
  keyOf: (p) => p.requestId,
  owner: { column: "device_id", of: (p) => p.deviceId },
  expiry: { column: "expires_at_ms", of: (p) => p.ts + PENDING_TTL_MS }
})

const DEVICE_PAIRED = table<PairedDevice>({ name: TABLE_NAMES.devicePaired, key: "device_id", schema: PairedDevice, keyOf: (d) => d.deviceId })

const SETUP_CODES = table<SetupCode>({
  name: TABLE_NAMES.setupCodes,
  key: "code_hash",
  schema: SetupCode,
  keyOf: (c) => c.hash,
  // A spent code is dead from the moment it was redeemed, an unspent one at expiry (as `prune` sees it).
  expiry: { column: "live_until_ms", of: (c) => c.redeemedAtMs ?? c.expiresAtMs }
})

const NODE_PENDING = table<NodePendingRequest>({
  name: TABLE_NAMES.nodePending,
  key: "request_id",
  schema: NodePendingRequest,
  keyOf: (p) => p.requestId,
  owner: { column: "node_id", of: (p) => p.nodeId },
  expiry: { column: "expires_at_ms", of: (p) => p.ts + PENDING_TTL_MS }
})

const NODE_PAIRED = table<PairedNode>({ name: TABLE_NAMES.nodePaired, key: "node_id", schema: PairedNode, keyOf: (n) => n.nodeId })

const DEVICE_LAYOUT: Layout<PairingState> = {
  lockId: ADVISORY_LOCKS.devices,
  pending: DEVICE_PENDING,
  paired: DEVICE_PAIRED,
  codes: SETUP_CODES,
  assemble: (r) => ({
    version: 1,
    pending: r.pending as PairingState["pending"],
    paired: r.paired as PairingState["paired"],
    setupCodes: r.codes as PairingState["setupCodes"]
  }),
  split: (s) => ({ pending: s.pending, paired: s.paired, codes: s.setupCodes })
}

const NODE_LAYOUT: Layout<NodePairingState> = {
  lockId: ADVISORY_LOCKS.nodes,
  pending: NODE_PENDING,
  paired: NODE_PAIRED,
  assemble: (r) => ({ version: 1, pending: r.pending as NodePairingState["pending"], paired: r.paired as NodePairingState["paired"] }),
  split: (s) => ({ pending: s.pending, paired: s.paired, codes: {} })
}

const TABLES: ReadonlyArray<Table> = [DEVICE_PENDING, DEVICE_PAIRED, SETUP_CODES, NODE_PENDING, NODE_PAIRED]

const KINDS = ["pending", "paired", "codes"] as const
type Kind = typeof KINDS[number]

/** Creates the tables and indexes once; concurrent starts queue on the schema lock. */
const createTables = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.class}, ${ADVISORY_LOCKS.schema})`
    for (const t of TABLES) {
      const columns = [
        `${t.key} text PRIMARY KEY`,
        ...(t.owner === undefined ? [] : [`${t.owner.column} text NOT NULL`]),
        ...(t.expiry === undefined ? [] : [`${t.expiry.column} bigint NOT NULL`]),
        "doc jsonb NOT NULL"
      ]
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${t.name} (${columns.join(", ")})`)
      if (t.owner !== undefined) yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${t.name}_${t.owner.column} ON ${t.name} (${t.owner.column})`)
      if (t.expiry !== undefined) yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${t.name}_${t.expiry.column} ON ${t.name} (${t.expiry.column})`)
    }
  }))

/** A StateBackend over the tables of `layout`. */
const rowBackend = <S>(sql: SqlClient.SqlClient, layout: Layout<S>, url: Redacted.Redacted<string>): StateBackend<S> => {
  const unavailable = (e: SqlError) => new StateUnavailable({ message: `PostgreSQL at ${redactUrl(url)}: ${describeSqlError(e, url)}` })
  const tableOf = (kind: Kind) => (kind === "codes" ? layout.codes : layout[kind])

  // One statement per load, so a read sees a single snapshot of every table.
  const load = Effect.fnUntraced(function*(keys: StateKeys | "all") {
    const parts = keys === "all" ? selectAll(sql, layout) : selectKeys(sql, layout, keys)
    if (parts.length === 0) return { pending: {}, paired: {}, codes: {} }
    const rows = yield* sql<RawRow>`${sql.join(" UNION ALL ", false)(parts)}`
    const { decoded, skipped } = decodeRows(rows, tableOf)
    for (const why of skipped) yield* Effect.logError(`pairing row skipped, it does not decode (${why}); it is left in place: fix or delete it`)
    return decoded
  })

  const read = Effect.fn("PairingStorePg.read")(function*(keys: StateKeys | "all") {
    return layout.assemble(yield* load(keys))
  }, Effect.mapError(unavailable))

  const transact = Effect.fn("PairingStorePg.transact")(function*<A>(keys: StateKeys | "all", f: (s: S) => readonly [A, S]) {
    return yield* sql.withTransaction(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.class}, ${layout.lockId})`
      yield* sweep(sql, layout, now)
      const rows = yield* load(keys)
      const before = layout.assemble(rows)
      const [answer, after] = f(before)
      if (after !== before) yield* writeBack(sql, layout, rows, layout.split(after))
      return answer
    }))
  }, Effect.mapError(unavailable))

  return { read, transact }
}

/** Deletes the rows that stopped counting: indexed range deletes, so the tables stay small. */
const sweep = <S>(sql: SqlClient.SqlClient, layout: Layout<S>, now: number) =>
  Effect.forEach(
    [layout.pending, layout.codes].filter((t): t is Table => t?.expiry !== undefined),
    (t) => sql`DELETE FROM ${sql(t.name)} WHERE ${sql(t.expiry!.column)} <= ${now}`,
    { discard: true }
  )

// Kinds are constants of this module, never input, so they are spliced in as SQL literals.
const kindColumn = (kind: Kind) => `'${kind}' AS kind`

const selectAll = <S>(sql: SqlClient.SqlClient, layout: Layout<S>) =>
  KINDS.flatMap((kind) => {
    const t = kind === "codes" ? layout.codes : layout[kind]
    return t === undefined ? [] : [sql`SELECT ${sql.literal(kindColumn(kind))}, ${sql(t.key)} AS id, doc FROM ${sql(t.name)}`]
  })

/**
 * The rows `keys` names: each owner's paired row and pending rows; each named
 * request with its owner's rows (a transition on a request also reads and writes
 * its owner's paired record); each named setup code.
 */
const selectKeys = <S>(sql: SqlClient.SqlClient, layout: Layout<S>, keys: StateKeys) => {
  const owners = keys.owners ?? []
  const requests = keys.requests ?? []
  const codes = keys.codes ?? []
  const pending = layout.pending
  const ownerColumn = sql(pending.owner!.column)
  const parts = []
  if (owners.length > 0 || requests.length > 0) {
    const ownerIds = sql`SELECT unnest(${owners}::text[]) UNION SELECT ${ownerColumn} FROM ${sql(pending.name)} WHERE ${
      sql(pending.key)
    } = ANY(${requests}::text[])`
    parts.push(
      sql`SELECT ${sql.literal(kindColumn("paired"))}, ${sql(layout.paired.key)} AS id, doc FROM ${sql(layout.paired.name)} WHERE ${
        sql(layout.paired.key)
      } IN (${ownerIds})`,
      sql`SELECT ${sql.literal(kindColumn("pending"))}, ${sql(pending.key)} AS id, doc FROM ${sql(pending.name)} WHERE ${ownerColumn} IN (${ownerIds})`
    )
  }
  // Every live pending row: bounded by the pending-request budget, which is what reads them.
  if (keys.allPending === true) {
    parts.push(sql`SELECT ${sql.literal(kindColumn("pending"))}, ${sql(pending.key)} AS id, doc FROM ${sql(pending.name)}`)
  }
  if (codes.length > 0 && layout.codes !== undefined) {
    parts.push(
      sql`SELECT ${sql.literal(kindColumn("codes"))}, ${sql(layout.codes.key)} AS id, doc FROM ${sql(layout.codes.name)} WHERE ${
        sql(layout.codes.key)
      } = ANY(${codes}::text[])`
    )
  }
  return parts
}

/** A row as loaded: which table it came from, its key, its document. */
interface RawRow {
  readonly kind: Kind
  readonly id: string
  readonly doc: unknown
}

/** Decodes each row with its table's Schema; a row that does not decode (or names another key) is skipped, with why. */
const decodeRows = (rows: ReadonlyArray<RawRow>, tableOf: (kind: Kind) => Table | undefined) => {
  const decoded: Record<Kind, Record<string, unknown>> = { pending: {}, paired: {}, codes: {} }
  const skipped: Array<string> = []
  for (const row of rows) {
    const t = tableOf(row.kind)!
    const result = t.decode(row.doc)
    if (Result.isFailure(result)) skipped.push(`${t.name} row ${row.id}: ${oneLine(result.failure.message)}`)
    else if (t.keyOf(result.success) !== row.id) skipped.push(`${t.name} row ${row.id}: its document names ${t.keyOf(result.success)}`)
    // Defined, not assigned: a key like `__proto__` must become an entry, never the record's prototype.
    else Object.defineProperty(decoded[row.kind], row.id, { value: result.success, enumerable: true, writable: true, configurable: true })
  }
  return { decoded: decoded as Rows, skipped }
}

const oneLine = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ").slice(0, 300)

/** Writes back what changed between the loaded rows and the transition's result: upserts and deletes. */
const writeBack = <S>(sql: SqlClient.SqlClient, layout: Layout<S>, before: Rows, after: Rows) =>
  Effect.forEach(KINDS, (kind) => {
    const t = kind === "codes" ? layout.codes : layout[kind]
    if (t === undefined) return Effect.void
    const { upserts, deletes } = difference(t, before[kind], after[kind])
    return Effect.all([
      deletes.length === 0 ? Effect.void : sql`DELETE FROM ${sql(t.name)} WHERE ${sql(t.key)} = ANY(${deletes}::text[])`,
      Arr.isReadonlyArrayNonEmpty(upserts) ? upsert(sql, t, upserts) : Effect.void
    ], { discard: true })
  }, { discard: true })

const difference = (t: Table, before: Docs, after: Docs) => {
  const encode = t.encode
  const upserts: Array<unknown> = []
  for (const [key, value] of Object.entries(after)) {
    const old = Object.hasOwn(before, key) ? before[key] : undefined
    // Unchanged rows are usually the very same object; an equal copy is caught by its encoding.
    if (old === value || (old !== undefined && JSON.stringify(encode(old)) === JSON.stringify(encode(value)))) continue
    upserts.push(value)
  }
  const deletes = Object.keys(before).filter((key) => !Object.hasOwn(after, key))
  return { upserts, deletes }
}

const upsert = (sql: SqlClient.SqlClient, t: Table, values: Arr.NonEmptyReadonlyArray<unknown>) => {
  const encode = t.encode
  const rows = Arr.map(values, (v): Record<string, unknown> => ({
    [t.key]: t.keyOf(v),
    ...(t.owner === undefined ? {} : { [t.owner.column]: t.owner.of(v) }),
    ...(t.expiry === undefined ? {} : { [t.expiry.column]: t.expiry.of(v) }),
    doc: JSON.stringify(encode(v))
  }))
  const updates = [...(t.owner === undefined ? [] : [t.owner.column]), ...(t.expiry === undefined ? [] : [t.expiry.column]), "doc"]
  return sql`INSERT INTO ${sql(t.name)} ${sql.insert(rows)} ON CONFLICT (${
    sql(t.key)
  }) DO UPDATE SET ${sql.csv(updates.map((c) => sql`${sql(c)} = EXCLUDED.${sql(c)}`))}`
}

/** What went wrong, in words, without the URL's password (even should a server message echo it). */
const describeSqlError = (e: SqlError, url: Redacted.Redacted<string>): string => {
  const reason = e.reason
  const cause = causeOf(e)
  const text = reason._tag === "LockTimeoutError"
    ? "timed out waiting for the pairing lock (another gateway holds it); retry"
    : typeof cause.code === "string" && Object.hasOwn(NETWORK_ERRORS, cause.code)
    ? NETWORK_ERRORS[cause.code]!
    : cause.severity !== undefined && typeof cause.message === "string"
    ? cause.message // the server's own words: "password authentication failed for user …", "database … does not exist"
    // Otherwise only the driver's message: a URL error's cause may hold the raw URL.
    : reason.message.replace(/^PgConnection: /, "")
  return scrub(text, url)
}

/** The driver error under a SqlError: a Node socket error (`code`), a server error (`severity`), or its own. */
const causeOf = (e: SqlError) =>
  (typeof e.reason.cause === "object" && e.reason.cause !== null ? e.reason.cause : {}) as {
    readonly code?: unknown
    readonly syscall?: unknown
    readonly severity?: unknown
    readonly message?: unknown
  }

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOENT: "no socket at that path",
  EACCES: "permission denied"
}

// Belt and braces: whatever a message says, the password's text never leaves this module.
const scrub = (text: string, url: Redacted.Redacted<string>) => {
  const password = passwordOf(Redacted.value(url))
  return password === undefined || password.length === 0 ? text : text.split(password).join("***")
}

const passwordOf = (raw: string): string | undefined => {
  if (!URL.canParse(raw)) return undefined
  const u = new URL(raw)
  if (u.password !== "") return URL_DECODES.test(u.password) ? decodeURIComponent(u.password) : u.password
  return u.searchParams.get("password") ?? undefined
}

const URL_DECODES = /^(?:[^%]|%[0-9a-f]{2})*$/i

const startupError = (e: SqlError, shown: string, url: Redacted.Redacted<string>): PairingStorePgError => {
  const why = describeSqlError(e, url)
  const hint = "; check state.postgres.url / GATEHOUSE_POSTGRES_URL"
  const cause = causeOf(e)
  switch (e.reason._tag) {
    case "AuthenticationError":
    case "AuthorizationError":
      return new PairingStorePgError({ reason: "refused", message: `PostgreSQL at ${shown} refused gatehouse: ${why}${hint}` })
    case "ConnectionError":
      // The driver refuses a malformed URL before any socket exists: no syscall, no server error.
      if (cause.syscall === undefined && cause.severity === undefined && !/failed to connect|timed out|closed/i.test(e.reason.message)) {
        return new PairingStorePgError({ reason: "invalid-url", message: `invalid PostgreSQL URL ${shown}: ${why}${hint}` })
      }
      return new PairingStorePgError({ reason: "unreachable", message: `cannot reach PostgreSQL at ${shown}: ${why}${hint}` })
    default:
      // Refused while connecting (e.g. the database does not exist), or later while creating the tables.
      return (e.reason as { readonly operation?: string }).operation === "connect"
        ? new PairingStorePgError({ reason: "unreachable", message: `cannot reach PostgreSQL at ${shown}: ${why}${hint}` })
        : new PairingStorePgError({ reason: "schema", message: `cannot set up the pairing tables in PostgreSQL at ${shown}: ${why}${hint}` })
  }
}
