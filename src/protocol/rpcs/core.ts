/**
 * The core methods: health, status, presence, heartbeat, identity, config.
 */
import * as Schema from "effect/Schema"
import { anyone, MethodAccess, operator } from "../access.ts"
import { method } from "./define.ts"

export class Health extends method("health", { probe: Schema.optionalKey(Schema.Boolean) }).annotate(MethodAccess, anyone) {}

export class Status extends method("status", {}).annotate(MethodAccess, operator("operator.read")) {}

export class SystemPresence extends method("system-presence", {}).annotate(MethodAccess, operator("operator.read")) {}

export class LastHeartbeat extends method("last-heartbeat", {}).annotate(MethodAccess, operator("operator.read")) {}

export class GatewayIdentityGet extends method("gateway.identity.get", {}).annotate(MethodAccess, operator("operator.read")) {}

export class ConfigGet extends method("config.get", { path: Schema.optionalKey(Schema.String) }).annotate(MethodAccess, operator("operator.read")) {}

