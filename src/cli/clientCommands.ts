/**
 * Client commands that talk to a gateway: `health`, `status [--deep]`, and
 * `gateway {health,status,call}`. Without flags they reach this host's gateway
 * for the chosen profile; `--url` needs explicit credentials. Every client
 * command gets its Transport here, at the edge.
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Prompt from "effect/cli/Prompt"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Path from "effect/Path"
import * as Result from "effect/Result"
import type * as Terminal from "effect/Terminal"
import { createInterface } from "node:readline/promises"
import { ConfigError } from "../config/errors.ts"
import * as DiscoveryBrowseOnDemand from "../layers/DiscoveryBrowseOnDemand.ts"
import * as DiscoveryDisabled from "../layers/DiscoveryDisabled.ts"
import * as TransportDirect from "../layers/TransportDirect.ts"
import * as TransportSsh from "../layers/TransportSsh.ts"
import { type DiscoveryHooks, resolveTarget, type ResolvedTarget, withDevice } from "../programs/clientTarget.ts"
import { Discovery } from "../services/Discovery.ts"
import type { DiscoveredCandidate } from "../transport/selection.ts"
import * as PinStoreFile from "../layers/PinStoreFile.ts"
import { withPin } from "../programs/clientTarget.ts"
import { confirmFirstUse } from "../programs/tlsPin.ts"
import { callGateway, callRpc, type Method, openSession, type PayloadSchema, type SuccessSchema } from "../programs/gatewayClient.ts"
import { DiagnosticsStability, Health, type HealthSummary, type StabilitySnapshot, LastHeartbeat, Status, type StatusResult, SystemPresence } from "../protocol/rpcs/core.ts"
import { isLoopbackIp } from "../net/ip.ts"
import { printable } from "../text/printable.ts"
import { formatSshTarget } from "../transport/ssh.ts"
import { failureJson, printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { serviceFacts, serviceLine } from "./serviceUnit.ts"
import { profilePaths } from "../config/paths.ts"
import { targetFlags } from "./targetFlags.ts"

export type TargetInput = {
  readonly json?: boolean
  readonly timeout?: number
  readonly tlsFingerprint: Option.Option<string>
  readonly trustFingerprint: Option.Option<string>
  readonly url: Option.Option<string>
  readonly token: Option.Option<import("effect/Redacted").Redacted<string>>
  readonly password: Option.Option<import("effect/Redacted").Redacted<string>>
  readonly ssh: Option.Option<string>
  readonly sshIdentity: Option.Option<string>
}

/** Where this command run reaches its gateway: resolved once, before the Transport is chosen. */
export class ClientRoute extends Context.Service<ClientRoute, Result.Result<ResolvedTarget, ConfigError>>()("gatehouse/cli/ClientRoute") {}

/**
 * Discovery for the selection policy: browse with the `Discovery` in context
 * (disabled unless a browsing layer is provided) and let the user choose on a
 * terminal; without one, nothing is chosen.
 */
const discoveryHooks = Effect.gen(function*() {
  const discovery = yield* Discovery
  const prompting = yield* Effect.context<Terminal.Terminal | FileSystem.FileSystem | Path.Path>()
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !process.argv.includes("--json")
  const hooks: DiscoveryHooks = {
    browse: discovery.mode === "disabled"
      ? Effect.succeed({ candidates: [], note: "discovery is disabled" })
      : discovery.browse(2000).pipe(
        Effect.map((found) => ({
          // A discovered gateway is a new, unpinned endpoint: wss:// only (its certificate is confirmed on first use),
          // and never one on this host or a non-routable address, which an advertiser could name to catch credentials.
          candidates: found.filter((g) => routable(g.host)).map((g) => ({
            name: printable(g.name, 64),
            url: `wss://${g.host.includes(":") ? `[${g.host}]` : g.host}:${g.port}`
          })),
          note: found.length === 0 ? `discovery (${discovery.mode}) found no gateway` : undefined
        })),
        Effect.catch((e) => Effect.succeed({ candidates: [], note: `discovery failed: ${e.message}` }))
      ),
    choose: (candidates) =>
      interactive
        ? Prompt.run(Prompt.Select({
          message: "The configured gateway does not answer. Connect to a discovered one? (Its certificate is shown for you to confirm; " +
            "the configured token is not sent to it.)",
          choices: [
            ...candidates.map((c) => ({ title: `${c.name} (${c.url})`, value: c as DiscoveredCandidate | undefined })),
            { title: "none of these", value: undefined }
          ]
        })).pipe(Effect.orElseSucceed(() => undefined), Effect.provideContext(prompting))
        : Effect.succeed(undefined)
  }
  return hooks
})

// Loopback, unspecified and link-local addresses are never taken from an advertisement.
const routable = (host: string) => {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase()
  return !isLoopbackIp(h) && h !== "0.0.0.0" && h !== "::" && !h.startsWith("169.254.") && !/^fe[89ab]/.test(h) && h !== "localhost"
}

/** Resolves a client command's target and route from its flags, the profile and the config. */
export const resolveRoute = (flags: TargetInput) =>
  Effect.gen(function*() {
    const shared = yield* root
    const discovery = yield* discoveryHooks
    return yield* resolveTarget({
      url: Option.getOrUndefined(flags.url),
      token: Option.getOrUndefined(flags.token),
      password: Option.getOrUndefined(flags.password),
      ssh: Option.getOrUndefined(flags.ssh),
      sshIdentity: Option.getOrUndefined(flags.sshIdentity),
      profile: Option.getOrUndefined(shared.profile),
      dev: shared.dev
    }, process.env, 3000, discovery)
  })

/** The Transport layer for a resolved route: an SSH forward, or direct sockets. */
export const transportFor = (t: ResolvedTarget) =>
  t.selection.route?.kind === "ssh"
    ? TransportSsh.layer({ ...t.selection.route.ssh, command: sshCommand(process.env) })
    : TransportDirect.layer

/**
 * Gives a client command the Transport it reaches gateways with: the route is
 * resolved once from the flags and config (--url/--ssh, else the selection
 * policy), and the layer follows from it. A resolution failure is kept for the
 * command body to report (`target` fails with it).
 */
export const withTransport = <const Name extends string, Input extends TargetInput, ContextInput, E, R>(
  command: Command.Command<Name, Input, ContextInput, E, R>
) =>
  Command.provide(command, (flags: Input) =>
    Layer.unwrap(Effect.gen(function*() {
      // Browsing happens only if the selection reaches its "discovered" step (remote mode, direct endpoint unreachable).
      const discovery = process.env.OPENCLAW_DISABLE_BONJOUR === "1" ? DiscoveryDisabled.layer : DiscoveryBrowseOnDemand.layer
      const route = yield* Effect.result(resolveRoute(flags).pipe(Effect.provide(discovery)))
      return Layer.merge(Layer.succeed(ClientRoute, route), Result.isSuccess(route) ? transportFor(route.success) : TransportDirect.layer)
    })))

/** The target of a client command (as `withTransport` resolved it), signed with this host's device identity. */
export const target = (flags: TargetInput) =>
  Effect.gen(function*() {
    const route = yield* ClientRoute
    if (Result.isFailure(route)) return yield* route.failure
    const resolved = route.success
    const pinned = yield* Effect.gen(function*() {
      const decided = yield* withPin(resolved, {
        tlsFingerprint: Option.getOrUndefined(flags.tlsFingerprint),
        trustFingerprint: Option.getOrUndefined(flags.trustFingerprint)
      })
      // First use on a terminal: show the presented fingerprint and ask (never with --json, never without a TTY).
      const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true && flags.json !== true
      return interactive ? yield* confirmFirstUse(decided, askYesNo, flags.timeout ?? 10_000) : decided
    }).pipe(Effect.provide(PinStoreFile.layer(resolved.stateDir)))
    return yield* withDevice(pinned)
  })

/** `GATEHOUSE_SSH_COMMAND` (like GIT_SSH_COMMAND): the ssh program and leading arguments, split on spaces. */
export const sshCommand = (env: Record<string, string | undefined>) => {
  const words = (env.GATEHOUSE_SSH_COMMAND ?? "").trim().split(/\s+/).filter((w) => w.length > 0)
  return words.length === 0 ? undefined : words
}

/** Calls `method` on the command's gateway and returns its answer, decoded with the method's schema. */
export const callMethod = <Tag extends string, P extends PayloadSchema, S extends SuccessSchema>(
  flags: TargetInput & { readonly timeout: number },
  method: Method<Tag, P, S>,
  payload: P["Type"],
  timeoutMs = flags.timeout
) => Effect.flatMap(target(flags), (t) => Effect.map(callRpc(t, method, payload, { timeoutMs }), (r) => r.payload))

const healthBody = (flags: TargetInput & { readonly json: boolean; readonly timeout: number }) =>
  Effect.gen(function*() {
    const t = yield* target(flags)
    const started = yield* Clock.currentTimeMillis
    const { payload } = yield* callRpc(t, Health, {}, { timeoutMs: flags.timeout })
    const ms = (yield* Clock.currentTimeMillis) - started
    if (flags.json) return yield* printJson(payload)
    const via = t.selection.route?.kind === "ssh" ? ` (through ssh ${formatSshTarget(t.selection.route.ssh)})` : ""
    yield* Console.log(`Gateway Health\nOK (${ms}ms) · ${t.url}${via}${payload.eventLoop === undefined ? "" : `\n${eventLoopLine(payload.eventLoop)}`}`)
  })

/** "Event loop: ok max=…ms p99=…ms util=… cpu=…", the line `openclaw health` prints from the same figures. */
export const eventLoopLine = (e: NonNullable<HealthSummary["eventLoop"]>) =>
  `Event loop: ${e.degraded ? `degraded (${e.reasons.map(printable).join(", ")})` : "ok"} max=${Math.round(e.delayMaxMs)}ms ` +
  `p99=${Math.round(e.delayP99Ms)}ms util=${e.utilization} cpu=${e.cpuCoreRatio}`

const healthCommand = (name: string) =>
  Command.make(name, targetFlags, (flags) => reportFailures(healthBody(flags), flags.json)).pipe(
    withTransport,
    Command.withDescription("Check that the gateway answers (prints OK)")
  )

export const health = healthCommand("health")
export const gatewayHealth = healthCommand("health")

const statusBody = (
  flags: TargetInput & { readonly json: boolean; readonly timeout: number; readonly deep: boolean; readonly all: boolean },
  withService = false
) =>
  Effect.gen(function*() {
    // --all is --deep plus the process figures: everything worth pasting into a bug report (no secrets).
    const deepened = flags.deep || flags.all
    // `gateway status` also says what this host knows without asking the gateway: its unit and its process.
    const svc = withService ? yield* localService : undefined
    const service = svc === undefined ? {} : { service: svc }
    const t = yield* target(flags)
    const started = yield* Clock.currentTimeMillis
    const probe = yield* Effect.scoped(Effect.gen(function*() {
      const session = yield* openSession(t, { timeoutMs: flags.timeout })
      const connectedMs = (yield* Clock.currentTimeMillis) - started
      const status = yield* session.call(Status, {})
      const deep = deepened
        ? {
          health: yield* session.call(Health, { probe: true }),
          lastHeartbeat: yield* session.call(LastHeartbeat, {}),
          presence: yield* session.call(SystemPresence, {}),
          ...(flags.all ? { stability: yield* session.call(DiagnosticsStability, {}) } : {})
        }
        : undefined
      return { connectedMs, hello: session.hello, status, deep }
    })).pipe(Effect.result)
    if (Result.isFailure(probe)) {
      if (flags.json) {
        const failed = failureJson(probe.failure)
        yield* printJson({
          ...failed,
          url: t.url,
          reachable: probe.failure.kind !== "unreachable",
          ...service,
          ...(deepened ? { transport: transportReport(t) } : {})
        })
      } else {
        yield* Console.log(`Gateway  ${t.url} · ${probe.failure.kind === "unreachable" ? "unreachable" : "error"}`)
        if (svc !== undefined) yield* Console.log(`Service  ${serviceLine(svc)}`)
        if (deepened) yield* Console.log(transportLines(t).join("\n"))
        yield* Console.error(`error: ${probe.failure.message}`)
      }
      return yield* Effect.sync(() => {
        process.exitCode = 1
      })
    }
    const { connectedMs, deep, status } = probe.success
    if (flags.json) {
      return yield* printJson({ ok: true, url: t.url, latencyMs: connectedMs, status, ...service, ...(deep === undefined ? {} : { ...deep, transport: transportReport(t) }) })
    }
    const s = status
    yield* Console.log([
      "gatehouse status",
      "",
      `Gateway   ${t.url} (${originLabel(t)}) · reachable ${connectedMs}ms · auth ${s.gateway.authMode}`,
      `Version   ${s.version} · uptime ${formatDuration(s.uptimeMs)} · ${s.os} · node ${s.node}`,
      ...(svc === undefined ? [] : [`Service   ${serviceLine(svc)}`]),
      `Bind      ${s.gateway.bind} (${s.gateway.host}:${s.gateway.port})`,
      `TLS       ${s.gateway.tls?.enabled === true ? `on · sha256 ${s.gateway.tls.sha256 ?? "?"}` : "off"}`,
      `Clients   ${s.connections.total} connected (${s.connections.operators} operator, ${s.connections.nodes} node)`,
      `Discovery ${discoveryLine(s.discovery)}`,
      `Channels  ${s.channels.length === 0 ? "none configured" : s.channels.map((c) => `${c.label} ${c.running ? "running" : c.enabled ? "stopped" : "disabled"}${c.lastError === undefined ? "" : ` (${c.lastError})`}`).join(", ")}`,
      ...(s.gateway.configPath === undefined ? [] : [`Config    ${s.gateway.configPath}`, `State     ${s.gateway.stateDir}`]),
      ...(s.config?.invalid === undefined ? [] : [`Config    INVALID, last good config in force: ${s.config.invalid}`]),
      ...(s.config === undefined || s.config.restartNeeded.length === 0
        ? []
        : [`Restart   needed for ${s.config.restartNeeded.join(", ")}: run \`${s.config.restartCommand ?? "gatehouse gateway restart"}\``])
    ].join("\n"))
    if (deep !== undefined) {
      const presence = deep.presence
      yield* Console.log([
        "",
        ...transportLines(t),
        `Health         ${deep.health.ok ? "OK" : "degraded"}`,
        ...(deep.health.eventLoop === undefined ? [] : [`${eventLoopLine(deep.health.eventLoop).replace(": ", "     ")}`]),
        ...(deep.stability === undefined ? [] : [stabilityLine(deep.stability)]),
        `Last heartbeat ${deep.lastHeartbeat === null ? "none" : JSON.stringify(deep.lastHeartbeat)}`,
        `Presence       ${presence.length} entr${presence.length === 1 ? "y" : "ies"}`,
        ...presence.map((p) => `  - ${p.host ?? "?"} · ${p.mode ?? "?"}${p.ip === undefined ? "" : ` · ${p.ip}`} · ${p.reason ?? ""}`)
      ].join("\n"))
    }
  })

// Memory and the event loop since start, from `diagnostics.stability`.
const stabilityLine = (s: typeof StabilitySnapshot.Type) =>
  `Process        rss=${mib(s.summary.memory.latest.rssBytes)} heap=${mib(s.summary.memory.latest.heapUsedBytes)} maxRss=${mib(s.summary.memory.maxRssBytes)} · ` +
  `event loop since start p99=${Math.round(s.eventLoop.delayP99Ms)}ms max=${Math.round(s.eventLoop.delayMaxMs)}ms`

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`

const discoveryLine = (d: typeof StatusResult.Type["discovery"]) => {
  const state = d.state === undefined || d.mode !== "mdns"
    ? ""
    : ` · ${d.state.phase}${d.state.interfaces.length === 0 ? "" : ` on ${d.state.interfaces.join(", ")}`}` +
      `${d.state.conflicts === 0 ? "" : ` · ${d.state.conflicts} name conflict(s)`}` +
      `${d.state.restarts === 0 ? "" : ` · ${d.state.restarts} restart(s)`}${d.state.lastError === undefined ? "" : ` · last error: ${d.state.lastError}`}`
  const adverts = d.advertised.length === 0 ? "" : ` · advertising ${d.advertised.map((a) => `${a.name} (${a.host}:${a.port})`).join(", ")}`
  return `${d.mode}${state}${adverts}`
}

// The unit and lock facts of the profile the command runs for.
const localService = Effect.gen(function*() {
  const shared = yield* root
  const profile = shared.dev ? "dev" : Option.getOrUndefined(shared.profile)
  return yield* serviceFacts(profile, profilePaths(profile, process.env).stateDir)
})

const statusCommand = (name: string, withService = false) =>
  Command.make(
    name,
    {
      ...targetFlags,
      deep: Flag.Boolean("deep").pipe(Flag.withDescription("Also run health, last-heartbeat and presence"), Flag.withDefault(false)),
      all: Flag.Boolean("all").pipe(Flag.withDescription("--deep plus memory and event-loop figures: a report to paste (no secrets)"), Flag.withDefault(false))
    },
    (flags) => reportFailures(statusBody(flags, withService), flags.json)
  ).pipe(withTransport, Command.withDescription("Show whether the gateway is reachable and what it runs"))

export const status = statusCommand("status")
export const gatewayStatus = statusCommand("status", true)

export const call = Command.make(
  "call",
  {
    ...targetFlags,
    method: Argument.String("method").pipe(Argument.withDescription("Gateway method, e.g. health, status, config.get")),
    params: Flag.String("params").pipe(Flag.withDescription("Method params as a JSON object"), Flag.withDefault("{}"))
  },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const params = Result.try(() => JSON.parse(flags.params) as unknown)
        if (Result.isFailure(params) || typeof params.success !== "object" || params.success === null || Array.isArray(params.success)) {
          return yield* new ConfigError({ reason: "invalid", message: `--params must be a JSON object, e.g. --params '{"probe":true}'` })
        }
        const t = yield* target(flags)
        const { payload } = yield* callGateway(t, flags.method, params.success, { timeoutMs: flags.timeout })
        yield* printJson(payload)
      }),
      flags.json
    )
).pipe(withTransport, Command.withDescription("Call any gateway method and print its JSON result"))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const askYesNo = (question: string) =>
  Effect.promise(async () => {
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      return /^\s*y(es)?\s*$/i.test(await rl.question(question))
    } finally {
      rl.close()
    }
  })

const originLabel = (t: ResolvedTarget) =>
  t.origin === "flag" ? "--url" : t.origin === "remote-config" ? "remote" : t.origin === "ssh" ? "ssh" : "local"

/** The route `status --deep --json` reports: the transport used and why each other one was skipped. */
const transportReport = (t: ResolvedTarget) => {
  const route = t.selection.route
  return {
    used: route === undefined ? "direct" : route.kind,
    ...(route?.kind === "ssh" ? { ssh: formatSshTarget(route.ssh), forwardsTo: t.url } : { url: t.url }),
    skipped: t.selection.skipped
  }
}

const transportLines = (t: ResolvedTarget) => {
  const r = transportReport(t)
  return [
    `Transport      ${r.used}${"ssh" in r ? ` via ${r.ssh} (ssh -N -L to ${r.forwardsTo} on that host)` : ` · ${t.url}`}`,
    ...r.skipped.map((s) => `  skipped ${s.kind.padEnd(10)} ${s.reason}`)
  ]
}

const formatDuration = (ms: number) => {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  return h < 24 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`
}
