/**
 * Which gateway a CLI command talks to, with which credentials. `--url` never
 * inherits credentials from config or environment (it fails before any network
 * I/O without `--token`/`--password`); otherwise the local gateway of the profile
 * is reached with the same config and state dir it uses, or `gateway.remote.*`
 * when `gateway.mode` is `remote`.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { ConfigError } from "../config/errors.ts"
import type { Env } from "../config/paths.ts"
import { resolveSecrets } from "../config/resolve.ts"
import { isLoopbackIp, isPrivateIp } from "../net/ip.ts"
import { tcpReachable } from "../net/probe.ts"
import { type DiscoveredCandidate, forcedSsh, selectRoute, type Selection } from "../transport/selection.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { loadConfigFile } from "../config/file.ts"
import { formatSshTarget, parseSshTarget, type SshEndpoint } from "../transport/ssh.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { forgetDeviceToken, loadDeviceToken, saveDeviceToken } from "../identity/deviceAuthStore.ts"
import { loadOrCreateIdentity } from "../identity/deviceIdentity.ts"
import type { TlsPin } from "../services/Transport.ts"
import { readCertificate } from "../tls/certificate.ts"
import { readLiveLock } from "./profileLock.ts"
import type { DeviceCredentials, Target } from "./gatewayClient.ts"
import { decidePin, type PinFlags } from "./tlsPin.ts"

export interface TargetFlags {
  readonly url: string | undefined
  readonly token: Redacted.Redacted<string> | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly profile: string | undefined
  readonly dev: boolean
  /** `--ssh user@host[:port]`: reach the gateway on that host's loopback through an SSH forward. */
  readonly ssh?: string | undefined
  /** `--ssh-identity FILE`: the private key ssh offers. */
  readonly sshIdentity?: string | undefined
}

/** A resolved target plus how it was chosen and the state dir holding this host's device identity. */
export interface ResolvedTarget extends Target {
  readonly origin: "flag" | "remote-config" | "local" | "ssh"
  readonly stateDir: string
  /** How the gateway is reached (the Transport to use) and why the other routes were not. */
  readonly selection: Selection
  /** The key device tokens are stored under, when `url` alone does not name the gateway (through SSH it is a loopback URL). */
  readonly deviceKey?: string | undefined
  /** The pin the configuration gives a `wss://` target (`gateway.remote.tlsFingerprint`, or this host's own certificate). */
  readonly configuredPin?: TlsPin | undefined
}

/** The default gateway port on an SSH server's loopback. */
export const DEFAULT_REMOTE_GATEWAY_PORT = 18789

/**
 * Resolves where to connect and over which route. `--url` and `--ssh` are
 * explicit; in remote mode the selection policy probes the configured routes
 * (paired direct endpoint → discovered → tailnet → SSH); otherwise this host's
 * gateway. No credentials are sent while probing (a TCP connect only).
 */
/**
 * Discovery as the selection policy sees it: what browsing found (or why it did
 * not run) and how the user picks one. Without hooks, nothing is browsed.
 */
export interface DiscoveryHooks {
  readonly browse: Effect.Effect<{ readonly candidates: ReadonlyArray<DiscoveredCandidate>; readonly note?: string | undefined }>
  readonly choose: (candidates: ReadonlyArray<DiscoveredCandidate>) => Effect.Effect<DiscoveredCandidate | undefined>
}

export const resolveTarget = (
  flags: TargetFlags,
  env: Env,
  probeTimeoutMs = 3000,
  discovery?: DiscoveryHooks
): Effect.Effect<ResolvedTarget, ConfigError> =>
  Effect.gen(function*() {
    if (flags.url !== undefined && flags.ssh !== undefined) {
      return yield* new ConfigError({
        reason: "invalid",
        message: "--url and --ssh cannot be combined: --ssh reaches the gateway on the SSH server's own loopback (set its port with gateway.remote.sshRemotePort)"
      })
    }
    if (flags.url !== undefined) {
      if (!/^wss?:\/\//.test(flags.url)) {
        return yield* new ConfigError({ reason: "invalid", message: `--url must start with ws:// or wss://, got "${flags.url}"` })
      }
      if (flags.token === undefined && flags.password === undefined) {
        return yield* new ConfigError({
          reason: "invalid",
          message: "gateway url override requires explicit credentials\nFix: pass --token or --password (credentials from config or environment are never sent to an explicit --url)"
        })
      }
      yield* checkPlaintext(flags.url, env)
      const { config } = yield* localConfig(flags, env)
      return {
        url: flags.url,
        token: flags.token,
        password: flags.password,
        origin: "flag",
        stateDir: config.paths.stateDir,
        selection: { route: { kind: "direct", url: flags.url }, skipped: skippedAll("--url was given") }
      }
    }
    const { config, host } = yield* localConfig(flags, env)
    const remote = config.remote
    const remoteCredentials = { token: flags.token ?? remote.token, password: flags.password ?? remote.password }
    const sshTarget = (endpoint: SshEndpoint, selection: Selection): ResolvedTarget => {
      const remotePort = remote.sshRemotePort ?? portOf(remote.url) ?? DEFAULT_REMOTE_GATEWAY_PORT
      // A gateway serving TLS speaks only TLS on its port, through the forward too: pinned as configured.
      const tls = remote.url?.startsWith("wss:") === true || remote.tlsFingerprint !== undefined
      return {
        url: `${tls ? "wss" : "ws"}://127.0.0.1:${remotePort}`,
        ...remoteCredentials,
        origin: "ssh",
        stateDir: config.paths.stateDir,
        selection,
        deviceKey: `ssh://${formatSshTarget(endpoint)}/127.0.0.1:${remotePort}`,
        configuredPin: remote.tlsFingerprint === undefined
          ? undefined
          : { fingerprint: remote.tlsFingerprint, pinnedBy: `gateway.remote.tlsFingerprint (${config.paths.configPath})` }
      }
    }
    if (flags.ssh !== undefined) {
      const parsed = parseSshTarget(flags.ssh)
      if (typeof parsed === "string") return yield* new ConfigError({ reason: "invalid", message: parsed })
      const endpoint: SshEndpoint = { ...parsed, identity: flags.sshIdentity ?? remote.sshIdentity }
      return sshTarget(endpoint, forcedSsh(endpoint, "--ssh was given"))
    }
    const configuredSsh = yield* sshFromConfig(config.remote, flags.sshIdentity)
    if (remote.transport === "ssh") {
      if (configuredSsh === undefined) {
        return yield* new ConfigError({
          reason: "invalid",
          message: `gateway.remote.transport is "ssh" but gateway.remote.sshTarget is not set; set it (e.g. "root@gateway-host") or pass --ssh user@host`
        })
      }
      return sshTarget(configuredSsh, forcedSsh(configuredSsh, `gateway.remote.transport is "ssh"`))
    }
    if (config.mode.value === "remote" && (remote.url !== undefined || remote.tailnet !== undefined || configuredSsh !== undefined)) {
      if (remote.url !== undefined) yield* checkPlaintext(remote.url, env)
      const tailnetUrl = remote.tailnet === undefined
        ? undefined
        : `${remote.url?.startsWith("wss:") ? "wss" : "ws"}://${remote.tailnet.includes(":") ? `[${remote.tailnet}]` : remote.tailnet}:${portOf(remote.url) ?? DEFAULT_REMOTE_GATEWAY_PORT}`
      const tailnetRefused = tailnetUrl === undefined ? undefined : yield* Effect.flip(checkPlaintext(tailnetUrl, env)).pipe(Effect.option)
      // Browse only when the paired endpoint does not answer (the policy would not look further).
      const directUp = remote.url !== undefined && (yield* tcpReachable(remote.url, probeTimeoutMs))
      const found = directUp || discovery === undefined
        ? { candidates: [], note: discovery === undefined ? "discovery is not available to this command" : undefined }
        : yield* discovery.browse
      const selection = yield* selectRoute({
        direct: remote.url,
        discovered: found.candidates,
        discoveryNote: found.note,
        tailnet: tailnetRefused !== undefined && tailnetRefused._tag === "Some" ? undefined : tailnetUrl,
        ssh: configuredSsh
      }, {
        reachable: (url) => url === remote.url ? Effect.succeed(directUp) : tcpReachable(url, probeTimeoutMs),
        choose: (candidates) => discovery === undefined ? Effect.succeed(undefined) : discovery.choose(candidates)
      })
      const route = selection.route
      if (route?.kind === "ssh") return sshTarget(route.ssh, selection)
      // Nothing answered and no SSH: still dial the paired endpoint, so the error says what the network said.
      const url = route === undefined ? remote.url ?? tailnetUrl : route.url
      if (url === undefined) {
        return yield* new ConfigError({ reason: "refused", message: "no usable route to the remote gateway; see `gatehouse status --deep` for why each was skipped" })
      }
      // One check for wherever credentials would go, whichever step chose it: never plaintext beyond loopback.
      yield* checkPlaintext(url, env)
      const discovered = route?.kind === "discovered"
      // A first choice is remembered; a configured endpoint is never replaced by something a LAN peer advertised.
      if (selection.saveAsDirect !== undefined && remote.url === undefined) {
        yield* saveDirectEndpoint(config.paths.configPath, selection.saveAsDirect)
        yield* Effect.logInfo(`saved ${selection.saveAsDirect} as gateway.remote.url in ${config.paths.configPath}`)
      }
      return {
        url,
        // The configured secrets belong to the configured endpoint: a discovered gateway never gets them.
        ...(discovered ? {} : remoteCredentials),
        origin: "remote-config",
        stateDir: config.paths.stateDir,
        selection,
        // The configured pin is the configured gateway's: a discovered one is confirmed on first use instead.
        configuredPin: discovered || remote.tlsFingerprint === undefined
          ? undefined
          : { fingerprint: remote.tlsFingerprint, pinnedBy: `gateway.remote.tlsFingerprint (${config.paths.configPath})` }
      }
    }
    const secrets = resolveSecrets(config.paths, config.file, {}, env)
    // The gateway always listens on loopback too (see WsServer), so this host's commands use it.
    const connectHost = host === "::" || host.includes(":") && isLoopbackIp(host) ? "[::1]" : "127.0.0.1"
    const useToken = config.authMode.value !== "password"
    // This host's gateway serves TLS: pin the certificate it keeps in the same state dir (or the user's).
    const lock = yield* readLiveLock(config.paths.stateDir)
    const tlsOn = config.tls.enabled.value || lock?.tls === true
    const local = tlsOn
      ? yield* readCertificate(config.paths.stateDir, config.tls).pipe(
        Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: e.message }))
      )
      : undefined
    // The running gateway's port (its lock says it) wins over an edited `gateway.port` that waits for a restart.
    const url = `${tlsOn ? "wss" : "ws"}://${connectHost}:${lock !== undefined && lock.port !== 0 ? lock.port : config.port.value}`
    return {
      url,
      configuredPin: local === undefined ? undefined : { fingerprint: local.fingerprint, pinnedBy: `this host's gateway certificate (${local.certPath})` },
      token: flags.token ?? (useToken ? secrets.token?.value : undefined),
      password: flags.password ?? (useToken ? undefined : secrets.password?.value),
      origin: "local",
      stateDir: config.paths.stateDir,
      selection: { route: { kind: "direct", url }, skipped: skippedAll("local mode: this host's gateway") }
    }
  })

/**
 * Adds this host's device identity (created on first use) to a target, with the
 * stored device token (never for an explicit --url) and a place to keep new ones.
 */
export const withDevice = (target: ResolvedTarget, role = "operator") =>
  Effect.gen(function*() {
    const identity = yield* loadOrCreateIdentity(target.stateDir).pipe(
      Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: `device identity: ${e.message}` }))
    )
    const key = target.deviceKey ?? target.url
    const deviceToken = target.origin === "flag" ? undefined : yield* loadDeviceToken(target.stateDir, identity.deviceId, role, key)
    const device: DeviceCredentials = {
      identity,
      deviceToken,
      onIssued: (token, scopes) => saveDeviceToken(target.stateDir, identity.deviceId, role, token, scopes, key),
      onRejected: () => forgetDeviceToken(target.stateDir, identity.deviceId, role, key)
    }
    // On the gateway's own host, its secret is the owner's way back in, whatever happened to this device.
    return { ...target, device, ownerFallback: target.origin === "local" }
  })

/** Adds the certificate pin a `wss://` target must present (see `decidePin`). */
export const withPin = <T extends ResolvedTarget>(target: T, flags: PinFlags) =>
  Effect.map(decidePin(target.url, flags, target.configuredPin), (tls): T => (tls === undefined ? target : { ...target, tls }))

/**
 * This host's gateway config for a client command. A config the gateway would
 * refuse to serve (say, tailnet with no tailnet address) still names the state
 * dir and port the client needs, so it is read as if bound to loopback.
 */
export const localConfig = (flags: Pick<TargetFlags, "profile" | "dev">, env: Env) =>
  GatewayConfig.make({ profile: flags.profile, dev: flags.dev }, env).pipe(
    Effect.catchIf((e) => e.reason === "refused", () => GatewayConfig.make({ profile: flags.profile, dev: flags.dev, bind: "loopback" }, env))
  )

/** Refuses plaintext ws:// to anything but loopback (or, with the opt-in, private addresses). */
export const checkPlaintext = (url: string, env: Env) => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed === undefined) return Effect.fail(new ConfigError({ reason: "invalid", message: `not a valid URL: ${url}` }))
  const host = parsed.hostname.replace(/^\[|\]$/g, "")
  if (parsed.protocol === "wss:" || isLoopbackIp(host) || parsed.hostname === "localhost") return Effect.void
  // As OpenClaw: an explicit opt-in allows plaintext to private and tailnet addresses only.
  if (env.OPENCLAW_ALLOW_INSECURE_PRIVATE_WS === "1" && isPrivateIp(host)) return Effect.void
  return Effect.fail(new ConfigError({
    reason: "refused",
    message: `refusing to send credentials to ${parsed.host} over plaintext ws://; use wss://, or an SSH forward ` +
      `(ssh -N -L 18789:127.0.0.1:18789 user@${parsed.hostname}) and --url ws://127.0.0.1:18789; ` +
      `on a trusted private network, OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1 allows it`
  }))
}

/**
 * The SSH forward `gatehouse tunnel` keeps open: `--ssh` (with `--ssh-identity`),
 * else `gateway.remote.sshTarget`; the gateway port on that host from
 * `gateway.remote.sshRemotePort`, the port of `gateway.remote.url`, or 18789.
 */
export const resolveSshForward = (flags: Pick<TargetFlags, "profile" | "dev" | "ssh" | "sshIdentity">, env: Env) =>
  Effect.gen(function*() {
    const { config } = yield* localConfig(flags, env)
    const remote = config.remote
    const remotePort = remote.sshRemotePort ?? portOf(remote.url) ?? DEFAULT_REMOTE_GATEWAY_PORT
    if (flags.ssh !== undefined) {
      const parsed = parseSshTarget(flags.ssh)
      if (typeof parsed === "string") return yield* new ConfigError({ reason: "invalid", message: parsed })
      return { endpoint: { ...parsed, identity: flags.sshIdentity ?? remote.sshIdentity } satisfies SshEndpoint, remotePort }
    }
    const endpoint = yield* sshFromConfig(remote, flags.sshIdentity)
    if (endpoint === undefined) {
      return yield* new ConfigError({
        reason: "invalid",
        message: "no SSH target: pass --ssh user@host[:port], or set gateway.remote.sshTarget in the config"
      })
    }
    return { endpoint, remotePort }
  })

/** The SSH endpoint `gateway.remote.sshTarget` (+ `sshPort`, `sshIdentity`) names, if any. */
const sshFromConfig = (
  remote: { readonly sshTarget: string | undefined; readonly sshPort: number | undefined; readonly sshIdentity: string | undefined },
  identityFlag: string | undefined
) =>
  Effect.gen(function*() {
    if (remote.sshTarget === undefined) return undefined
    const parsed = parseSshTarget(remote.sshTarget)
    if (typeof parsed === "string") {
      return yield* new ConfigError({ reason: "invalid", message: `gateway.remote.sshTarget: ${parsed.replace(/^--ssh:? ?/, "")}` })
    }
    return { target: parsed.target, port: remote.sshPort ?? parsed.port, identity: identityFlag ?? remote.sshIdentity } satisfies SshEndpoint
  })

const portOf = (url: string | undefined) => {
  if (url === undefined || !URL.canParse(url)) return undefined
  const p = new URL(url).port
  return p === "" ? undefined : Number(p)
}

/** Every route but direct, skipped for one reason. */
const skippedAll = (reason: string) => (["discovered", "tailnet", "ssh"] as const).map((kind) => ({ kind, reason }))

/**
 * Saves a chosen gateway as the paired direct endpoint (`gateway.remote.url`),
 * keeping every other key of the config file as it was.
 */
export const saveDirectEndpoint = (configPath: string, url: string) =>
  Effect.gen(function*() {
    const file = yield* loadConfigFile(configPath)
    const doc = (typeof file.document === "object" && file.document !== null ? file.document : {}) as Record<string, unknown>
    const gateway = (typeof doc.gateway === "object" && doc.gateway !== null ? doc.gateway : {}) as Record<string, unknown>
    const remote = (typeof gateway.remote === "object" && gateway.remote !== null ? gateway.remote : {}) as Record<string, unknown>
    const next = { ...doc, gateway: { ...gateway, remote: { ...remote, url } } }
    yield* writeFileAtomic(configPath, JSON.stringify(next, null, 2) + "\n").pipe(
      Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: `cannot save gateway.remote.url to ${configPath}: ${e.message}` }))
    )
  })
