/**
 * The core methods: health, status, presence, heartbeat, identity, config.
 */
import * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import { anyone, MethodAccess, operator } from "../access.ts"
import { GatewayError } from "../errors.ts"

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

