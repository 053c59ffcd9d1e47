import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import { capLogText, escapeControls, MAX_LOG_MESSAGE, safeMessages } from "../../src/observability/safeLogger.ts"

describe("log records a client cannot forge", () => {
  it.effect("escapes newlines, ANSI escapes and bidi overrides in every string of a message", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make((options) => void lines.push(Logger.formatSimple.log(options)))
      const nodeCommand = "system.run\n2026-11-30T00:00:00Z INFO auth ok device=admin\u001b[2K\u202e"
      yield* Effect.logInfo(`node command surface auto-approved commands=${nodeCommand}`, "second\r\npart").pipe(
        Effect.provide(Logger.layer([safeMessages(capture)]))
      )
      assert.strictEqual(lines.length, 1)
      assert.notMatch(lines[0]!, /[\n\r\u001b\u202e]/)
      assert.include(lines[0]!, "system.run\\n2026-11-30T00:00:00Z INFO auth ok device=admin\\u001b[2K\\u202e")
      assert.include(lines[0]!, "second\\r\\npart")
    }))

  it.prop("the escaped text has no control or bidi character and keeps every printable one", [Schema.String], ([text]) => {
    const escaped = escapeControls(text)
    assert.notMatch(escaped, /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/)
    assert.strictEqual(escaped.replace(/\\(n|r|t|u[0-9a-f]{4})/g, ""), text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "").replace(/\\(n|r|t|u[0-9a-f]{4})/g, ""))
  }, { arbitrary: { runs: 300 } })

  it("cuts a huge message before anything downstream (redaction, the log file) walks it", () => {
    const line = capLogText("x".repeat(MAX_LOG_MESSAGE * 10))
    assert.isBelow(line.length, MAX_LOG_MESSAGE + 64)
    assert.match(line, /… \(\d+ more characters\)$/)
    assert.strictEqual(capLogText("short"), "short")
  })
})
