/**
 * Handlers of the device pairing and device token methods. A caller that is a
 * paired device without `operator.admin` may manage only itself; nobody mints or
 * approves scopes beyond their own.
 */
import * as Effect from "effect/Effect"
import { type Caller, CurrentCaller } from "../../protocol/authorize.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { ErrorCode, GatewayError, invalidRequest } from "../../protocol/errors.ts"
import { grant } from "../../protocol/scopes.ts"
import { DevicePairing } from "../../services/DevicePairing.ts"
import { NodeRegistry } from "../../services/NodeRegistry.ts"

const selfOnly = (caller: Caller, deviceId: string) =>
  caller.deviceId !== undefined && caller.deviceId !== deviceId && !caller.scopes.includes("operator.admin")
    ? Effect.fail(new GatewayError({
      code: ErrorCode.forbidden,
      message: "a paired device without operator.admin may manage only itself; run this on the gateway host or from an admin operator",
      details: { code: "DEVICE_SELF_SCOPE", deviceId }
    }))
    : Effect.void

export const handlers = Effect.gen(function*() {
  const pairing = yield* DevicePairing
  const nodes = yield* NodeRegistry
  return declaredIn(GatewayRpcs)({
    "device.pair.list": () => pairing.list,
    "device.pair.approve": ({ requestId }: { readonly requestId: string }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const device = yield* pairing.approve(requestId, { scopes: caller.scopes, deviceId: caller.deviceId })
        return { requestId, device }
      }),
    "device.pair.reject": ({ requestId }: { readonly requestId: string }) =>
      Effect.map(pairing.reject(requestId), (r) => ({ requestId, deviceId: r.deviceId })),
    "device.pair.remove": ({ deviceId }: { readonly deviceId: string }) =>
      Effect.gen(function*() {
        yield* selfOnly(yield* CurrentCaller, deviceId)
        yield* pairing.remove(deviceId)
        // A device paired again later starts with no node commands approved.
        yield* nodes.forget(deviceId)
        return { deviceId }
      }),
    "device.pair.rename": ({ deviceId, label }: { readonly deviceId: string; readonly label: string }) =>
      Effect.gen(function*() {
        yield* selfOnly(yield* CurrentCaller, deviceId)
        const trimmed = label.trim()
        if (trimmed === "") return yield* Effect.fail(invalidRequest("label required: give the device a name, e.g. `gatehouse devices rename <deviceId> \"work laptop\"`"))
        yield* pairing.rename(deviceId, trimmed)
        return { deviceId, label: trimmed }
      }),
    "device.token.rotate": (p: { readonly deviceId: string; readonly role: "operator" | "node"; readonly scopes?: ReadonlyArray<string> }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        yield* selfOnly(caller, p.deviceId)
        const rotated = yield* pairing.rotate(p.deviceId, p.role, p.scopes, { scopes: caller.scopes, deviceId: caller.deviceId })
        // The new bearer goes only to the device itself; others see the result, and the device gets it on its next connect.
        const forSelf = caller.deviceId === p.deviceId
        return {
          deviceId: p.deviceId,
          role: p.role,
          scopes: rotated.scopes,
          rotatedAtMs: rotated.rotatedAtMs,
          ...(forSelf ? { token: rotated.token } : {})
        }
      }),
    "device.token.revoke": ({ deviceId, role }: { readonly deviceId: string; readonly role: "operator" | "node" }) =>
      Effect.gen(function*() {
        yield* selfOnly(yield* CurrentCaller, deviceId)
        const { revokedAtMs } = yield* pairing.revoke(deviceId, role)
        if (role === "node") yield* nodes.forget(deviceId)
        return { deviceId, role, revokedAtMs }
      }),
    "device.bootstrap.create": ({ role, scopes }: { readonly role: "operator" | "node"; readonly scopes?: ReadonlyArray<string> }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const wanted = role === "operator" ? (scopes ?? ["operator.read"]) : []
        const granted = grant(wanted, caller.scopes)
        const beyond = wanted.filter((s) => !granted.includes(s as never))
        if (beyond.length > 0) {
          return yield* new GatewayError({
            code: ErrorCode.forbidden,
            message: `a setup code cannot carry scopes you do not hold or that do not exist: ${beyond.join(", ")}`,
            details: { code: "MISSING_SCOPE", missingScope: beyond[0] }
          })
        }
        const code = yield* pairing.createSetupCode(role, granted)
        return { role, scopes: granted, bootstrapToken: code.token, expiresAtMs: code.expiresAtMs }
      })
  })
})
