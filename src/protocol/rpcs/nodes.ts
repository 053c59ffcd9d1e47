/**
 * Node methods: the catalog and invoke for operators, node pairing, and the
 * node-role methods nodes use to answer invokes and report events.
 */
import * as Schema from "effect/Schema"
import { MethodAccess, nodeOnly, operator } from "../access.ts"
import { absentWhenUndefined, JsonValue } from "../json.ts"
import { method } from "./define.ts"

const Id = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256))
const opt = Schema.optionalKey
const Strings = Schema.Array(Schema.String)
const Ok = Schema.Struct({ ok: Schema.Boolean })

// Results. Fields are declared in the order the gateway builds them, which is the order on the wire.

const nodeViewFields = {
  nodeId: Schema.String,
  displayName: absentWhenUndefined(Schema.String),
  platform: absentWhenUndefined(Schema.String),
  version: absentWhenUndefined(Schema.String),
  caps: Strings,
  commands: Strings,
  approvedCommands: Strings,
  /** Declared, approved and allowed by the command policy. */
  invokableCommands: Strings,
  connected: Schema.Boolean,
  paired: Schema.Boolean,
  remoteIp: absentWhenUndefined(Schema.String),
  connectedAtMs: absentWhenUndefined(Schema.Number),
  pendingRequestId: absentWhenUndefined(Schema.String),
  /** What the connected node last reported about itself (runner inventory, skills, plugin tools). */
  reports: Schema.Struct({
    runnerInventory: opt(JsonValue),
    skills: opt(JsonValue),
    pluginTools: opt(JsonValue)
  })
}

/** A node as operators see it: paired and/or connected. */
export const NodeView = Schema.Struct(nodeViewFields)
export type NodeView = typeof NodeView.Type

/** A node's command surface waiting for an operator's approval. */
export const NodePendingRequest = Schema.Struct({
  requestId: Schema.String,
  nodeId: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  version: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  clientId: opt(Schema.String),
  remoteIp: opt(Schema.String),
  caps: Strings,
  commands: Strings,
  silent: Schema.Boolean,
  ts: Schema.Number
})
export type NodePendingRequest = typeof NodePendingRequest.Type

/** A node's approved command surface (its token never leaves the gateway this way). */
export const PairedNode = Schema.Struct({
  nodeId: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  version: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  caps: Strings,
  commands: Strings,
  /** `owner` or `silent`. */
  approvedVia: Schema.String,
  createdAtMs: Schema.Number,
  approvedAtMs: Schema.Number,
  lastConnectedAtMs: opt(Schema.Number)
})
export type PairedNode = typeof PairedNode.Type

export const NodePairListResult = Schema.Struct({
  pending: Schema.Array(Schema.Struct({ ...NodePendingRequest.fields, requiredApproveScopes: Strings })),
  paired: Schema.Array(PairedNode)
})
export type NodePairListResult = typeof NodePairListResult.Type

/** What the node answered to an invoke: its payload parsed from `payloadJSON` when it sent one. */
export const NodeInvokeAnswer = Schema.Struct({
  ok: Schema.Boolean,
  nodeId: Schema.String,
  payload: JsonValue,
  payloadJSON: Schema.NullOr(Schema.String),
  command: Schema.String
})
export type NodeInvokeAnswer = typeof NodeInvokeAnswer.Type

// Methods

export class NodeList extends method("node.list", {}, Schema.Struct({ ts: Schema.Number, nodes: Schema.Array(NodeView) }))
  .annotate(MethodAccess, operator("operator.read")) {}
export class NodeDescribe extends method("node.describe", { nodeId: Id }, Schema.Struct({ ts: Schema.Number, ...nodeViewFields }))
  .annotate(MethodAccess, operator("operator.read")) {}
export class NodeInvoke extends method("node.invoke", {
  nodeId: Id,
  command: Id,
  params: opt(Schema.Unknown),
  timeoutMs: opt(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 600_000 }))),
  idempotencyKey: Id
}, NodeInvokeAnswer).annotate(MethodAccess, operator("operator.write")) {}
export class NodeEventsSubscribe extends method("node.events.subscribe", {
  nodeIds: opt(Schema.Array(Id))
}, Ok).annotate(MethodAccess, operator("operator.read")) {}

export class NodePairRequest extends method(
  "node.pair.request",
  { nodeId: Id },
  Schema.Struct({ status: Schema.Literal("pending"), request: NodePendingRequest, created: Schema.Boolean })
).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairList extends method("node.pair.list", {}, NodePairListResult).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairApprove extends method("node.pair.approve", { requestId: Id }, Schema.Struct({ requestId: Schema.String, node: PairedNode }))
  .annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairReject extends method("node.pair.reject", { requestId: Id }, Schema.Struct({ requestId: Schema.String, nodeId: Schema.String }))
  .annotate(MethodAccess, operator("operator.pairing")) {}
/** OpenClaw's `nodes remove`: forgets a node's approved surface, revokes its device's node token and disconnects it. */
export class NodePairRemove extends method("node.pair.remove", { nodeId: Id }, Schema.Struct({ nodeId: Schema.String }))
  .annotate(MethodAccess, operator("operator.pairing")) {}
/** `node` only when the token matched. */
export class NodePairVerify extends method("node.pair.verify", { nodeId: Id, token: Schema.String }, Schema.Struct({ ok: Schema.Boolean, node: opt(NodeView) }))
  .annotate(MethodAccess, operator("operator.pairing")) {}
export class NodeRename extends method("node.rename", {
  nodeId: Id,
  displayName: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(128))
}, Schema.Struct({ nodeId: Schema.String, node: PairedNode })).annotate(MethodAccess, operator("operator.pairing")) {}

/** `ignored` when the invoke had already ended (timed out, or answered before). */
export class NodeInvokeResult extends method("node.invoke.result", {
  id: Id,
  nodeId: Id,
  ok: Schema.Boolean,
  payload: opt(Schema.Unknown),
  payloadJSON: opt(Schema.NullOr(Schema.String)),
  error: opt(Schema.NullOr(Schema.Struct({
    code: opt(Schema.String),
    message: opt(Schema.String)
  })))
}, Schema.Struct({ ok: Schema.Boolean, ignored: opt(Schema.Boolean) })).annotate(MethodAccess, nodeOnly) {}
/** OpenClaw node hosts report what they run, their skills and plugin tools after connecting. */
export class NodeRunnerInventoryUpdate extends method("node.runnerInventory.update", {
  protocolFeatures: opt(Schema.Array(Schema.String.check(Schema.isMaxLength(128))).check(Schema.isMaxLength(128))),
  workerHost: opt(JsonValue)
}, Ok).annotate(MethodAccess, nodeOnly) {}
export class NodeSkillsUpdate extends method("node.skills.update", { skills: Schema.Array(JsonValue).check(Schema.isMaxLength(1024)) }, Ok)
  .annotate(MethodAccess, nodeOnly) {}
export class NodePluginToolsUpdate extends method("node.pluginTools.update", { tools: Schema.Array(JsonValue).check(Schema.isMaxLength(1024)) }, Ok)
  .annotate(MethodAccess, nodeOnly) {}

export class NodeEvent extends method("node.event", {
  event: Id,
  payload: opt(Schema.Unknown),
  payloadJSON: opt(Schema.NullOr(Schema.String))
}, Ok).annotate(MethodAccess, nodeOnly) {}
