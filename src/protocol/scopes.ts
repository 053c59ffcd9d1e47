/**
 * Operator scopes and their lattice: admin implies every scope, write implies read.
 * What a client asks for is a claim; `grant` bounds it by what the server allows.
 */

export const OPERATOR_SCOPES = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.pairing",
  "operator.talk.secrets"
] as const
export type OperatorScope = typeof OPERATOR_SCOPES[number]

const known = new Set<string>(OPERATOR_SCOPES)

/** Whether a string names an operator scope. */
export const isOperatorScope = (s: string): s is OperatorScope => known.has(s)

/** Whether holding `held` satisfies a need for `required`. */
export const satisfies = (held: ReadonlyArray<string>, required: string): boolean =>
  held.includes(required) ||
  held.includes("operator.admin") ||
  (required === "operator.read" && held.includes("operator.write"))

/** The scopes a client gets: those it asked for that `allowed` covers, sorted and deduplicated. */
export const grant = (requested: ReadonlyArray<string>, allowed: ReadonlyArray<string>): ReadonlyArray<OperatorScope> =>
  [...new Set(requested)].filter(isOperatorScope).filter((s) => satisfies(allowed, s)).sort()
