/**
 * ChannelRunner: runs each configured channel (Telegram, WebChat, …) as a
 * supervised fiber that routes incoming messages to the agent and replies on the
 * same channel; a failing channel is restarted with backoff, never fatal.
 *
 * Layers: `ChannelRunnerLive` (the configured channels, each under supervision)
 * and `ChannelRunnerNone` (no channel configured).
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
}

/** The named channel is not configured. */
export class ChannelUnknown extends Schema.TaggedClass<ChannelUnknown>()("ChannelUnknown", {
  channel: Schema.String
}) {}

export class ChannelRunnerError extends Schema.TaggedError<ChannelRunnerError>()("ChannelRunnerError", {
  reason: Schema.Union([ChannelUnknown])
}) {}

export interface ChannelRunnerShape {
  /** Every configured channel and its state. */
  readonly status: Effect.Effect<ReadonlyArray<ChannelStatus>>
  /** Restarts one channel now (after a config change or a failure). */
  readonly restart: (channel: string) => Effect.Effect<void, ChannelRunnerError>
}

export class ChannelRunner extends Context.Service<ChannelRunner, ChannelRunnerShape>()("gatehouse/services/ChannelRunner") {}
