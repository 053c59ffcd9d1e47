/**
 * Device pairing and device tokens, all behind `operator.pairing`.
 */
import * as Schema from "effect/Schema"
import * as Rpc from "effect/rpc/Rpc"
import { MethodAccess, operator } from "../access.ts"
import { GatewayError } from "../errors.ts"

const Json = Schema.Json
const pairing = operator("operator.pairing")
const Id = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(128))
const Role = Schema.Literals(["operator", "node"])
const Scopes = Schema.Array(Schema.String.check(Schema.isMaxLength(64))).check(Schema.isMaxLength(16))

export class DevicePairList extends Rpc.make("device.pair.list", {
  payload: {},
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

export class DevicePairApprove extends Rpc.make("device.pair.approve", {
  payload: { requestId: Id },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

export class DevicePairReject extends Rpc.make("device.pair.reject", {
  payload: { requestId: Id },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

export class DevicePairRemove extends Rpc.make("device.pair.remove", {
  payload: { deviceId: Id },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

export class DeviceTokenRotate extends Rpc.make("device.token.rotate", {
  payload: { deviceId: Id, role: Role, scopes: Schema.optionalKey(Scopes) },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

export class DeviceTokenRevoke extends Rpc.make("device.token.revoke", {
  payload: { deviceId: Id, role: Role },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}

/** gatehouse's own: mint a single-use setup code (bootstrap token) bound to a role and scopes. */
export class DeviceBootstrapCreate extends Rpc.make("device.bootstrap.create", {
  payload: { role: Role, scopes: Schema.optionalKey(Scopes) },
  success: Json,
  error: GatewayError
}).annotate(MethodAccess, pairing) {}
