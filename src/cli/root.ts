/**
 * The root `gatehouse` command and the flags every subcommand shares
 * (`--profile NAME`, `--dev`), which pick the state dir, config and port.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"

export const root = Command.make("gatehouse").pipe(
  Command.withSharedFlags({
    profile: Flag.String("profile").pipe(
      Flag.withDescription("Use the profile NAME: state in ~/.openclaw-NAME, its own port"),
      Flag.optional
    ),
    dev: Flag.Boolean("dev").pipe(Flag.withDescription("Use the dev profile (~/.openclaw-dev, port 19001)"), Flag.withDefault(false))
  }),
  Command.withDescription("gatehouse: a gateway for personal agent setups (OpenClaw protocol v3/v4)")
)
