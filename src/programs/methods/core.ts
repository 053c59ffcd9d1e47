/**
 * Handlers of the core methods: health, status, presence, heartbeat, the
 * gateway's identity and its (redacted) config.
 */
import type { Secrets } from "../../config/resolve.ts"
import * as Effect from "effect/Effect"
import { hostname, platform, release } from "node:os"
import { redactConfig } from "../../config/redact.ts"
import { CurrentCaller } from "../../protocol/authorize.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { ChannelRunner } from "../../services/ChannelRunner.ts"
import { ConnectionHub } from "../../services/ConnectionHub.ts"
import { Discovery } from "../../services/Discovery.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { RESTART_COMMAND } from "../../config/reloadPlan.ts"
import { GatewayConfig } from "../../services/GatewayConfig.ts"
import { GatewayInfo, healthFor } from "../../services/GatewayInfo.ts"
import { satisfies } from "../../protocol/scopes.ts"
import { HostIdentity } from "../../services/HostIdentity.ts"
import { Listener } from "../../services/Listener.ts"
import { GATEHOUSE_VERSION } from "../../version.ts"

const currentCaller = Effect.service(CurrentCaller)

export const handlers = Effect.gen(function*() {
  const info = yield* GatewayInfo
  const hub = yield* ConnectionHub
  const discovery = yield* Discovery
  const listener = yield* Listener
  const channels = yield* ChannelRunner
  const { config, host, live } = yield* GatewayConfig
  const identity = yield* HostIdentity
  const { address } = yield* Listener
  return declaredIn(GatewayRpcs)({
    // A copy as a plain object: the summary is an interface, which an open record type does not accept.
    // A pipe, not a generator: it runs for every `health` request.
    "health": () => Effect.flatMap(currentCaller, (caller) => Effect.map(info.health, (h) => ({ ...healthFor(h, satisfies(caller.scopes, "operator.read")) }))),
    "status": () =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const connections = yield* hub.connections
        const admin = caller.scopes.includes("operator.admin")
        return {
          ok: true,
          version: GATEHOUSE_VERSION,
          uptimeMs: yield* info.uptimeMs,
          host: hostname(),
          os: `${platform()} ${release()}`,
          node: process.version,
          gateway: {
            bind: config.bind.value,
            host,
            // The bound port: with --port 0 the system chose it.
            port: listener.address.port,
            authMode: SubscriptionRef.getUnsafe(live).config.authMode.value,
            tls: address.tlsFingerprint === undefined ? { enabled: false } : { enabled: true, sha256: address.tlsFingerprint },
            ...(admin ? { stateDir: config.paths.stateDir, configPath: config.paths.configPath, ...secretSourceOf(SubscriptionRef.getUnsafe(live)) } : {})
          },
          connections: {
            total: connections.length,
            operators: connections.filter((c) => c.principal.role === "operator").length,
            nodes: connections.filter((c) => c.principal.role === "node").length
          },
          presence: yield* hub.presence,
          stateVersion: yield* hub.stateVersion,
          discovery: {
            mode: discovery.mode,
            advertised: (yield* discovery.advertised).map(({ host, name, port }) => ({ name, host, port })),
            state: yield* Effect.map(discovery.state, ({ lastError, ...s }) => (lastError === undefined ? s : { ...s, lastError }))
          },
          // Present only when an edit waits for a restart or the file on disk is invalid.
          ...yield* Effect.map(SubscriptionRef.get(live), (l) =>
            l.restartNeeded.length === 0 && l.invalid === undefined ? {} : {
              config: {
                restartNeeded: l.restartNeeded,
                ...(l.restartNeeded.length === 0 ? {} : { restartCommand: RESTART_COMMAND }),
                // The reason names the file's path: only admins see it.
                ...(l.invalid === undefined ? {} : { invalid: admin ? l.invalid : "the config file is invalid; the last good config is in force (see the gateway log)" })
              }
            }),
          channels: (yield* channels.status).map(({ details: _details, lastError, ...c }) => (lastError === undefined ? c : { ...c, lastError }))
        }
      }),
    "diagnostics.stability": () =>
      Effect.map(info.vitals, (v) => ({
        count: 0,
        capacity: 0,
        dropped: 0,
        summary: {
          byType: {},
          memory: { latest: { rssBytes: v.rssBytes, heapUsedBytes: v.heapUsedBytes }, maxRssBytes: v.maxRssBytes, pressureCount: 0 }
        },
        events: [],
        uptimeMs: v.uptimeMs,
        eventLoop: v.eventLoop
      })),
    "system-presence": () => hub.presence,
    "last-heartbeat": () => info.lastHeartbeat,
    "gateway.identity.get": () => Effect.succeed({ deviceId: identity.deviceId, publicKey: identity.publicKey }),
    // The config in force (the last good file), not the one the gateway started with.
    "config.get": () =>
      Effect.map(SubscriptionRef.get(live), ({ config: current }) => ({
        path: config.paths.configPath,
        exists: current.file.exists,
        config: redactConfig(current.file.document)
      }))
  })
})

// Where the secret of the mode in force came from (flag, env, file, state): `config show` asks, since only the
// running gateway knows which environment it was started with. The source, never the secret.
const secretSourceOf = (live: { readonly config: { readonly authMode: { readonly value: string } }; readonly secrets: Secrets }) => {
  const mode = live.config.authMode.value
  const secret = mode === "token" ? live.secrets.token : mode === "password" ? live.secrets.password : undefined
  return secret === undefined ? {} : { secretSource: secret.source }
}
