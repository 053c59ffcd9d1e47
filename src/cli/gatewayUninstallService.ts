/**
 * `gatehouse gateway uninstall-service`: stops and disables this profile's
 * systemd user unit, removes its file and reloads systemd. Safe when the unit is
 * not installed (it says so and succeeds), and when systemd is not there at all
 * (the file is still removed).
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { rmSync } from "node:fs"
import { ConfigError } from "../config/errors.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { systemctl, unitInstalled, unitName, unitPath } from "./serviceUnit.ts"

export const gatewayUninstallService = Command.make(
  "uninstall-service",
  { json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false)) },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const name = unitName(shared.dev ? "dev" : Option.getOrUndefined(shared.profile))
        const path = unitPath(name)
        if (!unitInstalled(name)) {
          if (flags.json) return yield* printJson({ ok: true, removed: false, unit: name, path })
          return yield* Console.log(`No systemd unit ${name} is installed (${path}); nothing to remove.`)
        }
        // `disable --now` stops the gateway too; a unit systemd never loaded is just a file to delete.
        const disabled = yield* systemctl(["disable", "--now", name])
        const notLoaded = /not (be )?found|not loaded|does not exist/i.test(disabled.stderr)
        if (!disabled.missing && disabled.code !== 0 && !notLoaded) {
          return yield* new ConfigError({
            reason: "refused",
            message: `systemctl --user disable --now ${name} failed: ${disabled.stderr.trim() || `exit ${disabled.code}`}` +
              `\nFix: check \`systemctl --user status ${name}\`, then run this again`
          })
        }
        const removed = Result.try(() => rmSync(path, { force: true }))
        if (Result.isFailure(removed)) {
          return yield* new ConfigError({ reason: "refused", message: `cannot remove ${path}: ${String(removed.failure)}\nFix: remove it by hand` })
        }
        if (!disabled.missing) yield* systemctl(["daemon-reload"])
        if (flags.json) return yield* printJson({ ok: true, removed: true, unit: name, path, systemd: !disabled.missing })
        yield* Console.log(
          `Stopped and disabled ${name}, removed ${path}.` + (disabled.missing ? " (systemctl was not found: nothing to stop or disable.)" : "")
        )
      }),
      flags.json
    )
).pipe(Command.withDescription("Stop, disable and remove this profile's systemd user unit (safe when it is not installed)"))
