/**
 * No channels: nothing runs, `status` is empty, and restarting names an unknown channel.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ChannelRunner, ChannelRunnerError, ChannelUnknown } from "../services/ChannelRunner.ts"

export const layer = Layer.succeed(ChannelRunner, ChannelRunner.of({
  status: Effect.succeed([]),
  restart: (channel) => Effect.fail(new ChannelRunnerError({ reason: new ChannelUnknown({ channel }) })),
  send: ({ channel }) => Effect.fail(new ChannelRunnerError({ reason: new ChannelUnknown({ channel: channel ?? "" }) }))
}))
