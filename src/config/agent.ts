/**
 * Which agent answers channel messages, read from OpenClaw's own keys so one
 * `openclaw.json` serves both (OpenClaw rejects keys it does not know):
 * `agents.defaults.model` (or `.primary`) names `<provider>/<model>`, and
 * `models.providers.<provider>` gives its `baseUrl` (ending in `/v1`), `apiKey` and
 * `api`; `agents.defaults.timeoutSeconds` bounds one answer. A provider with `api`
 * `openai-completions` (or none given), or OpenClaw's built-in `openai`, selects the
 * model-backed agent; anything else (no model, `anthropic/…`) keeps the offline rules
 * agent, with a note saying why.
 *
 * The environment beats the file, as everywhere: GATEHOUSE_AGENT_MODEL (`<provider>/<model>`,
 * a bare model name, or `rules`), GATEHOUSE_AGENT_BASE_URL, GATEHOUSE_AGENT_API_KEY; the
 * built-in `openai` provider also takes OPENAI_API_KEY. A plain-http base URL to a host
 * other than loopback is refused unless GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP=1: the key and
 * every message would cross the network in clear.
 */
import * as Redacted from "effect/Redacted"
import { isLoopbackIp } from "../net/ip.ts"
import type { LoadedFile } from "./file.ts"
import type { Env } from "./paths.ts"
import { redactUrl } from "./redact.ts"

/** OpenAI's own endpoint: the built-in `openai` provider's base URL. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1"
/** The API flavour gatehouse speaks (OpenClaw's name for it). */
export const OPENAI_COMPLETIONS = "openai-completions"
export const DEFAULT_MAX_STEPS = 6
export const DEFAULT_TIMEOUT_S = 120
/** The most one node call may take inside a model's turn. */
export const TOOL_TIMEOUT_MS = 30_000

/** The model-backed agent's settings. */
export interface ModelAgentSettings {
  readonly provider: "openai"
  /** The provider id the model was named with (`openai`, `local`, …). */
  readonly providerId: string
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly apiKeySource: "GATEHOUSE_AGENT_API_KEY" | "config" | "OPENAI_API_KEY" | "none"
  /** Model turns per message (each may call tools); the answer so far is given when they run out. */
  readonly maxSteps: number
  /** The whole answer, every turn and tool call included. */
  readonly timeoutMs: number
  readonly toolTimeoutMs: number
}

/** The rules agent, and why a configured model is not used (logged at start). */
export interface RulesAgentSettings {
  readonly provider: "rules"
  readonly note?: string | undefined
}

export type AgentSettings = RulesAgentSettings | ModelAgentSettings

/** Resolves the agent from the file and the environment; a string is the reason it is refused, with the fix. */
export const resolveAgent = (file: LoadedFile, env: Env, configPath: string): AgentSettings | string => {
  const defaults = file.config.agents?.defaults
  const fileModel = modelOf(defaults?.model)
  if (fileModel === null) {
    return `agents.defaults.model in ${configPath} must be "<provider>/<model>" or { "primary": "<provider>/<model>" }`
  }
  const named = nonEmpty(env.GATEHOUSE_AGENT_MODEL) ?? nonEmpty(fileModel)
  const envBaseUrl = nonEmpty(env.GATEHOUSE_AGENT_BASE_URL)
  if (named === undefined || named === "rules") return { provider: "rules" }

  const slash = named.indexOf("/")
  // A bare model name is the built-in openai provider's, or the one GATEHOUSE_AGENT_BASE_URL points at.
  const providerId = slash > 0 ? named.slice(0, slash) : "openai"
  const model = slash > 0 ? named.slice(slash + 1) : named
  if (model === "") return `the model "${named}" names no model after the provider; write it as <provider>/<model>, e.g. openai/gpt-4o-mini`
  const providers = file.config.models?.providers ?? {}
  const entry = Object.hasOwn(providers, providerId) ? providers[providerId] : undefined
  const api = nonEmpty(entry?.api)
  if (api !== undefined && api !== OPENAI_COMPLETIONS && envBaseUrl === undefined) {
    return { provider: "rules", note: `models.providers.${providerId}.api is "${api}"; gatehouse speaks only ${OPENAI_COMPLETIONS}, so the rules agent answers` }
  }
  const baseUrl = (envBaseUrl ?? nonEmpty(entry?.baseUrl) ?? (providerId === "openai" ? OPENAI_BASE_URL : undefined))?.replace(/\/+$/, "")
  if (baseUrl === undefined) {
    return {
      provider: "rules",
      note: `the model ${named} is from provider "${providerId}", which gatehouse cannot reach without models.providers.${providerId}.baseUrl ` +
        `(an OpenAI-compatible /v1 URL) in ${configPath}; the rules agent answers`
    }
  }
  const shownUrl = redactUrl(baseUrl)
  if (!URL.canParse(baseUrl) || !["http:", "https:"].includes(new URL(baseUrl).protocol)) {
    return `models.providers.${providerId}.baseUrl (or GATEHOUSE_AGENT_BASE_URL) must be an http(s) URL ending before /chat/completions ` +
      `(e.g. ${OPENAI_BASE_URL} or http://127.0.0.1:11434/v1), got ${shownUrl}`
  }
  const url = new URL(baseUrl)
  if (url.username !== "" || url.password !== "") {
    return `the model base URL must not carry credentials (got ${shownUrl}); put the key in models.providers.${providerId}.apiKey or GATEHOUSE_AGENT_API_KEY`
  }
  const host = url.hostname.replace(/^\[|\]$/g, "")
  if (url.protocol === "http:" && host !== "localhost" && !isLoopbackIp(host) && env.GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP !== "1") {
    return `the model base URL ${shownUrl} is plain http to a host that is not loopback: the API key and every message would travel in clear. ` +
      "Use https, reach the server over an SSH forward, or set GATEHOUSE_AGENT_ALLOW_INSECURE_HTTP=1 if the network is trusted"
  }
  const keys: ReadonlyArray<readonly [string | undefined, ModelAgentSettings["apiKeySource"]]> = [
    [nonEmpty(env.GATEHOUSE_AGENT_API_KEY), "GATEHOUSE_AGENT_API_KEY"],
    [nonEmpty(expandEnv(entry?.apiKey, env)), "config"],
    [providerId === "openai" ? nonEmpty(env.OPENAI_API_KEY) : undefined, "OPENAI_API_KEY"]
  ]
  const key = keys.find(([value]) => value !== undefined)
  return {
    provider: "openai",
    providerId,
    baseUrl,
    model,
    apiKey: key === undefined ? undefined : Redacted.make(key[0]!),
    apiKeySource: key === undefined ? "none" : key[1],
    maxSteps: DEFAULT_MAX_STEPS,
    timeoutMs: (defaults?.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000,
    toolTimeoutMs: TOOL_TIMEOUT_MS
  }
}

const nonEmpty = (s: string | undefined) => (s === undefined || s.trim() === "" ? undefined : s.trim())

// OpenClaw's `${VAR}` substitution in config strings, for keys kept out of the file.
const expandEnv = (value: string | undefined, env: Env) => {
  const m = value === undefined ? null : /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value.trim())
  return m === null ? value : env[m[1]!]
}

// OpenClaw's two spellings of the default model; null: neither.
const modelOf = (model: unknown): string | undefined | null => {
  if (model === undefined || typeof model === "string") return model
  if (typeof model !== "object" || model === null || Array.isArray(model)) return null
  const primary = (model as { primary?: unknown }).primary
  return primary === undefined || typeof primary === "string" ? primary : null
}
