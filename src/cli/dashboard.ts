/**
 * `gatehouse dashboard [--open] [--with-token] [--json]`: prints the Control UI's
 * URL for this profile's gateway (the running gateway's port when one runs, else
 * the configured one) and with `--open` hands it to the desktop's opener
 * (`xdg-open`, `open` on macOS). The gateway token is added as `#token=…` only
 * with `--with-token`: a fragment never reaches the server or its logs, but a URL
 * printed or passed to a browser's argv can be seen by others on the machine.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { ConfigError } from "../config/errors.ts"
import { resolveSecrets } from "../config/resolve.ts"
import { isLoopbackIp } from "../net/ip.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

/** The Control UI's http(s) URL for a gateway listening on `host:port`; loopback unless TLS names a specific host. */
export const dashboardUrl = (host: string, port: number, tls: boolean): string => {
  const wildcard = host === "0.0.0.0" || host === "::"
  // Without TLS the page needs a secure context for WebCrypto: loopback is one (a gateway bound to another
  // address also listens on 127.0.0.1). With TLS a specific host keeps its name so the certificate matches.
  const urlHost = !tls || wildcard || isLoopbackIp(host) ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
  return `${tls ? "https" : "http"}://${urlHost}:${port}/`
}

export const dashboard = Command.make(
  "dashboard",
  {
    open: Flag.Boolean("open").pipe(Flag.withDescription("Open the Control UI in the default browser"), Flag.withDefault(false)),
    withToken: Flag.Boolean("with-token").pipe(
      Flag.withDescription("Append the gateway token as #token=… (read by the page, never sent in a request)"),
      Flag.withDefault(false)
    ),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false))
  },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const { config, host } = yield* GatewayConfig.make({ profile: Option.getOrUndefined(shared.profile), dev: shared.dev }, process.env)
        const running = yield* readLiveLock(config.paths.stateDir)
        const port = running?.port ?? config.port.value
        const tls = running?.tls ?? config.tls.enabled.value
        const base = dashboardUrl(host, port, tls)
        let url = base
        if (flags.withToken) {
          const token = resolveSecrets(config.paths, config.file, {}, process.env).token
          if (token === undefined) {
            return yield* new ConfigError({
              reason: "refused",
              message: "no gateway token is configured for this profile (a token passed to `gateway run --token` is not stored)\n" +
                "Fix: set gateway.auth.token or OPENCLAW_GATEWAY_TOKEN, or open the URL without --with-token and type the token in the page"
            })
          }
          url = `${base}#token=${encodeURIComponent(Redacted.value(token.value))}`
        }
        const opened = flags.open ? yield* openInBrowser(url) : undefined
        if (flags.json) {
          return yield* printJson({
            ok: true,
            url,
            httpUrl: base,
            wsUrl: base.replace(/^http/, "ws"),
            port,
            running: running !== undefined,
            tokenIncluded: flags.withToken,
            ...(opened === undefined ? {} : { opened: opened.ok, ...(opened.ok ? {} : { openError: opened.message }) })
          })
        }
        yield* Console.log(url)
        if (running === undefined) yield* Console.error(`note: no gateway is running for this profile; start it with \`gatehouse gateway run\` (port ${port}).`)
        if (opened !== undefined && !opened.ok) {
          yield* Console.error(`could not open a browser (${opened.message}); open the URL above in a browser on this machine, or forward the port with \`ssh -N -L ${port}:127.0.0.1:${port} <host>\` and open it on yours.`)
        }
        if (!flags.withToken) {
          yield* Console.error("First time in this browser: enter the gateway token in the page (or use --with-token), then approve it with `gatehouse devices approve <requestId>`.")
        }
      }),
      flags.json
    )
).pipe(Command.withDescription("Print (or --open) the Control UI's URL"))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// Runs the desktop's opener; a missing opener or a non-zero exit is a failure the caller reports with the URL.
const openInBrowser = (url: string) =>
  Effect.callback<{ readonly ok: true } | { readonly ok: false; readonly message: string }>((resume) => {
    const opener = process.platform === "darwin" ? "open" : "xdg-open"
    const child = spawn(opener, [url], { stdio: "ignore", detached: true })
    child.once("error", (e) => resume(Effect.succeed({ ok: false, message: `${opener}: ${e.message}` })))
    child.once("exit", (code) => resume(Effect.succeed(code === 0 ? { ok: true } : { ok: false, message: `${opener} exited with ${code}` })))
    child.unref()
  })
