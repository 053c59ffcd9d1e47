import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { type Forward, makeForwardKeeper, type SshExit } from "../../src/layers/TransportSsh.ts"
import { SshConnectFailed, TransportError } from "../../src/services/Transport.ts"
import { classifySshFailure, formatSshTarget, parseSshTarget, restartDelayMs, sshArgs } from "../../src/transport/ssh.ts"

describe("ssh target and arguments", () => {
  it("parses user@host[:port], IPv6 in brackets, and refuses option-looking hosts", () => {
    assert.deepStrictEqual(parseSshTarget("root@10.0.0.5"), { target: "root@10.0.0.5" })
    assert.deepStrictEqual(parseSshTarget("root@10.0.0.5:2222"), { target: "root@10.0.0.5", port: 2222 })
    assert.deepStrictEqual(parseSshTarget("box"), { target: "box" })
    assert.deepStrictEqual(parseSshTarget("me@[fd00::1]:22"), { target: "me@fd00::1", port: 22 })
    assert.isString(parseSshTarget("-oProxyCommand=x"))
    assert.isString(parseSshTarget("root@host:99999"))
    assert.isString(parseSshTarget("root@host:port"))
    assert.strictEqual(formatSshTarget({ target: "root@10.0.0.5", port: 2222 }), "root@10.0.0.5:2222")
  })

  it("builds ssh -v -N -L to the gateway's loopback port, batch mode, exit on forward failure", () => {
    const args = sshArgs({ target: "root@h", port: 2222, identity: "/k" }, 40000, 18789)
    assert.deepStrictEqual(args.slice(0, 4), ["-v", "-N", "-L", "127.0.0.1:40000:127.0.0.1:18789"])
    for (const o of ["ExitOnForwardFailure=yes", "ServerAliveInterval=15", "BatchMode=yes"]) assert.include(args, o)
    assert.deepStrictEqual(args.slice(-2), ["--", "root@h"])
    assert.include(args.join(" "), "-p 2222 -i /k")
  })

  it("reads OpenSSH 9 failures from stderr", () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
      [["@@@@@@@@@@@@", "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @", "Host key verification failed."], "host-key-changed"],
      [["debug1: x", "No ED25519 host key is known for [10.0.0.1]:2222 and you have requested strict checking.", "Host key verification failed."], "host-key-unknown"],
      [["root@10.0.0.1: Permission denied (publickey)."], "auth-refused"],
      [["bind [127.0.0.1]:28789: Address already in use", "channel_setup_fwd_listener_tcpip: cannot listen to port: 28789", "Could not request local forwarding."], "local-port-in-use"],
      [["ssh: connect to host 10.0.0.1 port 2223: Connection refused"], "connect-failed"],
      [["ssh: Could not resolve hostname nowhere: Name or service not known"], "connect-failed"],
      [["channel 2: open failed: connect failed: Connection refused"], "remote-port-closed"],
      [["debug1: only debug"], "other"],
      [["channel 2: open failed: connect failed: Connection refused", "Connection to 10.0.0.1 closed by remote host.", "Transferred: sent 1, received 2 bytes", "Bytes per second: sent 1.0"], "other"]
    ]
    for (const [lines, kind] of cases) assert.strictEqual(classifySshFailure(lines).kind, kind, lines.join("|"))
    assert.strictEqual(classifySshFailure(cases.at(-1)![0]).detail, "Connection to 10.0.0.1 closed by remote host")
  })

  it("restart delays: none at first, 500 ms doubling, capped at 30 s", () => {
    assert.deepStrictEqual([0, 1, 2, 3, 4, 10, 40].map(restartDelayMs), [0, 500, 1000, 2000, 4000, 30_000, 30_000])
  })
})

describe("the forward keeper (TestClock)", () => {
  const fakeForward = (remotePort: number) =>
    Effect.map(Deferred.make<SshExit>(), (exited): Forward => ({
      localPort: 40000,
      remotePort,
      pid: 1,
      exited,
      nextOpenFailure: Deferred.make<string>(),
      tail: () => []
    }))
  const down = new TransportError({ reason: new SshConnectFailed({ target: "root@h", detail: "Connection refused" }) })

  it.effect("reuses a live forward, restarts a dead one, and backs off between failed restarts", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      let sshdUp = true
      let live: Forward | undefined
      const keeper = yield* makeForwardKeeper<TransportError, never>((remotePort) =>
        Effect.gen(function*() {
          starts.push(yield* Clock.currentTimeMillis)
          if (!sshdUp) return yield* down
          live = yield* fakeForward(remotePort)
          return live
        })
      )
      const first = yield* keeper.ensure(18789)
      assert.strictEqual(yield* keeper.ensure(18789), first) // reused
      assert.deepStrictEqual(starts, [0])

      // ssh dies (sshd was killed) and sshd stays down: restarts fail and wait longer each time.
      sshdUp = false
      yield* Deferred.succeed(live!.exited, { kind: "connect-failed", detail: "Connection closed", exitCode: 255 })
      assert.isTrue(Exit.isFailure(yield* Effect.exit(keeper.ensure(18789)))) // at once: the first restart does not wait
      const second = yield* Effect.forkChild(Effect.exit(keeper.ensure(18789)))
      yield* TestClock.adjust("499 millis")
      assert.deepStrictEqual(starts, [0, 0])
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Exit.isFailure(yield* Fiber.join(second)))
      assert.deepStrictEqual(starts, [0, 0, 500])
      assert.strictEqual(yield* keeper.failures, 2)

      // sshd is back: the next restart (after 1 s more) works and resets the backoff.
      sshdUp = true
      const third = yield* Effect.forkChild(keeper.ensure(18789))
      yield* TestClock.adjust("1 second")
      const restarted = yield* Fiber.join(third)
      assert.notStrictEqual(restarted, first)
      assert.deepStrictEqual(starts, [0, 0, 500, 1500])
      assert.strictEqual(yield* keeper.failures, 0)
    }).pipe(Effect.scoped))
})

describe("ssh targets carry no shell characters", () => {
  it("refuses users and hosts with characters ssh would expand into commands", () => {
    for (const bad of ["root@$(id).example", "root@`id`", "ro'ot@host", "root@host;id", "root@h%h", "us er@host", "root@[::1;id]"]) {
      assert.isString(parseSshTarget(bad), bad)
    }
    assert.deepStrictEqual(parseSshTarget("deploy_1@gw-01.example.com:2222"), { target: "deploy_1@gw-01.example.com", port: 2222 })
    assert.deepStrictEqual(parseSshTarget("root@[fd00::1]:22"), { target: "root@fd00::1", port: 22 })
  })
})
