/**
 * Node pairing state: which command surface an operator approved for each node.
 * Separate from device pairing, which decides who may connect at all.
 */
import * as Schema from "effect/Schema"
import { Millis, Strings } from "../pairing/model.ts"

const opt = Schema.optionalKey

export const NodePendingRequest = Schema.Struct({
  requestId: Schema.String,
  nodeId: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  version: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  clientId: opt(Schema.String),
  caps: Strings,
  commands: Strings,
  remoteIp: opt(Schema.String),
  silent: Schema.Boolean,
  ts: Millis
})
export type NodePendingRequest = typeof NodePendingRequest.Type

export const PairedNode = Schema.Struct({
  nodeId: Schema.String,
  displayName: opt(Schema.String),
  platform: opt(Schema.String),
  version: opt(Schema.String),
  deviceFamily: opt(Schema.String),
  caps: Strings,
  commands: Strings,
  token: Schema.String,
  approvedVia: Schema.Literals(["silent", "owner"]),
  createdAtMs: Millis,
  approvedAtMs: Millis,
  lastConnectedAtMs: opt(Millis)
})
export type PairedNode = typeof PairedNode.Type

export const NodePairingState = Schema.Struct({
  version: Schema.Literal(1),
  pending: Schema.Record(Schema.String, NodePendingRequest),
  paired: Schema.Record(Schema.String, PairedNode)
})
export type NodePairingState = typeof NodePairingState.Type

export const emptyNodePairingState: NodePairingState = { version: 1, pending: {}, paired: {} }
