/**
 * Every gateway method, declared once as an Rpc with its schemas and access rule,
 * collected in `GatewayRpcs`. `hello-ok.features.methods` is derived from this group.
 */
import * as RpcGroup from "effect/rpc/RpcGroup"
import { Authorize } from "./authorize.ts"
import { ChannelsStatus, MessageAction, Send } from "./rpcs/channels.ts"
import { Agent, AgentWait, ChannelsPairingApprove, ChannelsPairingList, ChatAbort, ChatHistory, ChatSend } from "./rpcs/chat.ts"
import { ConfigGet, DiagnosticsStability, GatewayIdentityGet, Health, LastHeartbeat, Status, SystemPresence } from "./rpcs/core.ts"
import {
  DeviceBootstrapCreate,
  DevicePairApprove,
  DevicePairList,
  DevicePairReject,
  DevicePairRemove,
  DevicePairRename,
  DeviceTokenRevoke,
  DeviceTokenRotate
} from "./rpcs/devices.ts"
import { LogsTail } from "./rpcs/logs.ts"
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
  NodePairRemove,
  NodePairRequest,
  NodePairVerify,
  NodePluginToolsUpdate,
  NodeRename,
  NodeRunnerInventoryUpdate,
  NodeSkillsUpdate
} from "./rpcs/nodes.ts"

export const GatewayRpcs = RpcGroup.make(
  Health,
  DiagnosticsStability,
  Status,
  SystemPresence,
  LastHeartbeat,
  GatewayIdentityGet,
  ConfigGet,
  LogsTail,
  ChannelsStatus,
  Send,
  MessageAction,
  DevicePairList,
  DevicePairApprove,
  DevicePairReject,
  DevicePairRemove,
  DevicePairRename,
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
  NodePairRemove,
  NodePairVerify,
  NodeRename,
  NodeInvokeResult,
  NodeRunnerInventoryUpdate,
  NodeSkillsUpdate,
  NodePluginToolsUpdate,
  NodeEvent,
  ChatSend,
  ChatHistory,
  ChatAbort,
  Agent,
  AgentWait,
  ChannelsPairingList,
  ChannelsPairingApprove
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
  "node.event",
  "chat",
  "agent"
]
