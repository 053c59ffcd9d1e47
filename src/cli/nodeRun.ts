/**
 * `gatehouse node run`: this host as a node. It connects with its device
 * identity, serves `system.which`, `system.run` (only `--allow`ed programs) and
 * `system.notify`, and reconnects with backoff; Ctrl-C leaves cleanly.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { ConfigError } from "../config/errors.ts"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { forgetDeviceToken, loadDeviceToken, saveDeviceToken } from "../identity/deviceAuthStore.ts"
import { loadNodeIdentity, nodeStateDir } from "../identity/nodeIdentity.ts"
import * as PinStoreFile from "../layers/PinStoreFile.ts"
import * as TransportDirect from "../layers/TransportDirect.ts"
import { codeRunners, resolveAllowlist } from "../node/systemRun.ts"
import { checkPlaintext, localConfig, resolveTarget } from "../programs/clientTarget.ts"
import type { Target } from "../programs/gatewayClient.ts"
import { runNode } from "../programs/runNode.ts"
import { decidePin } from "../programs/tlsPin.ts"
import { formatSshTarget } from "../transport/ssh.ts"
import { transportFor } from "./clientCommands.ts"
import { reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { pinFlags } from "./targetFlags.ts"
import { safeMessages } from "../observability/safeLogger.ts"

/** Decodes a setup code into its URL and bootstrap token. */
export const decodeSetupCode = (
  code: string
): { readonly url: string; readonly bootstrapToken: string; readonly tlsFingerprint?: string | undefined } | undefined => {
  const parsed = Result.try(() => JSON.parse(Buffer.from(code.trim(), "base64url").toString("utf8")) as unknown)
  if (Result.isFailure(parsed)) return undefined
  const v = parsed.success as { url?: unknown; bootstrapToken?: unknown; tlsFingerprint?: unknown }
  if (typeof v.url !== "string" || typeof v.bootstrapToken !== "string") return undefined
  return { url: v.url, bootstrapToken: v.bootstrapToken, ...(typeof v.tlsFingerprint === "string" ? { tlsFingerprint: v.tlsFingerprint } : {}) }
}

const flags = {
  url: Flag.String("url").pipe(Flag.withDescription("Gateway URL (needs --token, --password or --pair)"), Flag.optional),
  token: Flag.Redacted("token").pipe(Flag.withDescription("Gateway token"), Flag.optional),
  password: Flag.Redacted("password").pipe(Flag.withDescription("Gateway password"), Flag.optional),
  displayName: Flag.String("display-name").pipe(Flag.withDescription("Name shown in `nodes list`"), Flag.optional),
  allow: Flag.String("allow").pipe(Flag.withDescription("A program system.run may execute (repeatable); nothing by default"), Flag.atLeast(0)),
  ssh: Flag.String("ssh").pipe(
    Flag.withDescription("Reach the gateway on this SSH host's loopback through `ssh -N -L` (user@host[:port]); restarted as needed"),
    Flag.optional
  ),
  sshIdentity: Flag.String("ssh-identity").pipe(Flag.withDescription("Private key file for --ssh (ssh -i)"), Flag.optional),
  pair: Flag.String("pair").pipe(Flag.withDescription("Pair with a setup code from `gatehouse setup-code --role node`"), Flag.optional),
  ...pinFlags
}

export const nodeRun = Command.make("run", flags, (f) =>
  reportFailures(Effect.gen(function*() {
    const shared = yield* root
    const profile = { profile: Option.getOrUndefined(shared.profile), dev: shared.dev }
    const { config } = yield* localConfig(profile, process.env)
    const stateDir = config.paths.stateDir
    // The node host's identity and tokens are its own, never the CLI's (see nodeIdentity.ts).
    const nodeDir = nodeStateDir(stateDir)
    const identity = yield* loadNodeIdentity(stateDir).pipe(Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: e.message })))
    const savedUrlPath = join(stateDir, "node.json")
    const pairing = Option.map(f.pair, decodeSetupCode)
    if (Option.isSome(pairing) && pairing.value === undefined) {
      return yield* new ConfigError({ reason: "invalid", message: "--pair: not a setup code; create one on the gateway host with `gatehouse setup-code --role node`" })
    }
    const paired = Option.getOrUndefined(pairing)
    // A setup code is not bound to a device until used: never send it where it can be read in transit.
    if (paired !== undefined) yield* checkPlaintext(paired.url, process.env)
    const explicit = Option.isSome(f.url)
      ? yield* resolveTarget({ ...profile, url: Option.getOrUndefined(f.url), token: Option.getOrUndefined(f.token), password: Option.getOrUndefined(f.password) }, process.env)
      : undefined
    if (Option.isSome(f.ssh) && (explicit !== undefined || paired !== undefined)) {
      return yield* new ConfigError({ reason: "invalid", message: "--ssh cannot be combined with --url or --pair: it reaches the gateway on the SSH server's loopback" })
    }
    const local = explicit === undefined && paired === undefined
      ? yield* resolveTarget({
        ...profile,
        url: undefined,
        token: Option.getOrUndefined(f.token),
        password: Option.getOrUndefined(f.password),
        ssh: Option.getOrUndefined(f.ssh),
        sshIdentity: Option.getOrUndefined(f.sshIdentity)
      }, process.env)
      : undefined
    // A forward (--ssh or gateway.remote.transport "ssh") wins over a gateway remembered from a setup code.
    const savedUrl = local?.origin === "ssh" ? undefined : readSavedUrl(savedUrlPath)
    let bootstrapToken = paired?.bootstrapToken
    const url = paired?.url ?? explicit?.url ?? savedUrl ?? local!.url
    const tokenKey = savedUrl === undefined && local?.deviceKey !== undefined ? local.deviceKey : url
    const configuredPin = paired !== undefined || (savedUrl !== undefined && explicit === undefined) ? undefined : (explicit ?? local)?.configuredPin
    const tls = yield* decidePin(url, {
      tlsFingerprint: Option.getOrUndefined(f.tlsFingerprint),
      trustFingerprint: Option.getOrUndefined(f.trustFingerprint),
      setupCode: paired?.tlsFingerprint
    }, configuredPin).pipe(Effect.provide(PinStoreFile.layer(stateDir)))
    const currentTarget = Effect.gen(function*(): Effect.fn.Return<Target> {
      const stored = explicit !== undefined ? undefined : yield* loadDeviceToken(nodeDir, identity.deviceId, "node", tokenKey)
      const base = explicit ?? (savedUrl !== undefined && paired === undefined ? { url: savedUrl } : local ?? { url })
      return {
        ...base,
        ...(tls === undefined ? {} : { tls }),
        device: {
          identity,
          deviceToken: stored,
          bootstrapToken,
          onRejected: () => forgetDeviceToken(nodeDir, identity.deviceId, "node", tokenKey),
          onIssued: (token, scopes) =>
            Effect.gen(function*() {
              yield* saveDeviceToken(nodeDir, identity.deviceId, "node", token, scopes, tokenKey)
              if (bootstrapToken !== undefined) {
                bootstrapToken = undefined
                yield* writeFileAtomic(savedUrlPath, JSON.stringify({ url }) + "\n").pipe(Effect.ignore)
                yield* Effect.logInfo(`paired with ${url} using the setup code; next time just run \`gatehouse node run\``)
              }
            })
        }
      }
    })
    const allow = [...f.allow, ...(config.file.config.node?.run?.allow ?? [])]
    const allowed = resolveAllowlist(allow)
    const missing = allow.filter((a) => ![...allowed].some((p) => p === a || p.endsWith(`/${a}`)))
    for (const m of missing) yield* Effect.logWarning(`--allow ${m}: no such program on PATH; ignored`)
    for (const p of codeRunners(allowed)) {
      yield* Effect.logWarning(`--allow ${p}: this program runs its arguments as code, so any operator allowed to invoke system.run here can run anything as this user`)
    }
    const route = local?.origin === "ssh" && local.selection.route?.kind === "ssh"
      ? ` through ssh ${formatSshTarget(local.selection.route.ssh)}`
      : ""
    yield* Effect.logInfo(`node ${identity.deviceId} → ${url}${route}; system.run allows ${allowed.size === 0 ? "nothing (use --allow <program>)" : [...allowed].join(", ")}`)
    return yield* runNode(currentTarget, { displayName: Option.getOrUndefined(f.displayName), allowed }).pipe(
      Effect.provide([local === undefined ? TransportDirect.layer : transportFor(local), Logger.layer([safeMessages(Logger.consolePretty({ colors: false }))])])
    )
  }))
).pipe(Command.withDescription("Run this host as a node (Ctrl-C stops it)"))

const readSavedUrl = (path: string): string | undefined => {
  const text = Result.try(() => readFileSync(path, "utf8"))
  if (Result.isFailure(text)) return undefined
  const parsed = Result.try(() => JSON.parse(text.success) as { url?: unknown })
  return Result.isSuccess(parsed) && typeof parsed.success.url === "string" ? parsed.success.url : undefined
}

