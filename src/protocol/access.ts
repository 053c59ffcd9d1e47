/**
 * Who may call a method: an annotation on each Rpc, read by the Authorize middleware.
 * A method that says nothing needs `operator.admin`, so forgetting to classify fails closed.
 */
import * as Context from "effect/Context"
import type { OperatorScope } from "./scopes.ts"

export type MethodAccess =
  | { readonly _tag: "Anyone" }
  | { readonly _tag: "Operator"; readonly scope: OperatorScope }
  | { readonly _tag: "Node" }

export const MethodAccess = Context.Reference<MethodAccess>("gatehouse/protocol/MethodAccess", {
  defaultValue: () => ({ _tag: "Operator", scope: "operator.admin" })
})

/** Open to every connected client. */
export const anyone: MethodAccess = { _tag: "Anyone" }
/** Operators holding `scope` (or a scope that implies it). */
export const operator = (scope: OperatorScope): MethodAccess => ({ _tag: "Operator", scope })
/** Clients connected with the node role. */
export const nodeOnly: MethodAccess = { _tag: "Node" }
