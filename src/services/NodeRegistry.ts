/**
 * NodeRegistry: the connected nodes and what they may be asked to do. A node's
 * reconnect replaces its old session; `invoke` sends `node.invoke.request` to the
 * node and waits (30 s by default) for its `node.invoke.result`; a node that goes
 * away fails its calls at once. Commands pass the gateway's command policy and the
 * node's approved surface (node pairing) before they reach the node. One
 * implementation: `NodeRegistryLive`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { LiveConnection } from "../connections/liveConnection.ts"
import type { NodePendingRequest, PairedNode } from "../nodes/pairingModel.ts"
import type { ConnectParams } from "../protocol/connect.ts"
import { PairingRefused, PairingUnavailable } from "./PairingStore.ts"

/** The node is not connected, or went away while a call was in flight. */
export class NodeNotConnected extends Schema.TaggedClass<NodeNotConnected>()("NodeNotConnected", {
  nodeId: Schema.String,
  /** The command in flight and why it was cut short, when a call was. */
  command: Schema.optionalKey(Schema.String),
  why: Schema.optionalKey(Schema.String)
}) {}

/** The request cannot reach a node as asked: undeclared, disallowed or unapproved command, unknown or wrong node. */
export class NodeRequestRefused extends Schema.TaggedClass<NodeRequestRefused>()("NodeRequestRefused", {
  code: Schema.Literals(["COMMAND_NOT_DECLARED", "COMMAND_NOT_ALLOWED", "COMMAND_NOT_APPROVED", "UNKNOWN_NODE", "NODE_ID_MISMATCH", "REPORT_TOO_LARGE"]),
  message: Schema.String
}) {}

/** Too many calls in flight, from this caller or to this node; retry when some have answered. */
export class NodeBusy extends Schema.TaggedClass<NodeBusy>()("NodeBusy", {
  scope: Schema.Literals(["caller", "node"]),
  limit: Schema.Number
}) {}

/** The node did not answer in time. */
export class NodeInvokeTimeout extends Schema.TaggedClass<NodeInvokeTimeout>()("NodeInvokeTimeout", {
  nodeId: Schema.String,
  command: Schema.String,
  timeoutMs: Schema.Number
}) {}

/** The node answered with a failure. */
export class NodeReportedFailure extends Schema.TaggedClass<NodeReportedFailure>()("NodeReportedFailure", {
  code: Schema.String,
  message: Schema.String
}) {}

export class NodeRegistryError extends Schema.TaggedError<NodeRegistryError>()("NodeRegistryError", {
  reason: Schema.Union([NodeNotConnected, NodeRequestRefused, NodeBusy, NodeInvokeTimeout, NodeReportedFailure, PairingRefused, PairingUnavailable])
}) {}

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
  /** What the connected node last reported about itself (OpenClaw node hosts send these after connecting). */
  readonly reports: NodeReports
}

/** A node's self-reports, each kept as sent while it is connected. */
export interface NodeReports {
  readonly runnerInventory?: unknown
  readonly skills?: unknown
  readonly pluginTools?: unknown
}

/** Each self-report's JSON is kept up to this size; a larger one is refused. */
export const MAX_REPORT_BYTES = 64 * 1024

export interface InvokeRequest {
  /** Who is asking (a device id, else a connection id): idempotency keys and budgets are per caller. */
  readonly caller: string
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
  readonly invoke: (request: InvokeRequest) => Effect.Effect<unknown, NodeRegistryError>
  readonly result: (callerNodeId: string, result: InvokeResultParams) => Effect.Effect<unknown, NodeRegistryError>
  readonly event: (callerNodeId: string, event: string, payload: unknown) => Effect.Effect<void>
  /** Keeps a connected node's report about itself (runner inventory, skills, plugin tools) for `node.describe`. */
  readonly report: (callerNodeId: string, kind: keyof NodeReports, value: unknown) => Effect.Effect<void, NodeRegistryError>
  readonly subscribe: (connId: string, nodeIds: ReadonlyArray<string> | undefined) => Effect.Effect<void>
  readonly list: Effect.Effect<ReadonlyArray<NodeView>, NodeRegistryError>
  readonly describe: (nodeId: string) => Effect.Effect<NodeView, NodeRegistryError>
  readonly pairList: Effect.Effect<{ readonly pending: ReadonlyArray<NodePendingRequest & { readonly requiredApproveScopes: ReadonlyArray<string> }>; readonly paired: ReadonlyArray<Omit<PairedNode, "token">> }, NodeRegistryError>
  readonly pairRequest: (nodeId: string) => Effect.Effect<{ readonly request: NodePendingRequest; readonly created: boolean }, NodeRegistryError>
  readonly pairApprove: (requestId: string, callerScopes: ReadonlyArray<string>) => Effect.Effect<Omit<PairedNode, "token">, NodeRegistryError>
  readonly pairReject: (requestId: string) => Effect.Effect<NodePendingRequest, NodeRegistryError>
  readonly verify: (nodeId: string, token: string) => Effect.Effect<boolean, NodeRegistryError>
  readonly rename: (nodeId: string, displayName: string) => Effect.Effect<Omit<PairedNode, "token">, NodeRegistryError>
  /** Forgets a node's approved surface and pending request (its device was removed or revoked). */
  readonly forget: (nodeId: string) => Effect.Effect<void, NodeRegistryError>
  /** Calls in flight, for status and tests. */
  readonly inFlight: Effect.Effect<number>
}

export class NodeRegistry extends Context.Service<NodeRegistry, NodeRegistryShape>()("gatehouse/services/NodeRegistry") {}
