import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { GatewayServer } from "../../src/services/GatewayServer.ts"
import { connectParams, coreLayer, homeWithConfig, openMemory, serverLayer } from "../helpers/testGateway.ts"
import { tempDir } from "../helpers/tempDirs.ts"

// Attacks on identities a proxy vouches for: trusted-proxy auth and Tailscale Serve.

const connect = (options: { remoteAddress?: string; headers?: Record<string, string> }, params: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const c = yield* openMemory(options)
    yield* c.next
    yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: {}, ...params }) })
    return yield* c.nextMatching((f) => f.id === "c")
  })

const proxyConfig = (trustedProxy: Record<string, unknown> = {}) =>
  homeWithConfig({
    gateway: {
      trustedProxies: ["10.0.0.2"],
      auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user", requiredHeaders: ["x-forwarded-proto"], ...trustedProxy } }
    }
  })
const viaProxy = (headers: Record<string, string>) => ({ remoteAddress: "10.0.0.2", headers: { "x-forwarded-proto": "https", ...headers } })

describe("trusted-proxy auth", () => {
  it.effect("a client that is not the proxy cannot claim a user with the proxy's header", () =>
    Effect.gen(function*() {
      const direct = yield* connect({ remoteAddress: "203.0.113.7", headers: { "x-forwarded-user": "admin", "x-forwarded-proto": "https" } })
      assert.isFalse(direct.ok)
      assert.strictEqual(direct.error.details.code, "AUTH_TRUSTED_PROXY_UNTRUSTED_SOURCE")
      // Loopback is not the proxy either (it is not listed, and would need allowLoopback).
      const local = yield* connect({ remoteAddress: "127.0.0.1", headers: { "x-forwarded-user": "admin", "x-forwarded-proto": "https" } })
      assert.isFalse(local.ok)
      assert.strictEqual(local.error.details.code, "AUTH_TRUSTED_PROXY_UNTRUSTED_SOURCE")
      const ok = yield* connect(viaProxy({ "x-forwarded-user": "alice@example.com" }))
      assert.isTrue(ok.ok, JSON.stringify(ok.error))
    }).pipe(Effect.provide(coreLayer({ auth: "trusted-proxy" }, proxyConfig()))))

  it.effect("the proxy's required headers must all be there", () =>
    Effect.gen(function*() {
      const r = yield* connect({ remoteAddress: "10.0.0.2", headers: { "x-forwarded-user": "alice@example.com" } })
      assert.isFalse(r.ok)
      assert.strictEqual(r.error.details.code, "AUTH_TRUSTED_PROXY_USER_MISSING")
      assert.include(r.error.message, "gateway.auth.trustedProxy")
    }).pipe(Effect.provide(coreLayer({ auth: "trusted-proxy" }, proxyConfig()))))

  it.effect("a user value that could forge a log line, smuggle a second user or hide text is refused, never echoed", () =>
    Effect.gen(function*() {
      for (const user of ["alice\r\nlevel=info msg=admin-login", "alice, admin", "\u001b[31madmin", "al ice", "x".repeat(257), "\u202eadmin", ""]) {
        const r = yield* connect(viaProxy({ "x-forwarded-user": user }))
        assert.isFalse(r.ok, JSON.stringify(user))
        assert.include(["AUTH_TRUSTED_PROXY_USER_INVALID", "AUTH_TRUSTED_PROXY_USER_MISSING"], r.error.details.code)
        assert.notInclude(JSON.stringify(r.error), "admin")
      }
    }).pipe(Effect.provide(coreLayer({ auth: "trusted-proxy" }, proxyConfig()))))

  it.effect("allowUsers limits who the proxy may let in", () =>
    Effect.gen(function*() {
      const bob = yield* connect(viaProxy({ "x-forwarded-user": "bob@example.com" }))
      assert.strictEqual(bob.error?.details.code, "AUTH_TRUSTED_PROXY_USER_NOT_ALLOWED")
      const alice = yield* connect(viaProxy({ "x-forwarded-user": "alice@example.com" }))
      assert.isTrue(alice.ok, JSON.stringify(alice.error))
    }).pipe(Effect.provide(coreLayer({ auth: "trusted-proxy" }, proxyConfig({ allowUsers: ["alice@example.com"] })))))

  it.effect("a proxy-vouched user without a paired device gets no operator scopes (like any remote secret holder)", () =>
    Effect.gen(function*() {
      const c = yield* openMemory(viaProxy({ "x-forwarded-user": "alice@example.com" }))
      yield* c.next
      yield* c.push({ type: "req", id: "c", method: "connect", params: connectParams({ auth: {}, scopes: ["operator.admin"] }) })
      const hello = yield* c.nextMatching((f) => f.id === "c")
      assert.isTrue(hello.ok, JSON.stringify(hello.error))
      yield* c.push({ type: "req", id: "g", method: "config.get", params: {} })
      const got = yield* c.nextMatching((f) => f.id === "g")
      assert.isFalse(got.ok)
    }).pipe(Effect.provide(coreLayer({ auth: "trusted-proxy" }, proxyConfig()))))
})

// A stand-in `tailscale` on PATH: `whois --json <ip>` prints whois-<ip>.json from its directory, or hangs
// (100.64.0.2), and records each call. Other files: none → exit 1.
const stubDir = tempDir("gatehouse-tailscale-")
writeFileSync(join(stubDir, "tailscale"), [
  "#!/bin/sh",
  "d=$(dirname \"$0\")",
  "echo \"$3\" >> \"$d/calls\"",
  "[ \"$3\" = 100.64.0.2 ] && exec sleep 30",
  "cat \"$d/whois-$3.json\" 2>/dev/null || { echo 'no such peer' >&2; exit 1; }",
  ""
].join("\n"))
chmodSync(join(stubDir, "tailscale"), 0o755)
const whois = (login: string) => JSON.stringify({ Node: { Name: "laptop.tailnet.ts.net." }, UserProfile: { LoginName: login, DisplayName: "Alice" } })
writeFileSync(join(stubDir, "whois-100.64.0.1.json"), whois("alice@example.com"))
writeFileSync(join(stubDir, "whois-100.64.0.3.json"), "\u0000garbage{not json")
writeFileSync(join(stubDir, "whois-100.64.0.4.json"), whois("mallory@example.com"))
process.env.PATH = `${stubDir}:${process.env.PATH ?? ""}`
const calls = () => existsSync(join(stubDir, "calls")) ? readFileSync(join(stubDir, "calls"), "utf8").split("\n").filter((l) => l !== "") : []

const tailnetConfig = () => homeWithConfig({ gateway: { auth: { mode: "token", allowTailscale: true } } })
const serve = (ip: string, login = "alice@example.com") => ({
  remoteAddress: "127.0.0.1",
  headers: { "tailscale-user-login": login, "x-forwarded-for": ip, "x-forwarded-proto": "https", "x-forwarded-host": "gw.tailnet.ts.net" }
})

describe("Tailscale Serve identity", () => {
  it.live("a login confirmed by tailscale whois admits the client without the token, and is cached briefly", () =>
    Effect.gen(function*() {
      const before = calls().filter((c) => c === "100.64.0.1").length
      const first = yield* connect(serve("100.64.0.1"))
      assert.isTrue(first.ok, JSON.stringify(first.error))
      const second = yield* connect(serve("100.64.0.1"))
      assert.isTrue(second.ok, JSON.stringify(second.error))
      assert.strictEqual(calls().filter((c) => c === "100.64.0.1").length - before, 1)
    }).pipe(Effect.provide(coreLayer({}, tailnetConfig()))))

  it.live("a header login that whois contradicts is refused", () =>
    Effect.gen(function*() {
      const r = yield* connect(serve("100.64.0.4", "alice@example.com"))
      assert.isFalse(r.ok)
      assert.strictEqual(r.error.details.code, "AUTH_TAILSCALE_IDENTITY_MISMATCH")
    }).pipe(Effect.provide(coreLayer({}, tailnetConfig()))))

  it.live("a login that whois contradicts counts as a wrong credential: ten of them lock that tailnet client out", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* connect(serve("100.64.0.4"))).error?.details.code, "AUTH_TAILSCALE_IDENTITY_MISMATCH")
      // Counted under the tailscale kind: the next claim from that client is refused before whois is asked.
      assert.strictEqual((yield* connect(serve("100.64.0.4"))).error?.details.code, "AUTH_RATE_LIMITED")
      const other = yield* connect(serve("100.64.0.1"))
      assert.isTrue(other.ok, JSON.stringify(other.error))
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { trustedProxies: ["127.0.0.1"], auth: { mode: "token", allowTailscale: true } } })))))

  it.live("whois printing garbage, or hanging, confirms nobody (and the hang is cut at its timeout)", () =>
    Effect.gen(function*() {
      const garbage = yield* connect(serve("100.64.0.3"))
      assert.strictEqual(garbage.error?.details.code, "AUTH_TAILSCALE_WHOIS_FAILED")
      const started = Date.now()
      const hung = yield* connect(serve("100.64.0.2"))
      assert.strictEqual(hung.error?.details.code, "AUTH_TAILSCALE_WHOIS_FAILED")
      assert.isBelow(Date.now() - started, 6_000)
      const unknown = yield* connect(serve("100.64.0.9"))
      assert.strictEqual(unknown.error?.details.code, "AUTH_TAILSCALE_WHOIS_FAILED")
    }).pipe(Effect.provide(coreLayer({}, tailnetConfig()))), 20_000)

  it.live("Tailscale headers from a non-loopback peer, or without Serve's forwarded headers, are no identity at all", () =>
    Effect.gen(function*() {
      const before = calls().length
      const remote = yield* connect({ ...serve("100.64.0.1"), remoteAddress: "100.64.0.1" })
      assert.isFalse(remote.ok)
      const bare = yield* connect({ remoteAddress: "127.0.0.1", headers: { "tailscale-user-login": "alice@example.com" } })
      assert.isFalse(bare.ok)
      const forgedLoopback = yield* connect(serve("127.0.0.1"))
      assert.isFalse(forgedLoopback.ok)
      assert.strictEqual(calls().length, before, "whois must not even be asked")
    }).pipe(Effect.provide(coreLayer({}, tailnetConfig()))))

  it.live("without gateway.auth.allowTailscale the headers are ignored", () =>
    Effect.gen(function*() {
      const r = yield* connect(serve("100.64.0.1"))
      assert.isFalse(r.ok)
    }).pipe(Effect.provide(coreLayer({}, homeWithConfig({ gateway: { auth: { mode: "token" } } })))))

  it.live("the HTTP API (/metrics) does not take Tailscale identity: it still needs the token", () =>
    Effect.gen(function*() {
      const server = yield* Layer.build(serverLayer({}, tailnetConfig())).pipe(Effect.map(Context.get(GatewayServer)))
      const res = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: serve("100.64.0.1").headers }).then((r) => r.status)
      )
      assert.strictEqual(res, 401)
    }).pipe(Effect.scoped))
})
