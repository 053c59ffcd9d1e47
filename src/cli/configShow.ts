/**
 * `gatehouse config show`: the effective config, where each setting came from,
 * and where the secrets are, without printing any secret.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { redactUrl } from "../config/redact.ts"
import { printable } from "../text/printable.ts"
import { generatedTokenPath, resolveSecrets, type Secrets } from "../config/resolve.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { printJson, reportFailures } from "./output.ts"
import * as Result from "effect/Result"
import { callRpc } from "../programs/gatewayClient.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { Status } from "../protocol/rpcs/core.ts"
import { target, withTransport } from "./clientCommands.ts"
import { targetFlags } from "./targetFlags.ts"
import { root } from "./root.ts"

interface SecretInfo {
  readonly set: boolean
  readonly source?: string
  readonly path?: string
}

const secretInfo = (s: Secrets["token"], where: string): SecretInfo =>
  s === undefined ? { set: false } : { set: true, source: s.source, ...(s.source === "state" ? { path: where } : {}) }

export const configShow = Command.make(
  "show",
  { ...targetFlags, timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds to wait for the running gateway"), Flag.withDefault(3_000)) },
  (f) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const { config, host } = yield* GatewayConfig.make(
          { profile: Option.getOrUndefined(shared.profile), dev: shared.dev },
          process.env
        )
        const secrets = resolveSecrets(config.paths, config.file, {}, process.env)
        const tokenPath = generatedTokenPath(config.paths)
        const view = {
          profile: config.paths.profile ?? "default",
          stateDir: config.paths.stateDir,
          configPath: config.paths.configPath,
          configFileExists: config.file.exists,
          mode: config.mode,
          port: config.port,
          bind: config.bind,
          host: { value: host, source: config.customHost.source },
          auth: {
            mode: config.authMode,
            token: secretInfo(secrets.token, tokenPath),
            password: secretInfo(secrets.password, "")
          },
          remote: {
            url: config.remote.url ?? null,
            token: { set: config.remote.token !== undefined },
            password: { set: config.remote.password !== undefined },
            transport: config.remote.transport ?? "direct",
            sshTarget: config.remote.sshTarget ?? null,
            sshPort: config.remote.sshPort ?? null,
            sshIdentity: config.remote.sshIdentity ?? null,
            sshRemotePort: config.remote.sshRemotePort ?? null,
            tailnet: config.remote.tailnet ?? null,
            tlsFingerprint: config.remote.tlsFingerprint ?? null
          },
          tls: {
            enabled: config.tls.enabled,
            certPath: config.tls.certPath ?? null,
            keyPath: config.tls.keyPath ?? null
          },
          pairing: config.postgresUrl === undefined
            ? { store: "file" as const, source: "default" }
            : { store: "postgres" as const, url: redactUrl(config.postgresUrl), source: config.postgresUrlSource },
          rateLimit: config.redisUrl === undefined
            ? { store: "memory" as const, source: "default" }
            : { store: "redis" as const, url: redactUrl(config.redisUrl), source: config.redisUrlSource },
          limits: config.limits,
          controlUi: { allowedOrigins: config.allowedOrigins },
          agent: config.agent.provider === "rules"
            ? { provider: "rules" as const, note: config.agent.note ?? null }
            : {
              provider: config.agent.provider,
              providerId: config.agent.providerId,
              baseUrl: redactUrl(config.agent.baseUrl),
              model: config.agent.model,
              apiKey: { set: config.agent.apiKey !== undefined, source: config.agent.apiKeySource }
            },
          discovery: {
            mdns: config.discovery.mdnsMode,
            interfaces: config.discovery.interfaces
          },
          unknownKeys: config.file.unknownKeys,
          precedence: "flag > env > config file > state dir > profile default > built-in default"
        }
        // Only the running gateway knows the environment it was started with: ask it where its secret came from.
        const running = yield* readLiveLock(config.paths.stateDir)
        const asked = running === undefined && Option.isNone(f.url) && Option.isNone(f.ssh)
          ? undefined
          : yield* Effect.result(Effect.flatMap(target(f), (t) => callRpc(t, Status, {}, { timeoutMs: f.timeout })))
        const runningGateway = asked === undefined
          ? { running: false }
          : Result.isSuccess(asked)
          ? { running: true, reachable: true, authMode: asked.success.payload.gateway.authMode, secretSource: asked.success.payload.gateway.secretSource ?? null }
          : { running: running !== undefined, reachable: false, error: asked.failure.message }
        if (f.json) return yield* printJson({ ...view, runningGateway })
        const line = (k: string, v: string) => `${k.padEnd(14)}${v}`
        const token = view.auth.token
        yield* Console.log([
          line("profile", view.profile),
          line("state dir", view.stateDir),
          line("config file", `${view.configPath}${view.configFileExists ? "" : " (not present: defaults apply)"}`),
          line("mode", `${config.mode.value} (${config.mode.source})`),
          line("port", `${config.port.value} (${config.port.source})`),
          line("bind", `${config.bind.value} → ${host} (${config.bind.source})`),
          line("auth mode", `${config.authMode.value} (${config.authMode.source})`),
          line("token", token.set ? `set, from ${token.source}${token.path === undefined ? "" : ` (${token.path})`}` : "not set (generated on first `gateway run`)"),
          line("password", view.auth.password.set ? `set, from ${view.auth.password.source}` : "not set"),
          line(
            "in force",
            !runningGateway.running
              ? "no gateway is running for this profile"
              : "reachable" in runningGateway && runningGateway.reachable
              ? `the running gateway uses auth ${runningGateway.authMode}` +
                (runningGateway.secretSource === null || runningGateway.secretSource === undefined ? "" : ` with the secret from ${sourceLabel(runningGateway.secretSource, runningGateway.authMode)}`)
              : `a gateway runs but did not answer (${"error" in runningGateway ? runningGateway.error : "?"})`
          ),
          line("remote url", config.remote.url ?? "-"),
          ...(config.remote.sshTarget === undefined ? [] : [
            line("remote ssh", `${config.remote.sshTarget}${config.remote.sshPort === undefined ? "" : ` port ${config.remote.sshPort}`}` +
              ` (transport ${config.remote.transport ?? "direct"})`)
          ]),
          ...(config.remote.tlsFingerprint === undefined ? [] : [line("remote pin", config.remote.tlsFingerprint)]),
          line(
            "tls",
            config.tls.enabled.value
              ? `on (${config.tls.enabled.source}), ${config.tls.certPath === undefined ? `certificate generated under ${view.stateDir}/tls` : `certificate ${config.tls.certPath}`}`
              : `off (${config.tls.enabled.source}; --tls or gateway.tls.enabled turns it on)`
          ),
          line(
            "pairing",
            view.pairing.store === "postgres"
              ? `PostgreSQL ${view.pairing.url} (${view.pairing.source})`
              : `files under ${view.stateDir} (set state.postgres.url or GATEHOUSE_POSTGRES_URL to share with other gateways)`
          ),
          line(
            "rate limits",
            view.rateLimit.store === "redis"
              ? `Redis ${view.rateLimit.url} (${view.rateLimit.source})`
              : "in memory (set gateway.rateLimit.redisUrl or GATEHOUSE_REDIS_URL to share with other gateways)"
          ),
          line(
            "limits",
            `${config.limits.maxConnectionsPerAddress} sockets/address, ${config.limits.maxConnectionsPerDevice}/device; ` +
              `${config.limits.maxPendingPairings} pending pairings (${config.limits.maxPendingPairingsPerAddress}/address); ` +
              `${mib(config.limits.maxInFlightBytesPerConnection)}/connection, ${mib(config.limits.maxInFlightBytesPerAddress)}/address in flight; ` +
              `${config.limits.maxSubscribedNodes} subscribed nodes (gateway.limits.*)`
          ),
          line(
            "mdns",
            `${config.discovery.mdnsMode.value} (${config.discovery.mdnsMode.source === "env" ? "OPENCLAW_DISABLE_BONJOUR" : config.discovery.mdnsMode.source})` +
              (config.discovery.interfaces.length === 0 ? "" : ` on ${config.discovery.interfaces.join(", ")}`)
          ),
          line(
            "agent",
            view.agent.provider === "rules"
              ? `rules (offline slash commands${view.agent.note === null ? "; agents.defaults.model names a model" : `: ${view.agent.note}`})`
              : `${printable(view.agent.providerId, 40)}/${printable(view.agent.model, 80)} at ${view.agent.baseUrl} (key: ${view.agent.apiKey.set ? view.agent.apiKey.source : "none"})`
          ),
          ...(view.unknownKeys.length > 0 ? [line("ignored keys", view.unknownKeys.join(", "))] : []),
          "",
          `precedence: ${view.precedence}`
        ].join("\n"))
      }),
      f.json
    )
).pipe(withTransport, Command.withDescription("Print the effective config with the source of each setting (secrets redacted); asks the running gateway where its secret came from"))

// Where a running gateway's secret came from, in the words a person would look for.
const sourceLabel = (source: string, mode: string) =>
  source === "env" ? `its environment (OPENCLAW_GATEWAY_${mode === "password" ? "PASSWORD" : "TOKEN"})` : source === "state" ? "the generated token file" : source === "flag" ? "its command line" : "the config file"

// A byte budget in MiB, as people set it.
const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`
