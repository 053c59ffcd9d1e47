/**
 * How commands end: a failure is printed as `error: …` (with its fix) on stderr
 * and sets exit code 1; `--json` output is printed as one JSON document.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** Prints a value as indented JSON. */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** Runs a command body; expected failures become a message and exit code 1. */
export const reportFailures = <A, E extends { readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>,
  json = false
): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.asVoid,
    Effect.catch((e) =>
      Effect.andThen(
        json
          ? Console.error(JSON.stringify({ ok: false, error: errorJson(e) }, null, 2))
          : Console.error(`error: ${e.message}`),
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
    )
  )

const errorJson = (e: { readonly message: string }) => {
  const { code, kind } = e as { code?: string; kind?: string }
  return { message: e.message, ...(code === undefined ? {} : { code }), ...(kind === undefined ? {} : { kind }) }
}
