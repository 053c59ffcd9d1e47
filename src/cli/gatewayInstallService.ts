/**
 * `gatehouse gateway install-service`: writes a systemd user unit that runs this
 * gatehouse with the same profile, and says how to enable it and keep it alive
 * after logout (`loginctl enable-linger`).
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { homedir } from "node:os"
import { join, resolve } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { reportFailures } from "./output.ts"
import { root } from "./root.ts"

/** The unit file text for a gatehouse binary and profile. */
export const unitText = (binPath: string, nodePath: string, profileArgs: ReadonlyArray<string>) =>
  [
    "[Unit]",
    "Description=gatehouse gateway" + (profileArgs.length > 0 ? ` (${profileArgs.join(" ")})` : ""),
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${nodePath} ${binPath} ${[...profileArgs, "gateway", "run", "--log-format", "json"].join(" ")}`,
    "Restart=on-failure",
    "RestartSec=2",
    // A clean stop after SIGTERM exits 0; an "already running" refusal exits 1 and is not worth respawning at once.
    "RestartPreventExitStatus=1",
    "",
    "[Install]",
    "WantedBy=default.target",
    ""
  ].join("\n")

export const gatewayInstallService = Command.make(
  "install-service",
  { print: Flag.Boolean("print").pipe(Flag.withDescription("Print the unit instead of writing it"), Flag.withDefault(false)) },
  (f) =>
    reportFailures(Effect.gen(function*() {
      const shared = yield* root
      const profile = shared.dev ? "dev" : Option.getOrUndefined(shared.profile)
      const profileArgs = profile === undefined ? [] : ["--profile", profile]
      const name = profile === undefined ? "gatehouse.service" : `gatehouse-${profile}.service`
      const binPath = resolve(process.argv[1] ?? "bin/gatehouse")
      const text = unitText(binPath, process.execPath, profileArgs)
      if (f.print) return yield* Console.log(text)
      const dir = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "systemd", "user")
      const path = join(dir, name)
      yield* writeFileAtomic(path, text, 0o644)
      yield* Console.log([
        `Wrote ${path}`,
        "",
        "Enable and start it:",
        "  systemctl --user daemon-reload",
        `  systemctl --user enable --now ${name}`,
        "",
        "Keep it running after you log out (needed on a VPS):",
        `  sudo loginctl enable-linger ${process.env.USER ?? "$USER"}`,
        "",
        `Logs: journalctl --user -u ${name} -f`
      ].join("\n"))
    }))
).pipe(Command.withDescription("Write a systemd user unit for this gateway"))
