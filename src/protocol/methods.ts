/**
 * Every gateway method, declared once as an Rpc with its schemas and access rule,
 * collected in `GatewayRpcs`. `hello-ok.features.methods` is derived from this group.
 */
import * as RpcGroup from "effect/rpc/RpcGroup"
import { Authorize } from "./authorize.ts"
import { ConfigGet, GatewayIdentityGet, Health, LastHeartbeat, Status, SystemPresence } from "./rpcs/core.ts"
import {
  DeviceBootstrapCreate,
  DevicePairApprove,
  DevicePairList,
  DevicePairReject,
  DevicePairRemove,
  DeviceTokenRevoke,
  DeviceTokenRotate
} from "./rpcs/devices.ts"
import {
  NodeDescribe,
  NodeEvent,
  NodeEventsSubscribe,
  NodeInvoke,
  NodeInvokeResult,
  NodeList,
  NodePairApprove,
  NodePairList,
  NodePairReject,
  NodePairRequest,
  NodePairVerify,
  NodeRename
} from "./rpcs/nodes.ts"

export const GatewayRpcs = RpcGroup.make(
  Health,
  Status,
  SystemPresence,
  LastHeartbeat,
  GatewayIdentityGet,
  ConfigGet,
  DevicePairList,
  DevicePairApprove,
  DevicePairReject,
  DevicePairRemove,
  DeviceTokenRotate,
  DeviceTokenRevoke,
  DeviceBootstrapCreate,
  NodeList,
  NodeDescribe,
  NodeInvoke,
  NodeEventsSubscribe,
  NodePairRequest,
  NodePairList,
  NodePairApprove,
  NodePairReject,
  NodePairVerify,
  NodeRename,
  NodeInvokeResult,
  NodeEvent
).middleware(Authorize)

/** Method names this gateway serves, in declaration order. */
export const servedMethods: ReadonlyArray<string> = [...GatewayRpcs.requests.keys()]

/** Events this gateway may send. */
export const servedEvents: ReadonlyArray<string> = [
  "connect.challenge",
  "tick",
  "health",
  "presence",
  "shutdown",
  "device.pair.requested",
  "device.pair.resolved",
  "node.pair.requested",
  "node.pair.resolved",
  "node.invoke.request",
  "node.event"
]
