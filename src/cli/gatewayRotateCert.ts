/**
 * `gatehouse gateway rotate-cert`: replaces the gateway's generated TLS
 * certificate with a new one and prints its fingerprint. Clients that pinned the
 * old one are refused with "the gateway's certificate changed" until re-pinned.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConfigError } from "../config/errors.ts"
import { localConfig } from "../programs/clientTarget.ts"
import { readLiveLock } from "../programs/profileLock.ts"
import { generateCertificate } from "../tls/certificate.ts"
import { colonForm } from "../tls/fingerprint.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

export const gatewayRotateCert = Command.make(
  "rotate-cert",
  { json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false)) },
  (flags) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const { config } = yield* localConfig({ profile: Option.getOrUndefined(shared.profile), dev: shared.dev }, process.env)
        if (config.tls.certPath !== undefined) {
          return yield* new ConfigError({
            reason: "refused",
            message: `the gateway serves your own certificate (gateway.tls.certPath = ${config.tls.certPath}); ` +
              `replace that file and its key instead, then restart the gateway`
          })
        }
        const material = yield* generateCertificate(config.paths.stateDir).pipe(
          Effect.provide(NodeServices.layer),
          Effect.mapError((e) => new ConfigError({ reason: "unreadable", message: e.message }))
        )
        const running = yield* readLiveLock(config.paths.stateDir)
        if (flags.json) {
          return yield* printJson({ ok: true, fingerprint: material.fingerprint, certPath: material.certPath, restartNeeded: running !== undefined })
        }
        yield* Console.log([
          `New TLS certificate: ${material.certPath}`,
          `SHA-256 fingerprint: ${material.fingerprint}`,
          `                     (${colonForm(material.fingerprint)})`,
          "",
          running === undefined
            ? "The gateway serves it from its next start."
            : `The running gateway (pid ${running.pid}) still serves the old one: restart it to serve this one.`,
          "Clients that pinned the old certificate are refused (\"the gateway's certificate changed\") until they re-pin:",
          `  gatehouse <command> --url wss://<host>:${config.port.value} --trust-fingerprint ${material.fingerprint}`,
          `  openclaw node run --tls --tls-fingerprint ${material.fingerprint} ...`
        ].join("\n"))
      }),
      flags.json
    )
).pipe(Command.withDescription("Make a new self-signed TLS certificate and print its SHA-256 fingerprint"))
