/**
 * ChannelRunner: runs each configured channel (Telegram, WebChat, …) as a
 * supervised fiber that routes incoming messages to the agent and replies on the
 * same channel; a failing channel is restarted with backoff, never fatal.
 *
 * Layers: `ChannelRunnerNone` (no channels; the default until channels land).
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
