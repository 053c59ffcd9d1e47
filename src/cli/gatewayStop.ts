/**
 * `gatehouse gateway stop`: asks the gateway of this profile (the PID in its
 * profile lock) to stop with SIGTERM, as Ctrl-C or systemd would, and waits until
 * it has let go of the lock. Stopping a gateway that is not running succeeds.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { profilePaths } from "../config/paths.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"
import { stopByLock } from "./stopByLock.ts"

export const gatewayStop = Command.make(
  "stop",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false)),
    timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds to wait for it to stop"), Flag.withDefault(15_000))
  },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const { stateDir } = profilePaths(shared.dev ? "dev" : Option.getOrUndefined(shared.profile), process.env)
        const running = yield* readLiveLock(stateDir)
        if (running === undefined) {
          return yield* flags.json ? printJson({ ok: true, stopped: false, stateDir }) : Console.log(`No gateway is running for this profile (${stateDir}).`)
        }
        yield* stopByLock(stateDir, running.pid, flags.timeout, "stop")
        if (flags.json) return yield* printJson({ ok: true, stopped: true, pid: running.pid, port: running.port, stateDir })
        yield* Console.log(`Stopped the gateway (pid ${running.pid}, port ${running.port}).`)
      }),
      flags.json
    )
).pipe(Command.withDescription("Stop this profile's gateway cleanly (clients get `shutdown`, then close 1012)"))
