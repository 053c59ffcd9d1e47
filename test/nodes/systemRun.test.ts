import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { checkRun, codeRunners, type Containment, programEnv, resolveAllowlist, runProgram } from "../../src/node/systemRun.ts"

const allowed = resolveAllowlist(["echo", "sh"])

describe("system.run on a node", () => {
  it("refuses programs off the allowlist, loader variables and NUL bytes, with reasons", () => {
    assert.deepInclude(checkRun({ command: ["ls"] }, allowed), { code: "NOT_ALLOWED" })
    assert.deepInclude(checkRun({ command: ["/tmp/evil/echo"] }, allowed), { code: "NOT_FOUND" })
    assert.deepInclude(checkRun({ command: ["echo"], env: { LD_PRELOAD: "/tmp/x.so" } }, allowed), { code: "NOT_ALLOWED" })
    assert.deepInclude(checkRun({ command: ["echo"], env: { NODE_OPTIONS: "--import=data:x" } }, allowed), { code: "NOT_ALLOWED" })
    assert.deepInclude(checkRun({ command: ["echo", "a\u0000b"] }, allowed), { code: "INVALID_PARAMS" })
    assert.deepInclude(checkRun({ command: [] }, allowed), { code: "INVALID_PARAMS" })
    assert.deepInclude(checkRun({ command: ["echo"], env: { "BASH_FUNC_echo%%": "() { id; }" } }, allowed), { code: "NOT_ALLOWED" })
    assert.deepInclude(checkRun({ command: ["echo"], env: { GREETING: "hi" } }, allowed), { code: "NOT_ALLOWED" })
    assert.isTrue("program" in checkRun({ command: ["echo", "hi"], env: { TZ: "UTC", LC_ALL: "C" } }, allowed))
  })

  it("builds the program's environment from an allowlist, never from the node's whole environment", () => {
    const own = { PATH: "/usr/bin", HOME: "/home/n", LD_PRELOAD: "/tmp/x.so", NODE_OPTIONS: "--require x", "BASH_FUNC_ls%%": "() { id; }", SECRET_TOKEN: "t", LANG: "C.UTF-8" }
    assert.deepStrictEqual(programEnv(own, { TZ: "UTC", LD_PRELOAD: "/tmp/y.so" }), { PATH: "/usr/bin", HOME: "/home/n", LANG: "C.UTF-8", TZ: "UTC" })
  })

  it("names allowed programs that run their arguments as code", () => {
    assert.deepStrictEqual(codeRunners(new Set(["/usr/bin/echo", "/usr/bin/env", "/bin/sh", "/usr/bin/git", "/usr/bin/python3.11"])), ["/usr/bin/env", "/bin/sh", "/usr/bin/git", "/usr/bin/python3.11"])
  })

  it.live("runs argv without a shell", () =>
    Effect.gen(function*() {
      const checked = checkRun({ command: ["echo", "$HOME", "; ls"] }, allowed)
      assert.isTrue("program" in checked)
      if (!("program" in checked)) return
      const r = yield* runProgram(checked.program, { command: ["echo", "$HOME", "; ls"] })
      assert.strictEqual(r.stdout, "$HOME ; ls\n")
      assert.isTrue(r.success)
    }))

  it.effect("kills the whole process group at the timeout, background children included", () =>
    Effect.gen(function*() {
      const checked = checkRun({ command: ["sh"] }, allowed)
      if (!("program" in checked)) return assert.fail("sh should be allowed")
      const run = yield* Effect.forkChild(runProgram(checked.program, { command: ["sh", "-c", "echo started; sleep 600 & wait"], timeoutMs: 300 }))
      yield* TestClock.adjust("300 millis")
      const r = yield* Fiber.join(run)
      assert.isTrue(r.timedOut)
      assert.isFalse(r.success)
    }))

  // Attack: a command that leaves the process group (setsid makes a new session) must not outlive the timeout.
  for (const containment of ["auto", "group"] as const satisfies ReadonlyArray<Containment>) {
    it.live(`ends a process that escaped with setsid at the timeout (containment ${containment})`, () =>
      Effect.gen(function*() {
        const marker = `gatehouse-escape-${randomUUID()}`
        const escaping = resolveAllowlist(["setsid"])
        const checked = checkRun({ command: ["setsid", "sh", "-c", `sleep 1000; : ${marker}`] }, escaping)
        if (!("program" in checked)) return assert.fail("setsid should be allowed")
        const r = yield* runProgram(checked.program, { command: ["setsid", "sh", "-c", `sleep 1000; : ${marker}`], timeoutMs: 500 }, containment)
        assert.isTrue(r.timedOut)
        let left = withMarker(marker)
        for (let i = 0; i < 40 && left.length > 0; i++) {
          yield* Effect.sleep("50 millis")
          left = withMarker(marker)
        }
        assert.deepStrictEqual(left, [], "the escaped sh -c is still running after the timeout")
      }), 15_000)
  }

  it.live("a double-forked daemon does not outlive a command that exits normally", () =>
    Effect.gen(function*() {
      const marker = `gatehouse-daemon-${randomUUID()}`
      const checked = checkRun({ command: ["sh"] }, allowed)
      if (!("program" in checked)) return assert.fail("sh should be allowed")
      const script = `(sh -c 'sleep 1000; : ${marker}' >/dev/null 2>&1 </dev/null &) ; sleep 0.3; echo done`
      const r = yield* runProgram(checked.program, { command: ["sh", "-c", script], timeoutMs: 5_000 }, "group")
      assert.strictEqual(r.stdout, "done\n")
      assert.deepStrictEqual(withMarker(marker), [])
    }), 15_000)
})

// Live processes whose argv mentions `marker` (zombies have an empty cmdline and do not count).
const withMarker = (marker: string): Array<string> =>
  readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker)
    } catch {
      return false
    }
  })
