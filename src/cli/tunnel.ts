/**
 * `gatehouse tunnel [--ssh user@host[:port]]`: keeps an `ssh -N -L` forward to the
 * gateway on the SSH host's loopback open, prints the local URL to use (with
 * `--url`, or in another program), restarts the forward with backoff when ssh
 * dies, and ends cleanly (ssh's process group killed) on Ctrl-C or SIGTERM.
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TransportSsh from "../layers/TransportSsh.ts"
import { resolveSshForward } from "../programs/clientTarget.ts"
import { formatSshTarget } from "../transport/ssh.ts"
import { sshCommand } from "./clientCommands.ts"
import { printJson, reportFailures } from "./output.ts"
import { root } from "./root.ts"

export const tunnel = Command.make(
  "tunnel",
  {
    ssh: Flag.String("ssh").pipe(Flag.withDescription("SSH host running the gateway (user@host[:port]); default gateway.remote.sshTarget"), Flag.optional),
    sshIdentity: Flag.String("ssh-identity").pipe(Flag.withDescription("Private key file (ssh -i)"), Flag.optional),
    localPort: Flag.Int("local-port").pipe(Flag.withDescription("Local port of the forward (default: a free one)"), Flag.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the forward as JSON once it is ready"), Flag.withDefault(false))
  },
  (f) =>
    reportFailures(
      Effect.gen(function*() {
        const shared = yield* root
        const { endpoint, remotePort } = yield* resolveSshForward({
          profile: Option.getOrUndefined(shared.profile),
          dev: shared.dev,
          ssh: Option.getOrUndefined(f.ssh),
          sshIdentity: Option.getOrUndefined(f.sshIdentity)
        }, process.env)
        const options: TransportSsh.SshTransportOptions = {
          ...endpoint,
          command: sshCommand(process.env),
          localPort: Option.getOrUndefined(f.localPort)
        }
        // The first forward picks the local port; restarts keep it, so the printed URL stays valid.
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const keeper = yield* TransportSsh.makeForwardKeeper((port) => TransportSsh.startForward(options, port))
          const forward = yield* keeper.ensure(remotePort)
          const url = `ws://127.0.0.1:${forward.localPort}`
          if (f.json) yield* printJson({ ok: true, url, ssh: formatSshTarget(endpoint), remotePort, pid: forward.pid })
          else {
            yield* Console.log([
              `Forwarding ${url} → 127.0.0.1:${remotePort} on ${formatSshTarget(endpoint)} (ssh pid ${forward.pid})`,
              `Use it with: gatehouse gateway health --url ${url} --token <the gateway's token>`,
              "Ctrl-C stops the forward."
            ].join("\n"))
          }
          const pinned: TransportSsh.SshTransportOptions = { ...options, localPort: forward.localPort }
          const restarts = yield* TransportSsh.makeForwardKeeper((port) => TransportSsh.startForward(pinned, port))
          let current = forward
          while (true) {
            const end = yield* Deferred.await(current.exited)
            yield* Effect.logWarning(`the SSH forward ended (${end.detail}); restarting it`)
            current = yield* restarts.ensure(remotePort).pipe(
              Effect.tapError((e) => Effect.logWarning(e.message)),
              Effect.eventually
            )
            yield* Effect.logInfo(`the SSH forward is back on ${url}`)
          }
        }))
        return first
      }),
      f.json
    )
).pipe(Command.withDescription("Keep an SSH forward to a remote gateway open and print its local URL (Ctrl-C stops it)"))
