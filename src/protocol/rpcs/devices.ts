/**
 * Device pairing and device tokens, all behind `operator.pairing`.
 */
import * as Schema from "effect/Schema"
import { MethodAccess, operator } from "../access.ts"
import { method } from "./define.ts"
const pairing = operator("operator.pairing")
const Id = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(128))
const Role = Schema.Literals(["operator", "node"])
const Scopes = Schema.Array(Schema.String.check(Schema.isMaxLength(64))).check(Schema.isMaxLength(16))

export class DevicePairList extends method("device.pair.list", {}).annotate(MethodAccess, pairing) {}

export class DevicePairApprove extends method("device.pair.approve", { requestId: Id }).annotate(MethodAccess, pairing) {}

export class DevicePairReject extends method("device.pair.reject", { requestId: Id }).annotate(MethodAccess, pairing) {}

export class DevicePairRemove extends method("device.pair.remove", { deviceId: Id }).annotate(MethodAccess, pairing) {}

export class DeviceTokenRotate extends method("device.token.rotate", { deviceId: Id, role: Role, scopes: Schema.optionalKey(Scopes) }).annotate(MethodAccess, pairing) {}

export class DeviceTokenRevoke extends method("device.token.revoke", { deviceId: Id, role: Role }).annotate(MethodAccess, pairing) {}

/** gatehouse's own: mint a single-use setup code (bootstrap token) bound to a role and scopes. */
export class DeviceBootstrapCreate extends method("device.bootstrap.create", { role: Role, scopes: Schema.optionalKey(Scopes) }).annotate(MethodAccess, pairing) {}
