/**
 * The composition root: the gateway as Layers.
 *
 * - `layer` is the gateway itself (the RPC server with its handlers behind the
 *   Authorize middleware, the connection program on the Listener, the periodic
 *   broadcasts). It takes every service from outside, so its type lists what is
 *   still missing, and it outputs only `GatewayServer`: the RPC protocol and
 *   frame router stay inside.
 * - `layerDefault(swaps)` adds the embedded defaults (file pairing state under
 *   the state dir, or PostgreSQL when configured; in-memory rate limiter; the `ws`
 *   listener; mDNS discovery on a machine with a LAN, chosen by `discovery.mdns.mode`
 *   and OPENCLAW_DISABLE_BONJOUR; the configured channels answered by the rules
 *   agent, none when no channel is configured), each replaceable by a swap, and
 *   also outputs the public contracts so the embedding program can use them.
 * - `layerProcess(overrides)` is the daemon: config from flags, environment and
 *   the state dir.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RpcServer from "effect/rpc/RpcServer"
import type { ConfigError } from "./config/errors.ts"
import type { Overrides } from "./config/resolve.ts"
import * as AgentRules from "./layers/AgentRules.ts"
import * as AuthLive from "./layers/AuthLive.ts"
import * as AuthorizeLive from "./layers/AuthorizeLive.ts"
import * as ChannelRunnerLive from "./layers/ChannelRunnerLive.ts"
import * as ChatHistoryFile from "./layers/ChatHistoryFile.ts"
import * as ChatRunsLive from "./layers/ChatRunsLive.ts"
import * as ConnectionHubLive from "./layers/ConnectionHubLive.ts"
import * as DevicePairingLive from "./layers/DevicePairingLive.ts"
import * as DiscoveryDisabled from "./layers/DiscoveryDisabled.ts"
import * as DiscoveryReloading from "./layers/DiscoveryReloading.ts"
import * as ListenerWs from "./layers/ListenerWs.ts"
import * as LogTailLive from "./layers/LogTailLive.ts"
import * as NodeRegistryLive from "./layers/NodeRegistryLive.ts"
import * as OtelExport from "./layers/OtelExport.ts"
import * as PairingStoreFile from "./layers/PairingStoreFile.ts"
import type { PairingStorePgError } from "./layers/PairingStorePg.ts"
import { pendingBudgetOf } from "./pairing/pendingBudget.ts"
import type { RateLimiterRedisError } from "./layers/RateLimiterRedis.ts"
import * as RateLimiterMemory from "./layers/RateLimiterMemory.ts"
import * as RpcFrameProtocol from "./layers/RpcFrameProtocol.ts"
import * as Methods from "./programs/methods/layer.ts"
import { acquireProfileLock } from "./programs/profileLock.ts"
import { serveGateway } from "./programs/serveGateway.ts"
import { reportConfigChanges, watchConfigFiles } from "./programs/watchConfig.ts"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { ensureToken, refuseUnsafe } from "./programs/startupChecks.ts"
import { GatewayRpcs } from "./protocol/methods.ts"
import type { Agent } from "./services/Agent.ts"
import type { Auth } from "./services/Auth.ts"
import type { ChannelRunner } from "./services/ChannelRunner.ts"
import type { ChatHistory } from "./services/ChatHistory.ts"
import type { ChatRuns } from "./services/ChatRuns.ts"
import type { ConnectionHub } from "./services/ConnectionHub.ts"
import type { DevicePairing } from "./services/DevicePairing.ts"
import type { Discovery } from "./services/Discovery.ts"
import { GatewayConfig } from "./services/GatewayConfig.ts"
import { GatewayInfo } from "./services/GatewayInfo.ts"
import { GatewayServer } from "./services/GatewayServer.ts"
import { HostIdentity } from "./services/HostIdentity.ts"
import { Listener, type ListenerError } from "./services/Listener.ts"
import type { LogTail } from "./services/LogTail.ts"
import type { NodePairingStore } from "./services/NodePairingStore.ts"
import type { NodeRegistry } from "./services/NodeRegistry.ts"
import type { PairingStore } from "./services/PairingStore.ts"
import type { RateLimiter } from "./services/RateLimiter.ts"

/**
 * The rate limiter the config asks for: Redis, shared by several gateways, when
 * `gateway.rateLimit.redisUrl` (or GATEHOUSE_REDIS_URL) is set, else `fallback`
 * (in memory by default).
 */
export const layerRateLimiter = <E, R>(
  fallback: Layer.Layer<RateLimiter, E, R>
): Layer.Layer<RateLimiter, E | RateLimiterRedisError, R | GatewayConfig> =>
  Layer.unwrap(Effect.gen(function*(): Effect.fn.Return<Layer.Layer<RateLimiter, E | RateLimiterRedisError, R | GatewayConfig>, never, GatewayConfig> {
    const { config } = yield* GatewayConfig
    if (config.redisUrl === undefined) return fallback
    // Loaded only when configured: the Redis client is not needed by a single gateway.
    const Redis = yield* Effect.promise(() => import("./layers/RateLimiterRedis.ts"))
    return Redis.layer(config.redisUrl)
  }))

/**
 * The pairing stores the config asks for: PostgreSQL when `state.postgres.url` (or
 * GATEHOUSE_POSTGRES_URL) is set, else `fallback` (the file store by default).
 */
export const layerPairingStores = <E, R>(
  fallback: Layer.Layer<PairingStore | NodePairingStore, E, R>
): Layer.Layer<PairingStore | NodePairingStore, E | PairingStorePgError, R | GatewayConfig> =>
  Layer.unwrap(Effect.gen(function*(): Effect.fn.Return<Layer.Layer<PairingStore | NodePairingStore, E | PairingStorePgError, R>, never, GatewayConfig> {
    const { config } = yield* GatewayConfig
    if (config.postgresUrl === undefined) return fallback
    // Loaded only when configured: the PostgreSQL client adds ~0.1 s to every start otherwise.
    const Pg = yield* Effect.promise(() => import("./layers/PairingStorePg.ts"))
    return Pg.layer(config.postgresUrl, pendingBudgetOf(config.limits))
  }))

/**
 * The Discovery the config asks for: mDNS (advertising per `discovery.mdns.mode`) when
 * this machine has a LAN interface, else disabled. Off under `discovery.mdns.mode: "off"`,
 * OPENCLAW_DISABLE_BONJOUR=1, and inside a vitest worker (as OpenClaw does), so a test
 * never multicasts onto a real network. With `discovery.wideArea.domain` set, the same
 * layer also keeps the wide-area zone file current (even with mDNS off). A reload that
 * changes `discovery.*` rebuilds it (DiscoveryReloading).
 */
export const layerDiscovery: Layer.Layer<Discovery, never, GatewayConfig> = DiscoveryReloading.layer((config) => Layer.unwrap(
  Effect.gen(function*() {
    const d = config.discovery
    if ((d.mdnsMode.value === "off" && d.wideArea === undefined) || process.env.VITEST !== undefined) return DiscoveryDisabled.layer
    // Loaded only when used: multicast-dns and its codec are not needed by a gateway without discovery.
    const Mdns = yield* Effect.promise(() => import("./layers/DiscoveryMdns.ts"))
    if (!Mdns.hasLanInterface(d.interfaces)) {
      yield* Effect.logInfo(`discovery: no LAN interface${d.interfaces.length === 0 ? "" : ` among ${d.interfaces.join(", ")}`}; mDNS is off`)
      return DiscoveryDisabled.layer
    }
    return Mdns.layerFor(d)
  })
))

/**
 * The channel runner, answering with `agent` (the rules agent by default); built even
 * with no channel configured, so a config reload can start one.
 */
export const layerChannels = <E, R>(
  agent: Layer.Layer<Agent, E, R>
): Layer.Layer<ChannelRunner, E, R | GatewayConfig | ChatHistory> =>
  ChannelRunnerLive.layer.pipe(Layer.provide(agent))

/** The agent the config names: the rules agent, or the model-backed one (loaded only when a model is configured). */
export const layerAgent: Layer.Layer<Agent, never, GatewayConfig | NodeRegistry | GatewayInfo> = Layer.unwrap(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const rules: Layer.Layer<Agent, never, GatewayConfig | NodeRegistry | GatewayInfo> = AgentRules.layer
    if (config.agent.provider === "rules") {
      if (config.agent.note !== undefined) yield* Effect.logWarning(`agent: ${config.agent.note}`)
      return rules
    }
    const Model = yield* Effect.promise(() => import("./layers/AgentLanguageModel.ts"))
    return Model.layerConfig
  })
)

/** The contracts a running gateway is made of, all taken from outside by `layer`. */
export type Services =
  | GatewayConfig
  | Auth
  | RateLimiter
  | PairingStore
  | NodePairingStore
  | DevicePairing
  | NodeRegistry
  | ConnectionHub
  | GatewayInfo
  | HostIdentity
  | Discovery
  | ChannelRunner
  | Listener
  | ChatHistory
  | ChatRuns
  | LogTail

/** What `layerDefault` gives the embedding program: the running gateway and its public contracts. */
export type Provided = GatewayServer | Exclude<Services, GatewayConfig>

/**
 * Before anything listens: the profile lock (one gateway per state dir and port),
 * the token generated on first start, and the refusal of unsafe binds.
 */
export const layerStartup: Layer.Layer<never, ConfigError, GatewayConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    yield* acquireProfileLock(config.paths.stateDir, config.port.value, yield* Clock.currentTimeMillis, config.tls.enabled.value)
    yield* ensureToken
    yield* refuseUnsafe
    for (const key of config.file.unknownKeys) {
      yield* Effect.logWarning(`config ${config.paths.configPath}: key "${key}" is not used by gatehouse (ignored)`)
    }
  })
)

// A handler that dies answers its own request (with a correlation id) instead of ending the client's session.
// Spans only when OpenTelemetry export is configured: tracing every request costs the per-frame path otherwise.
const Rpc = Layer.unwrap(GatewayConfig.useSync(({ config }) =>
  RpcServer.layer(GatewayRpcs, { disableTracing: OtelExport.otelSettings(config.file.config) === undefined, concurrency: "unbounded", disableFatalDefects: true })
)).pipe(
  Layer.provide(Layer.mergeAll(Methods.layer, AuthorizeLive.layer))
)

/** Config hot reload: the file watcher and the reporter of what each change did, as supervised fibers. */
export const layerConfigReload: Layer.Layer<never, never, GatewayConfig | ConnectionHub | DevicePairing> = Layer.mergeAll(
  Layer.effectDiscard(Effect.forkScoped(watchConfigFiles)).pipe(Layer.provide(NodeFileSystem.layer)),
  Layer.effectDiscard(Effect.forkScoped(reportConfigChanges))
)

/** The gateway, given every service. Outputs `GatewayServer` (where it listens). */
export const layer: Layer.Layer<GatewayServer, ConfigError, Services> = Layer.mergeAll(
  layerConfigReload,
  Layer.effect(GatewayServer, Listener.useSync((listener) => listener.address)),
  Layer.mergeAll(Rpc, Layer.effectDiscard(serveGateway)).pipe(Layer.provide(RpcFrameProtocol.layer))
).pipe(Layer.provide(layerStartup))

/** Layers that replace one default each; each may use the services of the tiers below it. */
export interface Swaps<E = never> {
  readonly pairingStores?: Layer.Layer<PairingStore | NodePairingStore, E, GatewayConfig>
  readonly rateLimiter?: Layer.Layer<RateLimiter, E, GatewayConfig>
  readonly connectionHub?: Layer.Layer<ConnectionHub, E, GatewayConfig>
  readonly gatewayInfo?: Layer.Layer<GatewayInfo, E, GatewayConfig>
  readonly hostIdentity?: Layer.Layer<HostIdentity, E, GatewayConfig>
  readonly discovery?: Layer.Layer<Discovery, E, GatewayConfig>
  /** The recent log lines for `logs.tail` (default: a ring fed by the gateway's logger, and the log file). */
  readonly logTail?: Layer.Layer<LogTail, E, GatewayConfig>
  readonly listener?: Layer.Layer<Listener, E, GatewayConfig>
  readonly devicePairing?: Layer.Layer<DevicePairing, E, GatewayConfig | Tier0>
  readonly nodeRegistry?: Layer.Layer<NodeRegistry, E, GatewayConfig | Tier0>
  readonly auth?: Layer.Layer<Auth, E, GatewayConfig | Tier0 | Tier1>
  /** The agent the default channel runner answers with. */
  readonly agent?: Layer.Layer<Agent, E, GatewayConfig | Tier0 | Tier1>
  readonly channelRunner?: Layer.Layer<ChannelRunner, E, GatewayConfig | Tier0 | Tier1>
  /** Transcripts (default: files under the state dir). */
  readonly chatHistory?: Layer.Layer<ChatHistory, E, GatewayConfig>
  /** WebChat and `agent` runs (default: runs of `agent` on this gateway). */
  readonly chatRuns?: Layer.Layer<ChatRuns, E, GatewayConfig | Tier0 | Tier1>
}

type Tier0 = PairingStore | NodePairingStore | RateLimiter | ConnectionHub | GatewayInfo | HostIdentity | Discovery | ChatHistory | LogTail
type Tier1 = DevicePairing | NodeRegistry

/** The embedded default of every service, with `swaps` in place of the ones given. */
export const layerServices = <E = never>(
  swaps: Swaps<E> = {}
): Layer.Layer<Exclude<Services, GatewayConfig>, E | ConfigError | ListenerError | PairingStorePgError | RateLimiterRedisError, GatewayConfig> => {
  const tier0 = Layer.mergeAll(
    swaps.pairingStores ?? layerPairingStores(PairingStoreFile.layer),
    swaps.rateLimiter ?? layerRateLimiter(RateLimiterMemory.layer),
    swaps.connectionHub ?? ConnectionHubLive.layer,
    swaps.gatewayInfo ?? GatewayInfo.layer,
    swaps.hostIdentity ?? HostIdentity.layer,
    swaps.discovery ?? layerDiscovery,
    swaps.chatHistory ?? ChatHistoryFile.layer,
    swaps.logTail ?? LogTailLive.layer
  )
  const tier1 = Layer.mergeAll(swaps.devicePairing ?? DevicePairingLive.layer, swaps.nodeRegistry ?? NodeRegistryLive.layer)
  // One agent layer (built once) answers channels and chat runs alike.
  const agent = swaps.agent ?? layerAgent
  const tier2 = Layer.mergeAll(
    swaps.auth ?? AuthLive.layer,
    swaps.channelRunner ?? layerChannels(agent),
    swaps.chatRuns ?? ChatRunsLive.layer.pipe(Layer.provide(agent))
  )
  const services = tier2.pipe(
    Layer.provideMerge(tier1),
    Layer.provideMerge(tier0),
    // The profile lock comes first, so a second gateway on the same state dir says why it cannot start.
    Layer.provideMerge(layerStartup),
    // Under everything, so every service's spans reach the exporter and its last flush runs after they stop.
    Layer.provideMerge(OtelExport.layer)
  )
  // The port is bound last: nothing is accepted (and /readyz says nothing) before every service is up.
  const listener: Layer.Layer<Listener, E | ListenerError, GatewayConfig | RateLimiter> = swaps.listener ?? ListenerWs.layer
  return listener.pipe(Layer.provideMerge(services))
}

/** The gateway with its embedded defaults (and `swaps`), given a GatewayConfig. */
export const layerDefault = <E = never>(swaps: Swaps<E> = {}): Layer.Layer<Provided, E | ConfigError | ListenerError | PairingStorePgError | RateLimiterRedisError, GatewayConfig> =>
  layer.pipe(Layer.provideMerge(layerServices(swaps)))

/** The gateway for a process: config from flags, `process.env` and the state dir. */
export const layerProcess = (overrides: Overrides) => layerDefault().pipe(Layer.provideMerge(GatewayConfig.layer(overrides)))
