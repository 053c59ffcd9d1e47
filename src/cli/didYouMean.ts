/**
 * A mistyped subcommand gets a "did you mean" first, on one line, instead of the
 * whole help with the suggestion at its end.
 */
import type * as Command from "effect/cli/Command"

/** What was mistyped where, and the closest subcommands. */
export interface Mistyped {
  readonly word: string
  readonly path: ReadonlyArray<string>
  readonly suggestions: ReadonlyArray<string>
}

/** Walks the leading words of `argv` down `cli`; the first word no subcommand has, when one is close to it. */
export const mistypedSubcommand = (cli: Command.Command.Any, argv: ReadonlyArray<string>): Mistyped | undefined => {
  let command = cli
  const path = [cli.name]
  for (const word of argv) {
    if (word.startsWith("-")) return undefined
    const children = command.subcommands.flatMap((g) => g.commands)
    if (children.length === 0) return undefined
    const next = children.find((c) => c.name === word || c.alias === word)
    if (next === undefined) {
      const suggestions = children.map((c) => c.name).filter((name) => distance(name, word) <= Math.max(1, Math.floor(name.length / 3)))
      return suggestions.length === 0 ? undefined : { word, path, suggestions }
    }
    command = next
    path.push(next.name)
  }
  return undefined
}

// Levenshtein distance: small words only, so the quadratic table is tiny.
const distance = (a: string, b: string): number => {
  if (a.length > 64 || b.length > 64) return Infinity
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}
