/**
 * How a gateway method is declared: its payload fields, the Schema of its
 * success, and the one wire error, `GatewayError`. The success schema is what the
 * server encodes a handler's value with and what a client decodes the answer with.
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import type * as RpcGroup from "effect/rpc/RpcGroup"
import { GatewayError } from "../errors.ts"

/** Declares a method named `tag` taking `payload` and answering `success`. */
export const method = <const Tag extends string, const P extends Schema.Struct.Fields, S extends Schema.Top>(tag: Tag, payload: P, success: S) =>
  Rpc.make(tag, { payload, success, error: GatewayError })

/**
 * Returns `handlers` as they are, but does not compile while a handler's result has
 * a field its method's success schema does not declare: encoding would drop that
 * field from the wire without a word.
 */
export const declaredIn = <G extends RpcGroup.Any>(_group: G) => <H>(handlers: H & AllDeclared<H, RpcGroup.Rpcs<G>>): H => handlers

/** The fields of `A` that the schema type `S` does not declare, as paths (`never` when there are none). */
export type Undeclared<A, S, Path extends string = "result"> = unknown extends S ? never
  : A extends ReadonlyArray<infer E> ? S extends ReadonlyArray<infer SE> ? Undeclared<E, SE, `${Path}[]`> : never
  : A extends object ? {
      [K in keyof A & string]-?: K extends keyof S ? Undeclared<A[K], NonNullable<S[K]>, `${Path}.${K}`> : `${Path}.${K}`
    }[keyof A & string]
  : never

type ResultOf<F> = F extends (...args: ReadonlyArray<never>) => Effect.Effect<infer A, infer _E, infer _R> ? A : never

type AllDeclared<H, Rpcs extends Rpc.Any> = {
  readonly [K in keyof H]: [Undeclared<ResultOf<H[K]>, Rpc.Success<Rpc.ExtractTag<Rpcs, K & string>>>] extends [never] ? unknown
    : { readonly "fields its success schema does not declare": Undeclared<ResultOf<H[K]>, Rpc.Success<Rpc.ExtractTag<Rpcs, K & string>>> }
}
