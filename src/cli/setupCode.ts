/**
 * `gatehouse setup-code`: a one-time code another device uses to pair itself:
 * base64url JSON of `{url, bootstrapToken}`. It expires after 10 minutes, works
 * once, is bound to a role and scopes, and never carries the gateway's secret.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isLoopbackIp } from "../net/ip.ts"
import { checkPlaintext } from "../programs/clientTarget.ts"
import { callRpc } from "../programs/gatewayClient.ts"
import { DeviceBootstrapCreate } from "../protocol/rpcs/devices.ts"
import { target, withTransport } from "./clientCommands.ts"
import { printJson, reportFailures } from "./output.ts"
import { targetFlags } from "./targetFlags.ts"

/** Encodes a setup code. */
export const encodeSetupCode = (url: string, bootstrapToken: string, tlsFingerprint?: string) =>
  Buffer.from(JSON.stringify({ url, bootstrapToken, ...(tlsFingerprint === undefined ? {} : { tlsFingerprint }) })).toString("base64url")

export const setupCode = Command.make(
  "setup-code",
  {
    ...targetFlags,
    role: Flag.Literals("role", ["node", "operator"]).pipe(Flag.withDescription("Role the code pairs"), Flag.withDefault("node" as const)),
    scopes: Flag.String("scopes").pipe(Flag.withDescription("Comma-separated operator scopes (operator role)"), Flag.optional),
    publicUrl: Flag.String("public-url").pipe(Flag.withDescription("Gateway URL as the other device reaches it"), Flag.optional)
  },
  (flags) =>
    reportFailures(Effect.gen(function*() {
      const t = yield* target(flags)
      const url = Option.getOrElse(flags.publicUrl, () => t.url)
      yield* checkPlaintext(url, process.env)
      const scopes = Option.map(flags.scopes, (s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
      const { payload: result } = yield* callRpc(t, DeviceBootstrapCreate, {
        role: flags.role,
        ...(Option.isSome(scopes) ? { scopes: scopes.value } : {})
      }, { timeoutMs: flags.timeout })
      // A wss:// code carries the certificate this command just verified, so the new device pins it on first use.
      const fingerprint = url.startsWith("wss:") ? t.tls?.fingerprint : undefined
      const code = encodeSetupCode(url, result.bootstrapToken, fingerprint)
      if (flags.json) return yield* printJson({ code, url, role: result.role, scopes: result.scopes, expiresAtMs: result.expiresAtMs })
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "")
      yield* Console.log([
        code,
        "",
        `Pairs one ${result.role}${result.scopes.length > 0 ? ` with ${result.scopes.join(", ")}` : ""}; works once, within 10 minutes.`,
        result.role === "node"
          ? "On the node: openclaw node run --pair <code>"
          : "Enter it where the other device asks for a setup code; it pairs itself on first connect.",
        ...(isLoopbackIp(host) || host === "localhost"
          ? [`Note: the code points at ${url}; pass --public-url wss://<host>:<port> for devices on other machines.`]
          : [])
      ].join("\n"))
    }), flags.json)
).pipe(withTransport, Command.withDescription("Print a one-time setup code that pairs another device"))
