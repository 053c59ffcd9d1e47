/**
 * How a gateway method is declared: its payload fields, a JSON success, and the
 * one wire error, `GatewayError`.
 */
import * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import { GatewayError } from "../errors.ts"

/** Declares a method named `tag` taking `payload`. */
export const method = <const Tag extends string, const P extends Schema.Struct.Fields>(tag: Tag, payload: P) =>
  Rpc.make(tag, { payload, success: Schema.Json, error: GatewayError })
