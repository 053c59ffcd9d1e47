/**
 * NodeRegistry: the connected nodes and what they may be asked to do. A node's
 * reconnect replaces its old session; `invoke` sends `node.invoke.request` to the
 * node and waits (30 s by default) for its `node.invoke.result`; a node that goes
 * away fails its calls at once. Commands pass the gateway's command policy and the
 * node's approved surface (node pairing) before they reach the node.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { randomUUID } from "node:crypto"
import { secretEquals } from "../auth/secretEquals.ts"
import { approvalScopes, decide, platformOf, verdictMessage } from "../nodes/commandPolicy.ts"
import { InvokeTable } from "../nodes/invokeTable.ts"
import type { NodePairingState, NodePendingRequest, PairedNode } from "../nodes/pairingModel.ts"
import * as NodePolicy from "../nodes/pairingPolicy.ts"
import type { ConnectParams } from "../protocol/connect.ts"
import { ErrorCode, GatewayError } from "../protocol/errors.ts"
import { freshValues, transitions } from "../pairing/transitions.ts"
import { satisfies } from "../protocol/scopes.ts"
import { ConnectionHub, isPairer, type LiveConnection } from "./ConnectionHub.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { NodePairingStore } from "./NodePairingStore.ts"

/** Default time a node has to answer an invoke. */
export const DEFAULT_INVOKE_TIMEOUT_MS = 30_000

/** A connected node. */
export interface NodeSession {
  readonly nodeId: string
  readonly live: LiveConnection
  readonly caps: ReadonlyArray<string>
  readonly commands: ReadonlyArray<string>
  readonly platform: string
  readonly deviceFamily: string | undefined
  readonly version: string
  readonly displayName: string | undefined
  readonly connectedAtMs: number
}

/** A node as operators see it: paired and/or connected. */
export interface NodeView {
  readonly nodeId: string
  readonly displayName: string | undefined
  readonly platform: string | undefined
  readonly version: string | undefined
  readonly caps: ReadonlyArray<string>
  readonly commands: ReadonlyArray<string>
  readonly approvedCommands: ReadonlyArray<string>
  /** Declared, approved and allowed by the command policy. */
  readonly invokableCommands: ReadonlyArray<string>
  readonly connected: boolean
  readonly paired: boolean
  readonly remoteIp: string | undefined
  readonly connectedAtMs: number | undefined
  readonly pendingRequestId: string | undefined
}

export interface InvokeRequest {
  readonly nodeId: string
  readonly command: string
  readonly params?: unknown
  readonly timeoutMs?: number | undefined
  readonly idempotencyKey: string
}

export interface InvokeResultParams {
  readonly id: string
  readonly nodeId: string
  readonly ok: boolean
  readonly payload?: unknown
  readonly payloadJSON?: string | null | undefined
  readonly error?: { readonly code?: string | undefined; readonly message?: string | undefined } | null | undefined
}

export interface NodeRegistryShape {
  /** Registers a node connection (after its hello-ok) and reconciles its command surface. */
  readonly connect: (live: LiveConnection, params: ConnectParams, directLocal: boolean) => Effect.Effect<void>
  /** Drops a node connection and fails its calls in flight. */
  readonly disconnect: (connId: string) => Effect.Effect<void>
  readonly invoke: (request: InvokeRequest) => Effect.Effect<unknown, GatewayError>
  readonly result: (callerNodeId: string, result: InvokeResultParams) => Effect.Effect<unknown, GatewayError>
  readonly event: (callerNodeId: string, event: string, payload: unknown) => Effect.Effect<void>
  readonly subscribe: (connId: string, nodeIds: ReadonlyArray<string> | undefined) => Effect.Effect<void>
  readonly list: Effect.Effect<ReadonlyArray<NodeView>>
  readonly describe: (nodeId: string) => Effect.Effect<NodeView, GatewayError>
  readonly pairList: Effect.Effect<{ readonly pending: ReadonlyArray<NodePendingRequest & { readonly requiredApproveScopes: ReadonlyArray<string> }>; readonly paired: ReadonlyArray<Omit<PairedNode, "token">> }>
  readonly pairRequest: (nodeId: string) => Effect.Effect<{ readonly request: NodePendingRequest; readonly created: boolean }, GatewayError>
  readonly pairApprove: (requestId: string, callerScopes: ReadonlyArray<string>) => Effect.Effect<Omit<PairedNode, "token">, GatewayError>
  readonly pairReject: (requestId: string) => Effect.Effect<NodePendingRequest, GatewayError>
  readonly verify: (nodeId: string, token: string) => Effect.Effect<boolean>
  readonly rename: (nodeId: string, displayName: string) => Effect.Effect<Omit<PairedNode, "token">, GatewayError>
  /** Forgets a node's approved surface and pending request (its device was removed or revoked). */
  readonly forget: (nodeId: string) => Effect.Effect<void>
  /** Calls in flight, for status and tests. */
  readonly inFlight: Effect.Effect<number>
}

export class NodeRegistry extends Context.Service<NodeRegistry, NodeRegistryShape>()("gatehouse/services/NodeRegistry") {
  static readonly layer = Layer.effect(
    NodeRegistry,
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig
      const hub = yield* ConnectionHub
      const store = yield* NodePairingStore
      const sessions = new Map<string, NodeSession>()
      const byConn = new Map<string, string>()
      const subscriptions = new Map<string, ReadonlySet<string> | "all">()
      const table = new InvokeTable()
      const { apply, modify } = transitions(store, NodePolicy.prune, "node pairing state")
      const toPairers = (event: string, payload: unknown) => hub.broadcast(event, payload, { filter: isPairer })
      const withScopes = (r: NodePendingRequest) => ({ ...r, requiredApproveScopes: approvalScopes(r.commands) })

      const view = (state: NodePairingState, nodeId: string): NodeView | undefined => {
        const session = sessions.get(nodeId)
        const paired = state.paired[nodeId]
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
          invokableCommands: commands.filter((c) => approved.includes(c) && decide(c, platform, config.nodeCommands).allowed),
          connected: session !== undefined,
          paired: paired !== undefined,
          remoteIp: session?.live.remoteAddress,
          connectedAtMs: session?.connectedAtMs,
          pendingRequestId: Object.values(state.pending).find((p) => p.nodeId === nodeId)?.requestId
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
          byConn.set(live.connId, nodeId)
          if (previous !== undefined) {
            byConn.delete(previous.live.connId)
            yield* table.failNode(nodeId, (command) => notConnected(nodeId, command, "replaced by a newer connection"))
            yield* previous.live.close(1008, "replaced by a newer connection of this node")
          }
          const surface: NodePolicy.NodeSurface = {
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
          const silent = directLocal && config.autoApproveLocal
          type Reconciled =
            | { readonly _tag: "Current" }
            | { readonly _tag: "Requested"; readonly request: NodePendingRequest; readonly created: boolean }
            | { readonly _tag: "Approved"; readonly request: NodePendingRequest }
          const outcome = yield* modify((s, fr): readonly [Reconciled, NodePairingState] => {
            if (NodePolicy.unapproved(s, surface).length === 0 && s.paired[nodeId] !== undefined) {
              const paired = s.paired[nodeId]!
              return [{ _tag: "Current" }, { ...s, paired: { ...s.paired, [nodeId]: { ...paired, lastConnectedAtMs: fr.now } } }]
            }
            const opened = NodePolicy.request(s, surface, silent, fr)
            const requested: Reconciled = { _tag: "Requested", request: opened.request, created: opened.created }
            if (!silent) return [requested, opened.state]
            const approved = NodePolicy.approve(opened.state, opened.request.requestId, { _tag: "Gateway" }, fr)
            return approved.ok ? [{ _tag: "Approved", request: opened.request }, approved.state] : [requested, opened.state]
          }).pipe(
            // The node stays connected with no approved surface; its commands wait until the store works again.
            Effect.catch((e) => Effect.as(Effect.logError(`node ${nodeId}: ${e.message}`), { _tag: "Current" } as Reconciled))
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
          return Effect.asVoid(table.failNode(nodeId, (command) => notConnected(nodeId, command, "node disconnected")))
        })

      const invoke: NodeRegistryShape["invoke"] = (request) =>
        Effect.gen(function*() {
          const session = sessions.get(request.nodeId)
          if (session === undefined) {
            return yield* new GatewayError({
              code: ErrorCode.unavailable,
              message: `node not connected: ${request.nodeId} (see \`gatehouse nodes list\`)`,
              details: { code: "NOT_CONNECTED" }
            })
          }
          if (!session.commands.includes(request.command)) {
            return yield* invalid(`command not declared by node: ${request.command} (it declares ${session.commands.join(", ") || "no commands"})`, "COMMAND_NOT_DECLARED")
          }
          const verdict = decide(request.command, platformOf(session.platform, session.deviceFamily), config.nodeCommands)
          if (!verdict.allowed) return yield* invalid(verdictMessage(request.command, verdict), "COMMAND_NOT_ALLOWED")
          const state = yield* store.get
          if (!(state.paired[request.nodeId]?.commands ?? []).includes(request.command)) {
            const pending = Object.values(state.pending).find((p) => p.nodeId === request.nodeId)
            return yield* invalid(
              `command not approved for this node: ${request.command}; ` +
                (pending === undefined ? "its pairing request expired; it is asked again when the node reconnects" : `approve it with \`gatehouse nodes approve ${pending.requestId}\``),
              "COMMAND_NOT_APPROVED"
            )
          }
          const now = yield* Clock.currentTimeMillis
          const key = `${request.nodeId}\u0000${request.command}\u0000${request.idempotencyKey}`
          const timeoutMs = request.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS
          const timedOut = new GatewayError({
            code: ErrorCode.timeout,
            message: `node invoke timed out after ${timeoutMs} ms (${request.command} on ${request.nodeId})`,
            details: { code: "TIMEOUT" },
            retryable: true
          })
          const earlier = table.recall(key, now)
          if (earlier !== undefined) {
            return yield* Deferred.await(earlier).pipe(Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.fail(timedOut) }))
          }
          const id = randomUUID()
          const outcome = yield* Deferred.make<unknown, GatewayError>()
          table.start(id, request.nodeId, request.command, outcome, key, now)
          yield* session.live.sendDirect("node.invoke.request", {
            id,
            nodeId: request.nodeId,
            command: request.command,
            paramsJSON: request.params === undefined ? null : JSON.stringify(request.params),
            timeoutMs,
            idempotencyKey: request.idempotencyKey
          })
          return yield* Deferred.await(outcome).pipe(
            Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.andThen(table.abandon(id, key, timedOut), Effect.fail(timedOut)) }),
            Effect.onInterrupt(() => table.abandon(id, key, notConnected(request.nodeId, request.command, "the caller went away")))
          )
        })

      const result: NodeRegistryShape["result"] = (callerNodeId, r) =>
        Effect.gen(function*() {
          if (r.nodeId !== callerNodeId) return yield* invalid("nodeId mismatch: a node answers only for itself", "NODE_ID_MISMATCH")
          const exit = r.ok
            ? Exit.succeed({ ok: true, nodeId: r.nodeId, payload: parsePayload(r), payloadJSON: r.payloadJSON ?? null })
            : Exit.fail(new GatewayError({
              code: ErrorCode.unavailable,
              message: `${r.error?.code ?? "NODE_ERROR"}: ${r.error?.message ?? "the node reported a failure"}`,
              details: { nodeError: { code: r.error?.code ?? "NODE_ERROR", message: r.error?.message ?? "" } }
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

      const list = Effect.map(store.get, (s) => {
        const ids = new Set([...sessions.keys(), ...Object.keys(s.paired)])
        return [...ids].sort().map((id) => view(s, id)!).filter((v) => v !== undefined)
      })

      const unknownNode = (nodeId: string) => invalid(`unknown node ${nodeId}; run \`gatehouse nodes list\``, "UNKNOWN_NODE")

      return NodeRegistry.of({
        connect,
        disconnect,
        invoke,
        result,
        event,
        subscribe: (connId, nodeIds) => Effect.sync(() => void subscriptions.set(connId, nodeIds === undefined ? "all" : new Set(nodeIds))),
        list,
        describe: (nodeId) => Effect.flatMap(store.get, (s) => {
          const v = view(s, nodeId)
          return v === undefined ? unknownNode(nodeId) : Effect.succeed(v)
        }),
        pairList: Effect.flatMap(freshValues, (fr) =>
          Effect.map(store.get, (raw) => {
            const s = NodePolicy.prune(raw, fr.now)
            return {
              pending: Object.values(s.pending).sort((a, b) => a.ts - b.ts).map(withScopes),
              paired: Object.values(s.paired).map(withoutToken)
            }
          })),
        pairRequest: (nodeId) =>
          Effect.gen(function*() {
            const session = sessions.get(nodeId)
            if (session === undefined) return yield* unknownNode(nodeId)
            const opened = yield* modify((s, fr) => {
              const r = NodePolicy.request(s, { nodeId, caps: session.caps, commands: session.commands, platform: session.platform, version: session.version }, false, fr)
              return [r, r.state] as const
            })
            if (opened.created) yield* toPairers("node.pair.requested", withScopes(opened.request))
            return { request: opened.request, created: opened.created }
          }),
        pairApprove: (requestId, callerScopes) =>
          Effect.gen(function*() {
            const node = yield* apply((s, fr) => NodePolicy.approve(s, requestId, { _tag: "Operator", scopes: callerScopes }, fr))
            const ts = yield* Clock.currentTimeMillis
            yield* toPairers("node.pair.resolved", { requestId, nodeId: node.nodeId, decision: "approved", ts })
            return withoutToken(node)
          }),
        pairReject: (requestId) =>
          Effect.gen(function*() {
            const request = yield* apply((s) => NodePolicy.reject(s, requestId))
            const ts = yield* Clock.currentTimeMillis
            yield* toPairers("node.pair.resolved", { requestId, nodeId: request.nodeId, decision: "rejected", ts })
            return request
          }),
        verify: (nodeId, token) => Effect.map(store.get, (s) => {
          const expected = s.paired[nodeId]?.token
          return expected !== undefined && token.length > 0 && secretEquals(token, expected)
        }),
        rename: (nodeId, displayName) => Effect.map(apply((s) => NodePolicy.rename(s, nodeId, displayName)), withoutToken),
        forget: (nodeId) =>
          Effect.orDie(modify((s) => {
            if (s.paired[nodeId] === undefined && !Object.values(s.pending).some((p) => p.nodeId === nodeId)) return [undefined, s] as const
            const paired = { ...s.paired }
            delete paired[nodeId]
            const pending = Object.fromEntries(Object.entries(s.pending).filter(([, p]) => p.nodeId !== nodeId))
            return [undefined, { ...s, paired, pending }] as const
          })),
        inFlight: Effect.sync(() => table.size)
      })
    })
  )
}

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const invalid = (message: string, code: string) => Effect.fail(new GatewayError({ code: ErrorCode.invalidRequest, message, details: { code } }))

const notConnected = (nodeId: string, command: string, why: string) =>
  new GatewayError({ code: ErrorCode.unavailable, message: `${why} (${command} on ${nodeId})`, details: { code: "NOT_CONNECTED" }, retryable: true })

const parsePayload = (r: InvokeResultParams): unknown => {
  if (typeof r.payloadJSON !== "string") return r.payload ?? null
  const parsed = Result.try(() => JSON.parse(r.payloadJSON as string) as unknown)
  return Result.isSuccess(parsed) ? parsed.success : r.payloadJSON
}

const withoutToken = ({ token: _, ...rest }: PairedNode): Omit<PairedNode, "token"> => rest
