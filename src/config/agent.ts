/**
 * `agent.*`: which agent answers channel messages. `rules` (the default) needs
 * nothing; `openai` talks to any OpenAI-compatible `/chat/completions` endpoint.
 * Names follow OpenClaw's provider entries (`baseUrl` ending in `/v1`, `apiKey`,
 * `model`, `timeoutSeconds`). Environment beats the file, as everywhere:
 * GATEHOUSE_AGENT_PROVIDER, GATEHOUSE_AGENT_BASE_URL, GATEHOUSE_AGENT_MODEL,
 * GATEHOUSE_AGENT_API_KEY; the generic OPENAI_API_KEY is used only when neither
 * names a key (it is usually meant for api.openai.com, not the endpoint configured).
 *
 * A plain-http base URL to a host other than loopback is refused unless
 * `agent.allowInsecureHttp` is set: the key and every message would cross the
 * network in the clear.
 */
import * as Redacted from "effect/Redacted"
import { isLoopbackIp } from "../net/ip.ts"
import type { LoadedFile } from "./file.ts"
import type { Env } from "./paths.ts"
import { redactUrl } from "./redact.ts"

export const AGENT_PROVIDERS = ["rules", "openai"] as const
export type AgentProvider = typeof AGENT_PROVIDERS[number]

/** OpenAI's own endpoint, the base URL when none is given. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1"
export const DEFAULT_MAX_STEPS = 6
export const DEFAULT_TIMEOUT_S = 120
/** The most one node call may take inside a model's turn. */
export const TOOL_TIMEOUT_MS = 30_000

/** The model-backed agent's settings. */
export interface ModelAgentSettings {
  readonly provider: "openai"
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

export type AgentSettings = { readonly provider: "rules" } | ModelAgentSettings

/** Resolves `agent.*` and its environment; a string is the reason it is refused, with the fix. */
export const resolveAgent = (file: LoadedFile, env: Env, configPath: string): AgentSettings | string => {
  const a = file.config.agent
  const where = `in ${configPath}`
  const envProvider = nonEmpty(env.GATEHOUSE_AGENT_PROVIDER)
  if (envProvider !== undefined && !(AGENT_PROVIDERS as ReadonlyArray<string>).includes(envProvider)) {
    return `GATEHOUSE_AGENT_PROVIDER must be one of ${AGENT_PROVIDERS.join(", ")}, got ${JSON.stringify(envProvider.slice(0, 40))}`
  }
  const provider = (envProvider as AgentProvider | undefined) ?? a?.provider ?? "rules"
  if (provider === "rules") return { provider }

  const model = nonEmpty(env.GATEHOUSE_AGENT_MODEL) ?? nonEmpty(a?.model)
  if (model === undefined) {
    return `agent.model ${where} must name the model when agent.provider is "openai" ` +
      "(e.g. `gatehouse config set agent.model gpt-4o-mini`, or GATEHOUSE_AGENT_MODEL)"
  }
  const baseUrl = (nonEmpty(env.GATEHOUSE_AGENT_BASE_URL) ?? nonEmpty(a?.baseUrl) ?? OPENAI_BASE_URL).replace(/\/+$/, "")
  const shownUrl = redactUrl(baseUrl)
  if (!URL.canParse(baseUrl) || !["http:", "https:"].includes(new URL(baseUrl).protocol)) {
    return `agent.baseUrl must be an http(s) URL ending before /chat/completions (e.g. ${OPENAI_BASE_URL} or http://127.0.0.1:11434/v1), got ${shownUrl}`
  }
  const url = new URL(baseUrl)
  if (url.username !== "" || url.password !== "") {
    return `agent.baseUrl must not carry credentials (got ${shownUrl}); put the key in agent.apiKey or GATEHOUSE_AGENT_API_KEY`
  }
  const host = url.hostname.replace(/^\[|\]$/g, "")
  if (url.protocol === "http:" && host !== "localhost" && !isLoopbackIp(host) && a?.allowInsecureHttp !== true) {
    return `agent.baseUrl ${shownUrl} is plain http to a host that is not loopback: the API key and every message would travel in the clear. ` +
      "Use https, or set `gatehouse config set agent.allowInsecureHttp true` if the network is trusted"
  }
  const keys: ReadonlyArray<readonly [string | undefined, ModelAgentSettings["apiKeySource"]]> = [
    [nonEmpty(env.GATEHOUSE_AGENT_API_KEY), "GATEHOUSE_AGENT_API_KEY"],
    [nonEmpty(a?.apiKey), "config"],
    [nonEmpty(env.OPENAI_API_KEY), "OPENAI_API_KEY"]
  ]
  const key = keys.find(([value]) => value !== undefined)
  return {
    provider,
    baseUrl,
    model,
    apiKey: key === undefined ? undefined : Redacted.make(key[0]!),
    apiKeySource: key === undefined ? "none" : key[1],
    maxSteps: a?.maxSteps ?? DEFAULT_MAX_STEPS,
    timeoutMs: (a?.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000,
    toolTimeoutMs: TOOL_TIMEOUT_MS
  }
}

const nonEmpty = (s: string | undefined) => (s === undefined || s.trim() === "" ? undefined : s.trim())
