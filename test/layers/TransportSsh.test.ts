import { assert, describe, it } from "@effect/vitest"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as TransportSsh from "../../src/layers/TransportSsh.ts"
import { Transport } from "../../src/services/Transport.ts"
import { freePort } from "../helpers/processes.ts"

const openWith = (options: TransportSsh.SshTransportOptions) =>
  Effect.gen(function*() {
    const transport = yield* Transport
    assert.strictEqual(transport.name, "ssh")
    return yield* Effect.flip(transport.open("ws://127.0.0.1:18789", { timeoutMs: 5000, maxPayload: 1 << 20 }))
  }).pipe(Effect.scoped, Effect.provide(TransportSsh.layer(options)), Effect.provide(NodeServices.layer))

describe("TransportSsh without a server", () => {
  it.effect("a missing ssh program is a clear SshMissing error", () =>
    Effect.gen(function*() {
      const e = yield* openWith({ target: "root@127.0.0.1", command: ["/nonexistent/ssh"] })
      assert.strictEqual(e.reason._tag, "SshMissing")
      assert.strictEqual(e.message, "cannot start `/nonexistent/ssh` for the SSH forward (no such program); install the OpenSSH client (apt-get install openssh-client) or put ssh on PATH")
    }))

  it.effect.runIf(spawnSync("ssh", ["-V"]).status === 0)("an SSH server that refuses connections is SshConnectFailed, naming host and port", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const e = yield* openWith({ target: "root@127.0.0.1", port, command: ["ssh", "-F", "/dev/null"] })
      assert.strictEqual(e.reason._tag, "SshConnectFailed")
      assert.include(e.message, `cannot reach the SSH server root@127.0.0.1:${port}: connect to host 127.0.0.1 port ${port}: Connection refused`)
    }))
})
