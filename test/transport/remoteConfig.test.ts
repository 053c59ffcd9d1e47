import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { once } from "node:events"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { resolveTarget } from "../../src/programs/clientTarget.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { freePort } from "../helpers/processes.ts"
import { tempHome } from "../helpers/testGateway.ts"

const withFile = (doc: unknown) => {
  const home = tempHome()
  mkdirSync(join(home, ".openclaw"), { recursive: true })
  writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify(doc))
  return { HOME: home }
}
const flags = { url: undefined, token: undefined, password: undefined, profile: undefined, dev: false }

describe("gateway.remote.* and the client route", () => {
  it.effect("the ssh keys are known config keys", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { remote: { transport: "ssh", sshTarget: "root@box", sshIdentity: "/k", sshPort: 2222, sshRemotePort: 18800, tailnet: "box.ts.net" } } })
      const { config } = yield* GatewayConfig.make({}, env)
      assert.deepStrictEqual(config.file.unknownKeys, [])
      assert.strictEqual(config.remote.transport, "ssh")
      assert.strictEqual(config.remote.sshPort, 2222)
    }))

  it.effect("gateway.remote.token never enables (or sets) auth on this host's gateway", () =>
    Effect.gen(function*() {
      const none = withFile({ gateway: { auth: { mode: "none" }, remote: { token: "remote-only" } } })
      const a = yield* GatewayConfig.make({}, none)
      assert.strictEqual(a.config.authMode.value, "none")
      assert.isUndefined((yield* a.secrets).token)
      const dflt = withFile({ gateway: { remote: { token: "remote-only" } } })
      const b = yield* GatewayConfig.make({}, dflt)
      assert.notStrictEqual((yield* b.secrets).token === undefined ? undefined : Redacted.value((yield* b.secrets).token!.value), "remote-only")
      // Local client calls do not send it either: only the remote route does.
      const local = yield* resolveTarget(flags, dflt)
      assert.strictEqual(local.origin, "local")
      assert.isTrue(local.token === undefined || Redacted.value(local.token) !== "remote-only")
      const viaSsh = yield* resolveTarget({ ...flags, ssh: "root@box:2222" }, dflt)
      assert.strictEqual(Redacted.value(viaSsh.token!), "remote-only")
    }))

  it.effect("--ssh forwards to the gateway port on the SSH host's loopback, with its own device-token key", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { remote: { sshRemotePort: 18800, sshIdentity: "/keys/gw" } } })
      const t = yield* resolveTarget({ ...flags, ssh: "root@10.0.0.5:2222" }, env)
      assert.strictEqual(t.origin, "ssh")
      assert.strictEqual(t.url, "ws://127.0.0.1:18800")
      assert.deepStrictEqual(t.selection.route, { kind: "ssh", ssh: { target: "root@10.0.0.5", port: 2222, identity: "/keys/gw" } })
      assert.strictEqual(t.deviceKey, "ssh://root@10.0.0.5:2222/127.0.0.1:18800")
      const both = yield* Effect.flip(resolveTarget({ ...flags, ssh: "root@h", url: "ws://127.0.0.1:1", token: Redacted.make("x") }, env))
      assert.include(both.message, "cannot be combined")
      const bad = yield* Effect.flip(resolveTarget({ ...flags, ssh: "root@h:0" }, env))
      assert.include(bad.message, "port must be 1-65535")
    }))

  it.effect("through SSH, a TLS gateway is still reached with wss:// and pinned as configured", () =>
    Effect.gen(function*() {
      const fp = "a".repeat(64)
      const env = withFile({ gateway: { remote: { url: "wss://gw.example:18790", tlsFingerprint: fp } } })
      const t = yield* resolveTarget({ ...flags, ssh: "root@gw.example" }, env)
      assert.strictEqual(t.url, "wss://127.0.0.1:18790")
      assert.strictEqual(t.configuredPin?.fingerprint, fp)
    }))

  it.effect("gateway.remote.transport \"ssh\" needs sshTarget", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(resolveTarget(flags, withFile({ gateway: { remote: { transport: "ssh" } } })))
      assert.include(e.message, "gateway.remote.sshTarget is not set")
    }))

  it.effect("remote mode: a discovered gateway the user chooses is used, gets none of the configured credentials or pin, and never replaces the configured endpoint", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(freePort)
      const server = createServer().listen(0, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
      yield* Effect.promise(() => once(server, "listening"))
      const lan = { name: "gatehouse on box", url: `ws://127.0.0.1:${(server.address() as { port: number }).port}` }
      const configured = { url: `ws://127.0.0.1:${closed}`, token: "r", tlsFingerprint: "ab".repeat(32) }
      const env = withFile({ gateway: { mode: "remote", port: 20100, remote: configured } })
      const offered: Array<ReadonlyArray<unknown>> = []
      const t = yield* resolveTarget(flags, env, 1000, {
        browse: Effect.succeed({ candidates: [lan] }),
        choose: (c) => Effect.sync(() => (offered.push(c), c[0]))
      })
      assert.deepStrictEqual(offered, [[lan]])
      assert.strictEqual(t.url, lan.url)
      assert.deepStrictEqual(t.selection.route, { kind: "discovered", ...lan })
      assert.isUndefined(t.token)
      assert.isUndefined(t.password)
      assert.isUndefined(t.configuredPin)
      const saved = JSON.parse(readFileSync(join(env.HOME, ".openclaw", "openclaw.json"), "utf8"))
      assert.deepStrictEqual(saved, { gateway: { mode: "remote", port: 20100, remote: configured } })
    }).pipe(Effect.scoped))

  it.effect("remote mode: a discovered gateway chosen where no endpoint was configured is saved as gateway.remote.url", () =>
    Effect.gen(function*() {
      const server = createServer().listen(0, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
      yield* Effect.promise(() => once(server, "listening"))
      const lan = { name: "gatehouse on box", url: `ws://127.0.0.1:${(server.address() as { port: number }).port}` }
      const env = withFile({ gateway: { mode: "remote", remote: { sshTarget: "root@192.0.2.1" } } })
      const t = yield* resolveTarget(flags, env, 1000, { browse: Effect.succeed({ candidates: [lan] }), choose: (c) => Effect.succeed(c[0]) })
      assert.strictEqual(t.url, lan.url)
      const saved = JSON.parse(readFileSync(join(env.HOME, ".openclaw", "openclaw.json"), "utf8"))
      assert.strictEqual(saved.gateway.remote.url, lan.url)
    }).pipe(Effect.scoped))

  it.effect("remote mode: the tailnet fallback never sends credentials over plaintext to a non-loopback host", () =>
    Effect.gen(function*() {
      const env = withFile({ gateway: { mode: "remote", remote: { tailnet: "gw.example.com", token: "SECRET" } } })
      const e = yield* Effect.flip(resolveTarget(flags, env, 200))
      assert.strictEqual(e.reason, "refused")
      assert.include(e.message, "plaintext")
    }))

  it.effect("remote mode: an unreachable paired endpoint falls back to SSH, and the skip reasons say why", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(freePort)
      const env = withFile({ gateway: { mode: "remote", remote: { url: `ws://127.0.0.1:${closed}`, sshTarget: "me@gw.example" } } })
      const t = yield* resolveTarget(flags, env, 1000)
      assert.strictEqual(t.origin, "ssh")
      assert.deepStrictEqual(t.selection.skipped.map((s) => [s.kind, s.reason]), [
        ["direct", `ws://127.0.0.1:${closed} did not answer`],
        ["discovered", "discovery is not available to this command"],
        ["tailnet", "no tailnet name or IP (gateway.remote.tailnet) is configured"]
      ])
      assert.strictEqual(t.url, `ws://127.0.0.1:${closed}`) // the gateway's port, on the SSH host's loopback
    }))
})
