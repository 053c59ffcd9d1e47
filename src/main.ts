/**
 * The `gatehouse` command line: the command tree, nothing else.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Command from "effect/cli/Command"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { call, gatewayHealth, gatewayStatus, health, status } from "./cli/clientCommands.ts"
import { configGet, configValidate } from "./cli/configGet.ts"
import { configSet, configUnset } from "./cli/configSet.ts"
import { configShow } from "./cli/configShow.ts"
import { dashboard } from "./cli/dashboard.ts"
import { devices } from "./cli/devices.ts"
import { pairing } from "./cli/pairing.ts"
import { doctor } from "./cli/doctor.ts"
import { mistypedSubcommand } from "./cli/didYouMean.ts"
import { discover } from "./cli/discover.ts"
import { gatewayInstallService } from "./cli/gatewayInstallService.ts"
import { gatewayRotateCert } from "./cli/gatewayRotateCert.ts"
import { gatewayRun } from "./cli/gatewayRun.ts"
import { gatewayStop } from "./cli/gatewayStop.ts"
import { gatewayRestart } from "./cli/gatewayRestart.ts"
import { gatewayUninstallService } from "./cli/gatewayUninstallService.ts"
import { logs } from "./cli/logs.ts"
import { node, nodes } from "./cli/nodes.ts"
import { root } from "./cli/root.ts"
import { securityAudit } from "./cli/securityAudit.ts"
import { setupCode } from "./cli/setupCode.ts"
import { tunnel } from "./cli/tunnel.ts"
import { GATEHOUSE_VERSION } from "./version.ts"

const gateway = Command.make("gateway").pipe(
  Command.withDescription("Run or inspect the gateway"),
  Command.withSubcommands([gatewayRun, gatewayStop, gatewayStatus, gatewayHealth, call, gatewayRotateCert, gatewayInstallService, gatewayRestart, gatewayUninstallService])
)

const config = Command.make("config").pipe(
  Command.withDescription("Inspect and check the configuration"),
  Command.withSubcommands([configShow, configGet, configSet, configUnset, configValidate])
)

const security = Command.make("security").pipe(
  Command.withDescription("Check this gateway's settings for risks"),
  Command.withSubcommands([securityAudit])
)

export const cli = root.pipe(Command.withSubcommands([gateway, health, status, devices, nodes, node, setupCode, tunnel, discover, config, doctor, security, dashboard, pairing, logs]))

const mistyped = mistypedSubcommand(cli, process.argv.slice(2))
if (mistyped !== undefined) {
  process.stderr.write(
    `error: unknown command "${mistyped.word}" for "${mistyped.path.join(" ")}". Did you mean ${mistyped.suggestions.map((s) => `"${s}"`).join(" or ")}?\n` +
      `Run \`${mistyped.path.join(" ")} --help\` for every command.\n`
  )
  process.exit(1)
}

cli.pipe(
  Command.run({ version: GATEHOUSE_VERSION }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    // A signal-driven stop is a clean stop: exit 0 once every finalizer has run.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
)
