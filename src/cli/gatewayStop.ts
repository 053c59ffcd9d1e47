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
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { ConfigError } from "../config/errors.ts"
import { profilePaths } from "../config/paths.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

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
        const signalled = Result.try(() => process.kill(running.pid, "SIGTERM"))
        if (Result.isFailure(signalled)) {
          return yield* new ConfigError({
            reason: "refused",
            message: `cannot signal the gateway (pid ${running.pid}): ${String(signalled.failure)}; stop it as the user that started it`
          })
        }
        // Polled: the gateway lets go of its lock as its last finalizer, after every client got `shutdown`.
        const gone = yield* readLiveLock(stateDir).pipe(
          Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (holder) => holder === undefined }),
          Effect.timeoutOrElse({ duration: flags.timeout, orElse: () => Effect.succeed(running) })
        )
        if (gone !== undefined) {
          return yield* new ConfigError({
            reason: "refused",
            message: `the gateway (pid ${running.pid}) did not stop within ${flags.timeout} ms; check its log, or end it with \`kill -9 ${running.pid}\``
          })
        }
        if (flags.json) return yield* printJson({ ok: true, stopped: true, pid: running.pid, port: running.port, stateDir })
        yield* Console.log(`Stopped the gateway (pid ${running.pid}, port ${running.port}).`)
      }),
      flags.json
    )
).pipe(Command.withDescription("Stop this profile's gateway cleanly (clients get `shutdown`, then close 1012)"))
