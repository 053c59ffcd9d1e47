/**
 * How commands end. Without `--json`, a failure is printed as `error: …` (with its
 * fix) on stderr. With `--json`, stdout carries exactly one JSON document on
 * success and on failure (`{"ok":false,"error":{"code","message","hint"}}`), so a
 * script can parse it either way. A failure always sets exit code 1.
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
        json ? printJson(failureJson(e)) : Console.error(`error: ${e.message}`),
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
    )
  )

/** The `--json` document of a failure: a stable code, the message, and the fix when the message carries one. */
export const failureJson = (e: { readonly message: string }) => {
  const { _tag, code, kind } = e as { _tag?: string; code?: string; kind?: string }
  const [message, hint] = splitFix(e.message)
  return {
    ok: false as const,
    error: {
      code: code ?? (kind !== undefined ? kind.toUpperCase() : _tag !== undefined ? screamingSnake(_tag) : "ERROR"),
      message,
      ...(hint === undefined ? {} : { hint })
    }
  }
}

// "…\nFix: pass --token" → ["…", "pass --token"]; messages without a fix line keep it inline.
const splitFix = (message: string): readonly [string, string | undefined] => {
  const at = message.indexOf("\nFix: ")
  return at === -1 ? [message, undefined] : [message.slice(0, at), message.slice(at + 6)]
}

const screamingSnake = (tag: string) => tag.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()
