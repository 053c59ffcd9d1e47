/**
 * Node methods: the catalog and invoke for operators, node pairing, and the
 * node-role methods nodes use to answer invokes and report events.
 */
import * as Schema from "effect/Schema"
import { MethodAccess, nodeOnly, operator } from "../access.ts"
import { method } from "./define.ts"

const Id = Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256))

export class NodeList extends method("node.list", {}).annotate(MethodAccess, operator("operator.read")) {}
export class NodeDescribe extends method("node.describe", { nodeId: Id }).annotate(MethodAccess, operator("operator.read")) {}
export class NodeInvoke extends method("node.invoke", {
  nodeId: Id,
  command: Id,
  params: Schema.optionalKey(Schema.Unknown),
  timeoutMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 600_000 }))),
  idempotencyKey: Id
}).annotate(MethodAccess, operator("operator.write")) {}
export class NodeEventsSubscribe extends method("node.events.subscribe", {
  nodeIds: Schema.optionalKey(Schema.Array(Id))
}).annotate(MethodAccess, operator("operator.read")) {}

export class NodePairRequest extends method("node.pair.request", { nodeId: Id }).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairList extends method("node.pair.list", {}).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairApprove extends method("node.pair.approve", { requestId: Id }).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairReject extends method("node.pair.reject", { requestId: Id }).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodePairVerify extends method("node.pair.verify", { nodeId: Id, token: Schema.String }).annotate(MethodAccess, operator("operator.pairing")) {}
export class NodeRename extends method("node.rename", {
  nodeId: Id,
  displayName: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(128))
}).annotate(MethodAccess, operator("operator.pairing")) {}

export class NodeInvokeResult extends method("node.invoke.result", {
  id: Id,
  nodeId: Id,
  ok: Schema.Boolean,
  payload: Schema.optionalKey(Schema.Unknown),
  payloadJSON: Schema.optionalKey(Schema.NullOr(Schema.String)),
  error: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    code: Schema.optionalKey(Schema.String),
    message: Schema.optionalKey(Schema.String)
  })))
}).annotate(MethodAccess, nodeOnly) {}
export class NodeEvent extends method("node.event", {
  event: Id,
  payload: Schema.optionalKey(Schema.Unknown),
  payloadJSON: Schema.optionalKey(Schema.NullOr(Schema.String))
}).annotate(MethodAccess, nodeOnly) {}
