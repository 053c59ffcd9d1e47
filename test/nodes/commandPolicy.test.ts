import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { DANGEROUS, decide, matches, platformOf } from "../../src/nodes/commandPolicy.ts"

const Command = Schema.Literals([
  "system.run", "system.run.prepare", "system.which", "system.notify", "camera.snap", "camera.clip", "camera.list",
  "screen.record", "sms.send", "sms.search", "contacts.add", "contacts.search", "calendar.add", "reminders.add",
  "location.get", "canvas.show", "browser.proxy", "made.up"
])
const Pattern = Schema.Union([Command, Schema.Literals(["camera.*", "sms.*", "system.*", "canvas.*"])])
const Platform = Schema.Literals(["ios", "android", "macos", "linux", "windows", "unknown"])

describe("node command policy", () => {
  it.prop("a denied command is never allowed, whatever else is allowed", [Command, Platform, Schema.Array(Pattern), Schema.Array(Pattern)], ([command, platform, allow, deny]) => {
    const verdict = decide(command, platform, { allowCommands: allow, denyCommands: deny })
    if (deny.some((p) => matches(p, command))) assert.isFalse(verdict.allowed)
  })

  it.prop("a dangerous command is allowed only when allowCommands names it", [Command, Platform, Schema.Array(Pattern)], ([command, platform, allow]) => {
    const verdict = decide(command, platform, { allowCommands: allow, denyCommands: [] })
    if (DANGEROUS.some((p) => matches(p, command)) && verdict.allowed) assert.isTrue(allow.some((p) => matches(p, command)))
  })

  it.prop("nothing outside the platform defaults gets through without an allow", [Command, Platform], ([command, platform]) => {
    const verdict = decide(command, platform, { allowCommands: [], denyCommands: [] })
    if (command === "made.up") assert.isFalse(verdict.allowed)
    if (verdict.allowed) assert.isFalse(DANGEROUS.some((p) => matches(p, command)))
  })

  it("knows platforms by prefix and family", () => {
    assert.strictEqual(platformOf("linux"), "linux")
    assert.strictEqual(platformOf("darwin"), "macos")
    assert.strictEqual(platformOf("iOS 18"), "ios")
    assert.strictEqual(platformOf(undefined, "iPhone"), "ios")
    assert.strictEqual(platformOf("plan9"), "unknown")
  })

  it("needs an explicit allow for system.run even on linux", () => {
    assert.deepStrictEqual(decide("system.run", "linux", { allowCommands: [], denyCommands: [] }), { allowed: false, reason: "dangerous" })
    assert.deepStrictEqual(decide("system.run", "linux", { allowCommands: ["system.run"], denyCommands: [] }), { allowed: true })
    assert.deepStrictEqual(decide("system.which", "linux", { allowCommands: [], denyCommands: [] }), { allowed: true })
  })
})
