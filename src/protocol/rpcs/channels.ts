/**
 * The channel methods: `channels.status` and `send`.
 */
import * as Schema from "effect/Schema"
import { MethodAccess, operator } from "../access.ts"
import { JsonValue } from "../json.ts"
import { method } from "./define.ts"

const opt = Schema.optionalKey
const Text = (max: number) => Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(max))

/**
 * `channels.status` in the shape `openclaw channels status` prints: per channel an
 * entry in `channelOrder`/`channelLabels`/`channels` and its accounts (gatehouse runs
 * one account per channel, `default`) with their state.
 */
export const ChannelsStatusResult = Schema.Struct({
  ts: Schema.Number,
  channelOrder: Schema.Array(Schema.String),
  channelLabels: Schema.Record(Schema.String, Schema.String),
  channels: Schema.Record(Schema.String, Schema.Record(Schema.String, JsonValue)),
  channelAccounts: Schema.Record(Schema.String, Schema.Array(Schema.Record(Schema.String, JsonValue))),
  channelDefaultAccountId: Schema.Record(Schema.String, Schema.String)
})

export class ChannelsStatus extends method("channels.status", {
  probe: opt(Schema.Boolean),
  timeoutMs: opt(Schema.Number),
  channel: opt(Schema.String.check(Schema.isMaxLength(128)))
}, ChannelsStatusResult).annotate(MethodAccess, operator("operator.read")) {}

/**
 * `send`: a message out on a channel (`openclaw message send`). Text only; OpenClaw's
 * media, threading and formatting fields are accepted and ignored. A repeated
 * idempotency key answers the first send's result.
 */
export class Send extends method("send", {
  to: Text(256),
  message: opt(Schema.String.check(Schema.isMaxLength(64 * 1024))),
  channel: opt(Schema.String.check(Schema.isMaxLength(128))),
  accountId: opt(Schema.String),
  idempotencyKey: Text(256),
  mediaUrl: opt(Schema.String),
  mediaUrls: opt(Schema.Array(Schema.String)),
  agentId: opt(Schema.String),
  replyToId: opt(Schema.String),
  threadId: opt(Schema.String),
  silent: opt(Schema.Boolean),
  sessionKey: opt(Schema.String)
}, Schema.Struct({ runId: Schema.String, messageId: Schema.String, channel: Schema.String, chatId: Schema.String }))
  .annotate(MethodAccess, operator("operator.write")) {}

/**
 * `message.action` (what `openclaw message send` calls): only the `send` action, with
 * `params.to` (or `target`) and `params.message`; other actions are refused.
 */
export class MessageAction extends method("message.action", {
  channel: Text(128),
  action: Text(64),
  params: Schema.Record(Schema.String, Schema.Unknown),
  accountId: opt(Schema.String),
  idempotencyKey: Text(256)
}, Schema.Struct({ ok: Schema.Boolean, channel: Schema.String, to: Schema.String, messageId: Schema.String, chatId: Schema.String }))
  .annotate(MethodAccess, operator("operator.write")) {}
