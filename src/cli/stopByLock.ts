/**
 * Stopping a profile's gateway by the PID in its lock, as `gateway stop` and
 * `gateway restart` both do: SIGTERM, as Ctrl-C or systemd would, then waiting
 * until it lets go of the lock (its last finalizer, after every client got
 * `shutdown`).
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { ConfigError } from "../config/errors.ts"
import { readLiveLock } from "../programs/profileLock.ts"

/** Stops the gateway holding `stateDir`'s lock as `pid`; fails with what to do when it cannot be signalled or does not stop in time. */
export const stopByLock = (stateDir: string, pid: number, timeoutMs: number, command: "stop" | "restart") =>
  Effect.gen(function*() {
    const signalled = Result.try(() => process.kill(pid, "SIGTERM"))
    if (Result.isFailure(signalled)) {
      return yield* new ConfigError({
        reason: "refused",
        message: `cannot signal the gateway (pid ${pid}): ${String(signalled.failure)}\nFix: ${command} it as the user that started it`
      })
    }
    // Polled: the lock is the last thing the gateway lets go of.
    const stopped = yield* readLiveLock(stateDir).pipe(
      Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (holder) => holder === undefined }),
      Effect.map((holder) => holder === undefined),
      Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.succeed(false) })
    )
    if (!stopped) {
      return yield* new ConfigError({
        reason: "refused",
        message: `the gateway (pid ${pid}) did not stop within ${timeoutMs} ms\nFix: check its log, or end it with \`kill -9 ${pid}\`` +
          (command === "restart" ? " and start it again" : "")
      })
    }
  })
