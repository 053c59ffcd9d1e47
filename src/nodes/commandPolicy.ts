/**
 * Which node commands the gateway lets operators invoke: a per-platform
 * allowlist, plus `gateway.nodes.allowCommands`, minus `gateway.nodes.denyCommands`.
 * Dangerous commands (exec, camera, screen recording, SMS, contact/calendar/
 * reminder writes) are never allowed by default: they need an explicit allow.
 * Patterns are exact names or a prefix ending in `.*`.
 */

export type NodePlatform = "ios" | "android" | "macos" | "linux" | "windows" | "unknown"

export interface CommandPolicyConfig {
  readonly allowCommands: ReadonlyArray<string>
  readonly denyCommands: ReadonlyArray<string>
}

const SYSTEM = ["system.which", "system.notify", "system.run", "system.run.prepare"]

const PLATFORM_DEFAULTS: Record<NodePlatform, ReadonlyArray<string>> = {
  linux: [...SYSTEM, "browser.proxy"],
  windows: [...SYSTEM, "browser.proxy"],
  macos: [...SYSTEM, "browser.proxy", "canvas.*", "camera.list", "camera.snap", "camera.clip", "screen.record", "location.get"],
  ios: ["canvas.*", "camera.list", "camera.snap", "camera.clip", "screen.record", "location.get", "contacts.search", "contacts.add", "calendar.events", "calendar.add", "reminders.list", "reminders.add", "system.notify"],
  android: ["canvas.*", "camera.list", "camera.snap", "camera.clip", "screen.record", "location.get", "contacts.search", "contacts.add", "calendar.events", "calendar.add", "sms.send", "sms.search", "system.notify"],
  unknown: ["system.which", "system.notify"]
}

/** Commands that run code or capture/write personal data: allowed only when listed in allowCommands. */
export const DANGEROUS = ["system.run", "system.run.prepare", "camera.snap", "camera.clip", "screen.record", "sms.*", "contacts.add", "calendar.add", "reminders.add"]

/** Whether `command` matches a pattern (`name` or `prefix.*`). */
export const matches = (pattern: string, command: string) =>
  pattern === command || (pattern.endsWith(".*") && command.startsWith(pattern.slice(0, -1)))

const anyMatch = (patterns: ReadonlyArray<string>, command: string) => patterns.some((p) => matches(p, command))

/** The platform family of a node, from its declared platform or device family. */
export const platformOf = (platform: string | undefined, deviceFamily?: string): NodePlatform => {
  const p = `${platform ?? ""} ${deviceFamily ?? ""}`.trim().toLowerCase()
  if (p.startsWith("ios") || p.includes("iphone") || p.includes("ipad")) return "ios"
  if (p.startsWith("android")) return "android"
  if (p.startsWith("mac") || p.startsWith("darwin")) return "macos"
  if (p.startsWith("win")) return "windows"
  if (p.startsWith("linux")) return "linux"
  return "unknown"
}

export type CommandVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: "denied" | "dangerous" | "not-allowlisted" }

/** Decides whether the gateway allows a command on a platform. Deny always wins. */
export const decide = (command: string, platform: NodePlatform, config: CommandPolicyConfig): CommandVerdict => {
  if (anyMatch(config.denyCommands, command)) return { allowed: false, reason: "denied" }
  if (anyMatch(config.allowCommands, command)) return { allowed: true }
  if (anyMatch(DANGEROUS, command)) return { allowed: false, reason: "dangerous" }
  return anyMatch(PLATFORM_DEFAULTS[platform], command) ? { allowed: true } : { allowed: false, reason: "not-allowlisted" }
}

/** A person-readable reason for a refused command. */
export const verdictMessage = (command: string, verdict: CommandVerdict): string => {
  if (verdict.allowed) return `${command} is allowed`
  switch (verdict.reason) {
    case "denied":
      return `command ${command} is denied by gateway.nodes.denyCommands`
    case "dangerous":
      return `command ${command} runs code or touches personal data, so it needs an explicit allow: add it to gateway.nodes.allowCommands`
    case "not-allowlisted":
      return `command not allowlisted: ${command} is not a default command for this platform; add it to gateway.nodes.allowCommands`
  }
}

/** Scopes an operator needs to approve a node declaring `commands`. */
export const approvalScopes = (commands: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (commands.length === 0) return ["operator.pairing"]
  if (commands.some((c) => c === "system.run" || c === "system.run.prepare" || c === "system.which")) return ["operator.pairing", "operator.admin"]
  return ["operator.pairing", "operator.write"]
}
