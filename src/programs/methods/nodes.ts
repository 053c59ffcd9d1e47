/**
 * Handlers of the node methods, on top of NodeRegistry.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { CurrentCaller } from "../../protocol/authorize.ts"
import { GatewayRpcs } from "../../protocol/methods.ts"
import { declaredIn } from "../../protocol/rpcs/define.ts"
import { ErrorCode, GatewayError } from "../../protocol/errors.ts"
import type { NodeInvokeAnswer } from "../../protocol/rpcs/nodes.ts"
import { DevicePairing } from "../../services/DevicePairing.ts"
import { GatewayConfig } from "../../services/GatewayConfig.ts"
import { type InvokeResultParams, NodeRegistry } from "../../services/NodeRegistry.ts"

export const handlers = Effect.gen(function*() {
  const nodes = yield* NodeRegistry
  const pairing = yield* DevicePairing
  const { limits } = (yield* GatewayConfig).config
  const callerNode = Effect.flatMap(CurrentCaller, (caller) =>
    caller.deviceId === undefined
      ? Effect.fail(new GatewayError({ code: ErrorCode.invalidRequest, message: "node methods need a node connected with a device identity" }))
      : Effect.succeed(caller.deviceId))
  return declaredIn(GatewayRpcs)({
    "node.list": () =>
      Effect.gen(function*() {
        return { ts: yield* Clock.currentTimeMillis, nodes: yield* nodes.list }
      }),
    "node.describe": ({ nodeId }: { readonly nodeId: string }) =>
      Effect.gen(function*() {
        return { ts: yield* Clock.currentTimeMillis, ...(yield* nodes.describe(nodeId)) }
      }),
    "node.invoke": (p: { readonly nodeId: string; readonly command: string; readonly params?: unknown; readonly timeoutMs?: number; readonly idempotencyKey: string }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        // NodeRegistry hands back the node's answer untyped: `{ok, nodeId, payload, payloadJSON}`.
        const answer = (yield* nodes.invoke({ ...p, caller: caller.deviceId ?? caller.connId })) as Omit<NodeInvokeAnswer, "command">
        return { ...answer, command: p.command }
      }),
    "node.events.subscribe": ({ nodeIds }: { readonly nodeIds?: ReadonlyArray<string> }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const ids = nodeIds === undefined ? undefined : [...new Set(nodeIds)]
        // The set a connection keeps is bounded; past the budget, all nodes is the same subscription for less.
        if (ids !== undefined && ids.length > limits.maxSubscribedNodes) return yield* Effect.fail(subscriptionLimit(ids.length, limits.maxSubscribedNodes))
        yield* nodes.subscribe(caller.connId, ids)
        return { ok: true }
      }),
    "node.pair.request": ({ nodeId }: { readonly nodeId: string }) =>
      Effect.map(nodes.pairRequest(nodeId), (r) => ({ status: "pending" as const, ...r })),
    "node.pair.list": () => nodes.pairList,
    "node.pair.approve": ({ requestId }: { readonly requestId: string }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        return { requestId, node: yield* nodes.pairApprove(requestId, caller.scopes) }
      }),
    "node.pair.reject": ({ requestId }: { readonly requestId: string }) =>
      Effect.map(nodes.pairReject(requestId), (r) => ({ requestId, nodeId: r.nodeId })),
    "node.pair.remove": ({ nodeId }: { readonly nodeId: string }) =>
      Effect.gen(function*() {
        yield* nodes.describe(nodeId)
        yield* nodes.forget(nodeId)
        // A node is a device in the node role: revoking that role also closes its sockets (4001).
        yield* pairing.revoke(nodeId, "node").pipe(Effect.catchReason("DevicePairingError", "PairingRefused", () => Effect.void))
        return { nodeId }
      }),
    "node.pair.verify": ({ nodeId, token }: { readonly nodeId: string; readonly token: string }) =>
      Effect.gen(function*() {
        const ok = yield* nodes.verify(nodeId, token)
        return ok ? { ok, node: yield* nodes.describe(nodeId) } : { ok }
      }),
    "node.rename": ({ displayName, nodeId }: { readonly nodeId: string; readonly displayName: string }) =>
      Effect.map(nodes.rename(nodeId, displayName), (node) => ({ nodeId, node })),
    "node.invoke.result": (p: InvokeResultParams) =>
      // NodeRegistry answers untyped: `{ok: true}`, plus `ignored: true` when the invoke had already ended.
      Effect.flatMap(callerNode, (nodeId) => Effect.map(nodes.result(nodeId, p), (r) => r as { readonly ok: boolean; readonly ignored?: boolean })),
    "node.runnerInventory.update": (p: { readonly protocolFeatures?: ReadonlyArray<string>; readonly workerHost?: unknown }) =>
      Effect.flatMap(callerNode, (nodeId) => Effect.as(nodes.report(nodeId, "runnerInventory", p), { ok: true })),
    "node.skills.update": (p: { readonly skills: ReadonlyArray<unknown> }) =>
      Effect.flatMap(callerNode, (nodeId) => Effect.as(nodes.report(nodeId, "skills", p.skills), { ok: true })),
    "node.pluginTools.update": (p: { readonly tools: ReadonlyArray<unknown> }) =>
      Effect.flatMap(callerNode, (nodeId) => Effect.as(nodes.report(nodeId, "pluginTools", p.tools), { ok: true })),
    "node.event": (p: { readonly event: string; readonly payload?: unknown; readonly payloadJSON?: string | null }) =>
      Effect.gen(function*() {
        const nodeId = yield* callerNode
        const parsed = typeof p.payloadJSON === "string" ? Result.try(() => JSON.parse(p.payloadJSON as string) as unknown) : undefined
        const payload = parsed === undefined ? p.payload ?? null : Result.isSuccess(parsed) ? parsed.success : p.payloadJSON
        yield* nodes.event(nodeId, p.event, payload)
        return { ok: true }
      })
  })
})

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const subscriptionLimit = (asked: number, limit: number) =>
  new GatewayError({
    code: ErrorCode.invalidRequest,
    message: `node.events.subscribe names ${asked} nodes, at most ${limit} may be named; omit nodeIds to subscribe to every node ` +
      "(or raise gateway.limits.maxSubscribedNodes)",
    details: { code: "SUBSCRIPTION_LIMIT", limit }
  })
