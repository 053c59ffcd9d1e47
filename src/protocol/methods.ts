/**
 * Every gateway method, declared once as an Rpc with its schemas and access rule,
 * collected in `GatewayRpcs`. `hello-ok.features.methods` is derived from this group.
 */
import * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import * as RpcGroup from "effect/rpc/RpcGroup"
import { anyone, MethodAccess, operator } from "./access.ts"
import { GatewayError } from "./errors.ts"
import { Authorize } from "./authorize.ts"

const Json = Schema.Json

export class Health extends Rpc.make("health", {
  payload: { probe: Schema.optionalKey(Schema.Boolean) },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, anyone) {}

export class Status extends Rpc.make("status", {
  payload: {},
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, operator("operator.read")) {}

export class SystemPresence extends Rpc.make("system-presence", {
  payload: {},
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, operator("operator.read")) {}

export class LastHeartbeat extends Rpc.make("last-heartbeat", {
  payload: {},
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, operator("operator.read")) {}

export class GatewayIdentityGet extends Rpc.make("gateway.identity.get", {
  payload: {},
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, operator("operator.read")) {}

export class ConfigGet extends Rpc.make("config.get", {
  payload: { path: Schema.optionalKey(Schema.String) },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, operator("operator.read")) {}

export const GatewayRpcs = RpcGroup.make(
  Health,
  Status,
  SystemPresence,
  LastHeartbeat,
  GatewayIdentityGet,
  ConfigGet
).middleware(Authorize)

/** Method names this gateway serves, in declaration order. */
export const servedMethods: ReadonlyArray<string> = [...GatewayRpcs.requests.keys()]

/** Events this gateway may send. */
export const servedEvents: ReadonlyArray<string> = ["connect.challenge", "tick", "health", "presence", "shutdown"]
