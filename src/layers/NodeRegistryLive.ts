/**
 * The in-process NodeRegistry: sessions of connected nodes, the table of invokes
 * in flight, `node.event` subscriptions, and node pairing through the
 * NodePairingStore, with pairing events to operators holding `operator.pairing`.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { randomUUID } from "node:crypto"
import { secretEquals } from "../auth/secretEquals.ts"
import { isPairer } from "../connections/liveConnection.ts"
import { approvalScopes, decide, platformOf, verdictMessage } from "../nodes/commandPolicy.ts"
import { InvokeTable, MAX_IN_FLIGHT_PER_CALLER, MAX_IN_FLIGHT_PER_NODE } from "../nodes/invokeTable.ts"
import type { NodePendingRequest, PairedNode } from "../nodes/pairingModel.ts"
import type { NodeSurface } from "../nodes/pairingPolicy.ts"
import { satisfies } from "../protocol/scopes.ts"
import { recordInvoke } from "../observability/metrics.ts"
import { ConnectionHub } from "../services/ConnectionHub.ts"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { GatewayConfig } from "../services/GatewayConfig.ts"
import { type NodePairingStoreError, type NodeRecord, NodePairingStore } from "../services/NodePairingStore.ts"
import {
  DEFAULT_INVOKE_TIMEOUT_MS,
  MAX_REPORT_BYTES,
  type InvokeResultParams,
  NodeBusy,
  NodeInvokeTimeout,
  NodeNotConnected,
  NodeRegistry,
  NodeRegistryError,
  type NodeRegistryShape,
  type NodeReports,
  NodeReportedFailure,
  NodeRequestRefused,
  type NodeSession,
  type NodeView
} from "../services/NodeRegistry.ts"

export const layer = Layer.effect(
  NodeRegistry,
  Effect.gen(function*() {
    const { live } = yield* GatewayConfig
    // Read per use: `gateway.nodes.*` and `gateway.pairing.*` change live (config hot reload).
    const current = () => SubscriptionRef.getUnsafe(live).config
    const hub = yield* ConnectionHub
    const store = yield* NodePairingStore
    const sessions = new Map<string, NodeSession>()
    const byConn = new Map<string, string>()
    const subscriptions = new Map<string, ReadonlySet<string> | "all">()
    const reports = new Map<string, NodeReports>()
    // Nodes whose last request an operator rejected, so an invoke can say so (until the node reconnects).
    const rejected = new Set<string>()
    const table = new InvokeTable<NodeRegistryError>()
    const toPairers = (event: string, payload: unknown) => hub.broadcast(event, payload, { audience: "operators", filter: isPairer })
    const withScopes = (r: NodePendingRequest) => ({ ...r, requiredApproveScopes: approvalScopes(r.commands) })

    const view = (nodeId: string, { paired, pending }: NodeRecord): NodeView | undefined => {
      const session = sessions.get(nodeId)
      if (session === undefined && paired === undefined) return undefined
      const commands = session?.commands ?? paired?.commands ?? []
      const approved = paired?.commands ?? []
      const platform = platformOf(session?.platform ?? paired?.platform, session?.deviceFamily ?? paired?.deviceFamily)
      return {
        nodeId,
        displayName: paired?.displayName ?? session?.displayName,
        platform: session?.platform ?? paired?.platform,
        version: session?.version ?? paired?.version,
        caps: session?.caps ?? paired?.caps ?? [],
        commands,
        approvedCommands: approved,
        invokableCommands: commands.filter((c) => approved.includes(c) && decide(c, platform, current().nodeCommands).allowed),
        connected: session !== undefined,
        paired: paired !== undefined,
        remoteIp: session?.live.remoteAddress,
        connectedAtMs: session?.connectedAtMs,
        pendingRequestId: pending?.requestId,
        reports: reports.get(nodeId) ?? {}
      }
    }

    const connect: NodeRegistryShape["connect"] = (live, params, directLocal) =>
      Effect.gen(function*() {
        const nodeId = live.principal.deviceId ?? params.client.id
        const session: NodeSession = {
          nodeId,
          live,
          caps: params.caps ?? [],
          commands: [...new Set(params.commands ?? [])],
          platform: params.client.platform,
          deviceFamily: params.client.deviceFamily,
          version: params.client.version,
          displayName: params.client.displayName,
          connectedAtMs: live.connectedAtMs
        }
        const previous = sessions.get(nodeId)
        sessions.set(nodeId, session)
        reports.delete(nodeId)
        rejected.delete(nodeId)
        byConn.set(live.connId, nodeId)
        if (previous !== undefined) {
          byConn.delete(previous.live.connId)
          yield* table.failNode(nodeId, (command) => notConnected(nodeId, command, "replaced by a newer connection"))
          yield* previous.live.close(1008, "replaced by a newer connection of this node")
        }
        const surface: NodeSurface = {
          nodeId,
          displayName: session.displayName,
          platform: session.platform,
          version: session.version,
          deviceFamily: session.deviceFamily,
          clientId: params.client.id,
          caps: session.caps,
          commands: session.commands,
          remoteIp: live.remoteAddress
        }
        const outcome = yield* store.reconcile(surface, directLocal && current().autoApproveLocal).pipe(
          // The node stays connected with no approved surface; its commands wait until the store works again.
          Effect.catch((e) => Effect.as(Effect.logError(`node ${nodeId}: ${e.reason.message}`), { _tag: "Current" } as const))
        )
        switch (outcome._tag) {
          case "Current":
            break
          case "Requested":
            if (outcome.created) yield* toPairers("node.pair.requested", withScopes(outcome.request))
            break
          case "Approved": {
            yield* Effect.logInfo(`node command surface auto-approved (direct loopback) node=${nodeId} commands=${session.commands.join(",")}`)
            const ts = yield* Clock.currentTimeMillis
            yield* toPairers("node.pair.resolved", { requestId: outcome.request.requestId, nodeId, decision: "approved", ts })
          }
        }
      })

    const disconnect: NodeRegistryShape["disconnect"] = (connId) =>
      Effect.suspend(() => {
        subscriptions.delete(connId)
        const nodeId = byConn.get(connId)
        if (nodeId === undefined) return Effect.void
        byConn.delete(connId)
        if (sessions.get(nodeId)?.live.connId !== connId) return Effect.void
        sessions.delete(nodeId)
        reports.delete(nodeId)
        rejected.delete(nodeId)
        return Effect.asVoid(table.failNode(nodeId, (command) => notConnected(nodeId, command, "node disconnected")))
      })

    const invoke: NodeRegistryShape["invoke"] = (request) =>
      Effect.gen(function*() {
        const session = sessions.get(request.nodeId)
        if (session === undefined) return yield* new NodeRegistryError({ reason: new NodeNotConnected({ nodeId: request.nodeId }) })
        if (!session.commands.includes(request.command)) {
          return yield* refused("COMMAND_NOT_DECLARED", `command not declared by node: ${request.command} (it declares ${session.commands.join(", ") || "no commands"})`)
        }
        const verdict = decide(request.command, platformOf(session.platform, session.deviceFamily), current().nodeCommands)
        if (!verdict.allowed) return yield* refused("COMMAND_NOT_ALLOWED", verdictMessage(request.command, verdict))
        const record = yield* lift(store.node(request.nodeId))
        if (!(record.paired?.commands ?? []).includes(request.command)) {
          return yield* refused(
            "COMMAND_NOT_APPROVED",
            `command not approved for this node: ${request.command}; ` +
              (record.pending === undefined
                ? rejected.has(request.nodeId)
                  ? "an operator rejected its pairing request; it is asked again when the node reconnects"
                  : "its pairing request expired; it is asked again when the node reconnects"
                : `approve it with \`gatehouse nodes approve ${record.pending.requestId}\``)
          )
        }
        const now = yield* Clock.currentTimeMillis
        // Scoped to the caller: another caller's key never returns someone else's result.
        const key = `${request.caller}\u0000${request.nodeId}\u0000${request.command}\u0000${request.idempotencyKey}`
        const timeoutMs = request.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS
        // Made only when a call does time out: an error captures a stack, too dear for every call at 1k/s.
        const timedOut = () => new NodeRegistryError({ reason: new NodeInvokeTimeout({ nodeId: request.nodeId, command: request.command, timeoutMs }) })
        const earlier = table.recall(key, now)
        if (earlier !== undefined) {
          return yield* Deferred.await(earlier).pipe(Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.fail(timedOut()) }))
        }
        const full = table.full(request.caller, request.nodeId)
        if (full !== undefined) {
          return yield* new NodeRegistryError({
            reason: new NodeBusy({ scope: full, limit: full === "caller" ? MAX_IN_FLIGHT_PER_CALLER : MAX_IN_FLIGHT_PER_NODE })
          })
        }
        const id = randomUUID()
        const outcome = yield* Deferred.make<unknown, NodeRegistryError>()
        table.start(id, request.nodeId, request.caller, request.command, outcome, key, now)
        yield* session.live.sendDirect("node.invoke.request", {
          id,
          nodeId: request.nodeId,
          command: request.command,
          paramsJSON: request.params === undefined ? null : JSON.stringify(request.params),
          timeoutMs,
          idempotencyKey: request.idempotencyKey
        })
        return yield* Deferred.await(outcome).pipe(
          Effect.timeoutOrElse({
            duration: timeoutMs,
            orElse: () =>
              Effect.suspend(() => {
                const error = timedOut()
                return Effect.andThen(table.abandon(id, key, error), Effect.fail(error))
              })
          }),
          Effect.onInterrupt(() => table.abandon(id, key, notConnected(request.nodeId, request.command, "the caller went away"))),
          Effect.onExit((exit) => Effect.flatMap(Clock.currentTimeMillis, (end) => recordInvoke(invokeOutcome(exit), (end - now) / 1000)))
        )
      })

    const result: NodeRegistryShape["result"] = (callerNodeId, r) =>
      Effect.gen(function*() {
        if (r.nodeId !== callerNodeId) return yield* refused("NODE_ID_MISMATCH", "nodeId mismatch: a node answers only for itself")
        const exit = r.ok
          ? Exit.succeed({ ok: true, nodeId: r.nodeId, payload: parsePayload(r), payloadJSON: r.payloadJSON ?? null })
          : Exit.fail(new NodeRegistryError({
            reason: new NodeReportedFailure({ code: r.error?.code ?? "NODE_ERROR", message: r.error?.message ?? "" })
          }))
        const taken = yield* table.complete(r.id, callerNodeId, exit)
        return taken ? { ok: true } : { ok: true, ignored: true }
      })

    const event: NodeRegistryShape["event"] = (callerNodeId, name, payload) =>
      Effect.flatMap(Clock.currentTimeMillis, (ts) =>
        hub.broadcast("node.event", { nodeId: callerNodeId, event: name, payload, ts }, {
          dropIfSlow: true,
          filter: (c) => {
            const sub = subscriptions.get(c.connId)
            return sub !== undefined && satisfies(c.principal.scopes, "operator.read") && (sub === "all" || sub.has(callerNodeId))
          }
        }))

    const report: NodeRegistryShape["report"] = (callerNodeId, kind, value) =>
      Effect.suspend(() => {
        if (!sessions.has(callerNodeId)) return Effect.void
        const size = JSON.stringify(value ?? null).length
        if (size > MAX_REPORT_BYTES) {
          return refused("REPORT_TOO_LARGE", `${kind} report of ${size} bytes is over the ${MAX_REPORT_BYTES}-byte limit; it was not kept`)
        }
        reports.set(callerNodeId, { ...reports.get(callerNodeId), [kind]: value })
        return Effect.void
      })

    const list = Effect.map(lift(store.list), (s) => {
      const pendingOf = new Map(s.pending.map((p) => [p.nodeId, p]))
      const pairedOf = new Map(s.paired.map((p) => [p.nodeId, p]))
      const ids = new Set([...sessions.keys(), ...pairedOf.keys()])
      return [...ids].sort().flatMap((id) => view(id, { paired: pairedOf.get(id), pending: pendingOf.get(id) }) ?? [])
    })

    const unknownNode = (nodeId: string) => refused("UNKNOWN_NODE", `unknown node ${nodeId}; run \`gatehouse nodes list\``)

    return NodeRegistry.of({
      connect,
      disconnect,
      invoke,
      result,
      event,
      report,
      subscribe: (connId, nodeIds) => Effect.sync(() => void subscriptions.set(connId, nodeIds === undefined ? "all" : new Set(nodeIds))),
      list,
      describe: (nodeId) =>
        Effect.flatMap(lift(store.node(nodeId)), (record) => {
          const v = view(nodeId, record)
          return v === undefined ? unknownNode(nodeId) : Effect.succeed(v)
        }),
      pairList: Effect.map(lift(store.list), (s) => ({ pending: s.pending.map(withScopes), paired: s.paired.map(withoutToken) })),
      pairRequest: (nodeId) =>
        Effect.gen(function*() {
          const session = sessions.get(nodeId)
          if (session === undefined) return yield* unknownNode(nodeId)
          const opened = yield* lift(store.request({ nodeId, caps: session.caps, commands: session.commands, platform: session.platform, version: session.version }))
          if (opened.created) yield* toPairers("node.pair.requested", withScopes(opened.request))
          return opened
        }),
      pairApprove: (requestId, callerScopes) =>
        Effect.gen(function*() {
          const node = yield* lift(store.approve(requestId, callerScopes))
          const ts = yield* Clock.currentTimeMillis
          yield* toPairers("node.pair.resolved", { requestId, nodeId: node.nodeId, decision: "approved", ts })
          return withoutToken(node)
        }),
      pairReject: (requestId) =>
        Effect.gen(function*() {
          const request = yield* lift(store.reject(requestId))
          if (sessions.has(request.nodeId)) rejected.add(request.nodeId)
          const ts = yield* Clock.currentTimeMillis
          yield* toPairers("node.pair.resolved", { requestId, nodeId: request.nodeId, decision: "rejected", ts })
          return request
        }),
      verify: (nodeId, token) =>
        Effect.map(lift(store.node(nodeId)), ({ paired }) => paired !== undefined && token.length > 0 && secretEquals(token, paired.token)),
      rename: (nodeId, displayName) => Effect.map(lift(store.rename(nodeId, displayName)), withoutToken),
      forget: (nodeId) => lift(store.forget(nodeId)),
      inFlight: Effect.sync(() => table.size)
    })
  })
)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const lift = <A>(effect: Effect.Effect<A, NodePairingStoreError>) => Effect.mapError(effect, (e) => new NodeRegistryError({ reason: e.reason }))

const refused = (code: NodeRequestRefused["code"], message: string) =>
  Effect.fail(new NodeRegistryError({ reason: new NodeRequestRefused({ code, message }) }))

const notConnected = (nodeId: string, command: string, why: string) =>
  new NodeRegistryError({ reason: new NodeNotConnected({ nodeId, command, why }) })

const parsePayload = (r: InvokeResultParams): unknown => {
  if (typeof r.payloadJSON !== "string") return r.payload ?? null
  const parsed = Result.try(() => JSON.parse(r.payloadJSON as string) as unknown)
  return Result.isSuccess(parsed) ? parsed.success : r.payloadJSON
}

const invokeOutcome = (exit: Exit.Exit<unknown, NodeRegistryError>): "ok" | "timeout" | "error" => {
  if (Exit.isSuccess(exit)) return "ok"
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" && error.value.reason._tag === "NodeInvokeTimeout" ? "timeout" : "error"
}

const withoutToken = ({ token: _, ...rest }: PairedNode): Omit<PairedNode, "token"> => rest
