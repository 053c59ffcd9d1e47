/**
 * What only the PostgreSQL pairing store does: clear start-up failures that never
 * show the password, selection by config, the advisory lock that serializes
 * writers of every gateway, rows written back only when changed, expired rows
 * swept, rows that do not decode skipped and logged, concurrent first starts, a
 * database lost mid-run reported as unavailable.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import * as Gateway from "../../src/gateway.ts"
import * as PairingStorePg from "../../src/layers/PairingStorePg.ts"
import type { Ask } from "../../src/pairing/policy.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { PairingStore } from "../../src/services/PairingStore.ts"
import { postgresAvailable, TestPostgres } from "../helpers/postgres.ts"
import { freePort } from "../helpers/processes.ts"
import { tempDir } from "../helpers/tempDirs.ts"

describe("PairingStorePg start-up", () => {
  it.live("an unreachable database fails the layer with a clear message that hides the password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const url = Redacted.make(`postgres://gatehouse:S3cret-pw@127.0.0.1:${port}/gatehouse`)
      const error = yield* Effect.flip(Effect.scoped(Layer.build(PairingStorePg.layer(url))))
      assert.strictEqual(error._tag, "PairingStorePgError")
      assert.strictEqual(error.reason, "unreachable")
      assert.strictEqual(
        error.message,
        `cannot reach PostgreSQL at postgres://gatehouse:***@127.0.0.1:${port}/gatehouse: connection refused; check state.postgres.url / GATEHOUSE_POSTGRES_URL`
      )
      assert.notInclude(JSON.stringify(error), "S3cret-pw")
    }))

  it.live("a URL the driver cannot use is an invalid-url error, without the password", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(PairingStorePg.layer(Redacted.make("postgres://gatehouse:S3cret-pw@127.0.0.1:99999/x")))))
      assert.strictEqual(error.reason, "invalid-url")
      assert.include(error.message, "(not a URL)")
      assert.notInclude(JSON.stringify(error), "S3cret-pw")
    }))

  it.live("the config selects the store: the fallback without a URL, PostgreSQL with one", () =>
    Effect.gen(function*() {
      const home = tempDir("gatehouse-select-")
      const config = (env: Record<string, string>) => Layer.effect(GatewayConfig, GatewayConfig.make({ port: 0 }, { HOME: home, ...env }))
      const selected = Gateway.layerPairingStores(PairingStoreMemory.layer())
      const fallback = yield* Effect.scoped(Effect.flatMap(Layer.build(selected.pipe(Layer.provide(config({})))), (ctx) => Context.get(ctx, PairingStore).list))
      assert.deepStrictEqual(fallback, { pending: [], paired: [] })
      const port = yield* Effect.promise(freePort)
      const error = yield* Effect.flip(Effect.scoped(Layer.build(selected.pipe(
        Layer.provide(config({ GATEHOUSE_POSTGRES_URL: `postgres://gatehouse:S3cret-pw@127.0.0.1:${port}/gatehouse` }))
      ))))
      assert.strictEqual(error._tag, "PairingStorePgError")
      assert.include(error.message, `cannot reach PostgreSQL at postgres://gatehouse:***@127.0.0.1:${port}/gatehouse`)
    }))

  it("redactUrl hides the password wherever a URL carries it", () => {
    assert.strictEqual(PairingStorePg.redactUrl("postgres://u:p%40ss@h:5432/db"), "postgres://u:***@h:5432/db")
    assert.strictEqual(PairingStorePg.redactUrl(Redacted.make("postgresql://u:a%2Fb%40c@h/db?sslmode=require")), "postgresql://u:***@h/db?sslmode=require")
    assert.strictEqual(PairingStorePg.redactUrl("postgresql://u:a/b@c@h/db"), "(not a URL)")
    assert.strictEqual(PairingStorePg.redactUrl("postgres://gatehouse:s3cr?t-pw@db.internal/gh"), "(not a URL)")
    assert.strictEqual(PairingStorePg.redactUrl("postgres://u@db/gh?pass%77ord=S3cret"), "postgres://u@db/gh?password=***")
    assert.strictEqual(PairingStorePg.redactUrl("gatehouse:file-pw-123"), "(not a URL)")
    assert.strictEqual(PairingStorePg.redactUrl("postgres://h/db?user=u&password=pw&sslpassword=k"), "postgres://h/db?user=u&password=***&sslpassword=***")
    assert.strictEqual(PairingStorePg.redactUrl("postgres://u@h/db"), "postgres://u@h/db")
    assert.strictEqual(PairingStorePg.redactUrl("host=h password=pw"), "(not a URL)")
  })
})

if (postgresAvailable("the PostgreSQL pairing store tests")) {
  layer(TestPostgres.layer, { timeout: "60 seconds" })("PairingStorePg on a real server", (it) => {
    it.effect("a wrong password or a missing database is refused at start-up, naming the URL without any password", () =>
      Effect.gen(function*() {
        const pg = yield* TestPostgres
        const wrong = yield* Effect.flip(Effect.scoped(Layer.build(PairingStorePg.layer(pg.url("postgres", "Wr0ng-pw")))))
        assert.strictEqual(wrong.reason, "refused")
        assert.include(wrong.message, `PostgreSQL at postgres://postgres:***@127.0.0.1:${pg.port}/postgres refused gatehouse: password authentication failed`)
        assert.notInclude(JSON.stringify(wrong), "Wr0ng-pw")
        const missing = yield* Effect.flip(Effect.scoped(Layer.build(PairingStorePg.layer(pg.url("no_such_db")))))
        assert.strictEqual(missing.reason, "unreachable")
        assert.include(missing.message, `database "no_such_db" does not exist`)
        assert.notInclude(JSON.stringify(missing), pg.password)
      }))

    it.effect("logs where pairing state lives, without the password", () =>
      Effect.gen(function*() {
        const pg = yield* TestPostgres
        const url = yield* pg.freshDatabase
        const logs: Array<string> = []
        yield* Effect.scoped(Layer.build(PairingStorePg.layer(url))).pipe(
          Effect.provide(Logger.layer([Logger.make(({ message }) => logs.push(String(message)))]))
        )
        assert.include(logs.join("\n"), `pairing state in PostgreSQL at postgres://postgres:***@127.0.0.1:${pg.port}/`)
        assert.notInclude(logs.join("\n"), pg.password)
      }))

    it.effect("gateways starting at once on an empty database all create the tables without a clash", () =>
      Effect.gen(function*() {
        const pg = yield* TestPostgres
        const url = yield* pg.freshDatabase
        const stores = yield* Effect.forEach(
          Array.from({ length: 4 }),
          () => Effect.map(Layer.build(PairingStorePg.layer(url)), Context.get(PairingStore)),
          { concurrency: "unbounded" }
        )
        const code = yield* stores[0]!.createSetupCode("node", [])
        yield* stores[3]!.redeemSetupCode(ask("starter", "node"), code.token)
        assert.lengthOf((yield* stores[1]!.list).paired, 1)
      }).pipe(Effect.scoped))

    it.effect("a writer waits for the pairing lock another session holds, then proceeds", () =>
      withStore((devices, sql) =>
        Effect.gen(function*() {
          const held = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* sql.withTransaction(Effect.gen(function*() {
            yield* sql`SELECT pg_advisory_xact_lock(${PairingStorePg.ADVISORY_LOCKS.class}, ${PairingStorePg.ADVISORY_LOCKS.devices})`
            yield* Deferred.succeed(held, undefined)
            yield* Deferred.await(release)
          })).pipe(Effect.forkChild)
          yield* Deferred.await(held)
          const admitting = yield* Effect.forkChild(devices.admit(ask("waiter"), false))
          // Synchronise on the server's own view: the admit is queued on the advisory lock.
          yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`.pipe(
            Effect.repeat({ until: (rows) => rows[0]!.n > 0 })
          )
          assert.isUndefined(admitting.pollUnsafe())
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(holder)
          const outcome = yield* Fiber.join(admitting)
          assert.strictEqual(outcome._tag, "Requested")
        })))

    it.effect("only rows that changed are written back", () =>
      withStore((devices, sql) =>
        Effect.gen(function*() {
          const xmin = (deviceId: string) =>
            Effect.map(
              sql<{ readonly x: string }>`SELECT xmin::text AS x FROM gatehouse_device_paired WHERE device_id = ${deviceId}`,
              (rows) => rows[0]?.x
            )
          const a = ask("a")
          const pair = (d: Ask) =>
            Effect.flatMap(devices.admit(d, false), (r) => (r._tag === "Requested" ? devices.approve(r.request.requestId, OWNER) : Effect.die(r._tag)))
          yield* pair(a)
          const written = yield* xmin(a.deviceId)
          assert.isDefined(written)
          yield* pair(ask("b"))
          const admitted = yield* devices.admit(a, false)
          assert.strictEqual(admitted._tag, "Paired")
          assert.strictEqual(yield* xmin(a.deviceId), written)
          yield* devices.rotate(a.deviceId, "operator", undefined, OWNER.scopes)
          assert.notStrictEqual(yield* xmin(a.deviceId), written)
        })))

    it.effect("expired requests and spent or expired setup codes are deleted by the next write", () =>
      withStore((devices, sql) =>
        Effect.gen(function*() {
          const count = (table: string) => Effect.map(sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`, (r) => r[0]!.n)
          yield* devices.admit(ask("old"), false)
          const spent = yield* devices.createSetupCode("node", [])
          yield* devices.redeemSetupCode(ask("redeemer", "node"), spent.token)
          yield* devices.createSetupCode("node", [])
          assert.strictEqual(yield* count("gatehouse_device_pending"), 1)
          yield* TestClock.adjust("10 minutes")
          yield* devices.admit(ask("new"), false)
          assert.strictEqual(yield* count("gatehouse_device_pending"), 1)
          assert.strictEqual(yield* count("gatehouse_setup_codes"), 0)
        })))

    it.effect("a database gone mid-run makes operations fail as PairingUnavailable, naming it without the password", () =>
      Effect.scoped(Effect.gen(function*() {
        const pg = yield* TestPostgres
        const url = yield* pg.freshDatabase
        const devices = Context.get(yield* Layer.build(PairingStorePg.layer(url)), PairingStore)
        yield* devices.createSetupCode("node", [])
        const admin = yield* PgClient.make({ url: pg.url("postgres") }).pipe(Effect.provide(Reactivity.layer))
        const name = new URL(Redacted.value(url)).pathname.slice(1)
        yield* admin`DROP DATABASE ${admin(name)} WITH (FORCE)`
        const failed = yield* Effect.flip(devices.createSetupCode("node", []))
        assert.strictEqual(failed.reason._tag, "PairingUnavailable")
        assert.include(failed.reason.message, `pairing state could not be saved: PostgreSQL at postgres://postgres:***@127.0.0.1:${pg.port}/${name}`)
        assert.notInclude(JSON.stringify(failed), pg.password)
        const listing = yield* Effect.flip(devices.list)
        assert.strictEqual(listing.reason._tag, "PairingUnavailable")
      })))

    it.effect("a row that does not decode is skipped and logged, never fatal, and left in place", () =>
      Effect.gen(function*() {
        const logs: Array<string> = []
        yield* withStore((devices, sql) =>
          Effect.gen(function*() {
            const a = ask("good")
            const r = yield* devices.admit(a, false)
            if (r._tag === "Requested") yield* devices.approve(r.request.requestId, OWNER)
            yield* sql`INSERT INTO gatehouse_device_paired (device_id, doc) VALUES ('broken', ${JSON.stringify({ deviceId: "broken" })})`
            yield* sql`INSERT INTO gatehouse_device_paired (device_id, doc) VALUES ('elsewhere', ${JSON.stringify(pairedDoc("other"))})`
            const listed = yield* devices.list
            assert.deepStrictEqual(listed.paired.map((d) => d.deviceId), [a.deviceId])
            assert.strictEqual((yield* devices.admit(ask("broken"), false))._tag, "Requested")
            const left = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM gatehouse_device_paired WHERE device_id IN ('broken', 'elsewhere')`
            assert.strictEqual(left[0]!.n, 2)
          })).pipe(Effect.provide(Logger.layer([Logger.make(({ message }) => logs.push(String(message)))])))
        assert.isTrue(logs.some((l) => l.includes("gatehouse_device_paired row broken: ") && l.includes("publicKey") && l.includes("left in place")), logs.join("\n"))
        assert.isTrue(logs.some((l) => l.includes("gatehouse_device_paired row elsewhere: its document names other")), logs.join("\n"))
      }))
  })
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const OWNER = { _tag: "Operator", scopes: ["operator.admin", "operator.pairing", "operator.read", "operator.write"] } as const

const ask = (name: string, role = "operator"): Ask => ({
  deviceId: `device-${name}`,
  publicKey: `key-${name}`,
  role,
  scopes: role === "operator" ? ["operator.read"] : [],
  clientId: "cli",
  clientMode: "cli"
})

// A well-formed paired device document.
const pairedDoc = (deviceId: string) => ({
  deviceId,
  publicKey: `key-${deviceId}`,
  roles: ["operator"],
  approvedScopes: ["operator.read"],
  tokens: {},
  approvedVia: "owner",
  createdAtMs: 0,
  approvedAtMs: 0
})

/** A store on a fresh database, plus a plain SQL client on the same database. */
const withStore = <A, E>(body: (devices: PairingStore["Service"], sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const pg = yield* TestPostgres
    const url = yield* pg.freshDatabase
    const devices = Context.get(yield* Layer.build(PairingStorePg.layer(url)), PairingStore)
    const sql = yield* PgClient.make({ url }).pipe(Effect.provide(Reactivity.layer))
    return yield* body(devices, sql)
  }))
