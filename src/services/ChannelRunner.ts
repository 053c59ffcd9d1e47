/**
 * ChannelRunner: runs each configured channel (Telegram, WebChat, …) as a
 * supervised fiber that routes incoming messages to the agent and replies on the
 * same channel; a failing channel is restarted with backoff, never fatal.
 *
 * Layers: `ChannelRunnerLive` (the configured channels, each under supervision;
 * the gateway's, also with none configured, so a config reload can start one)
 * and `ChannelRunnerNone` (never any channel).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** A channel's state as `channels.status` reports it. */
export interface ChannelStatus {
  readonly id: string
  readonly label: string
  readonly enabled: boolean
  readonly running: boolean
  readonly lastError?: string | undefined
  /** Channel-specific facts for `channels.status` (policy, allow list, token source…), never secrets. */
  readonly details?: Record<string, unknown> | undefined
}

/** A channel as the runner supervises it. */
export interface ChannelDefinition {
  readonly id: string
  readonly label: string
  readonly enabled: boolean
  readonly details?: Record<string, unknown> | undefined
  /** Runs the channel until it fails (or forever); the runner restarts it with backoff. */
  readonly run: Effect.Effect<void, unknown>
  /** Sends `text` to `to`; fails with a message a person can act on. */
  readonly send?: ((to: string, text: string) => Effect.Effect<{ readonly messageId: string; readonly chatId: string }, string>) | undefined
}

/** The named channel is not configured. */
export class ChannelUnknown extends Schema.TaggedClass<ChannelUnknown>()("ChannelUnknown", {
  channel: Schema.String
}) {}

/** The channel could not deliver a message (disabled, bad recipient, refused by the platform). */
export class ChannelSendFailed extends Schema.TaggedClass<ChannelSendFailed>()("ChannelSendFailed", {
  channel: Schema.String,
  message: Schema.String
}) {}

export class ChannelRunnerError extends Schema.TaggedError<ChannelRunnerError>()("ChannelRunnerError", {
  reason: Schema.Union([ChannelUnknown, ChannelSendFailed])
}) {}

/** An outgoing message, as the `send` method asks for it. */
export interface SendRequest {
  /** The channel; may be left out when exactly one is configured. */
  readonly channel?: string | undefined
  /** The recipient in the channel's terms (a Telegram chat id). */
  readonly to: string
  readonly text: string
  /** A repeated key returns the first send's result instead of sending again. */
  readonly idempotencyKey: string
}

export interface SendResult {
  readonly channel: string
  readonly messageId: string
  readonly chatId: string
}

export interface ChannelRunnerShape {
  /** Every configured channel and its state. */
  readonly status: Effect.Effect<ReadonlyArray<ChannelStatus>>
  /** Restarts one channel now (after a config change or a failure). */
  readonly restart: (channel: string) => Effect.Effect<void, ChannelRunnerError>
  /** Sends a message out on a channel (the `send` method). */
  readonly send: (request: SendRequest) => Effect.Effect<SendResult, ChannelRunnerError>
}

export class ChannelRunner extends Context.Service<ChannelRunner, ChannelRunnerShape>()("gatehouse/services/ChannelRunner") {}
