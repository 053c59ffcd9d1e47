/**
 * Where a profile keeps its state and config, and which port it uses by default.
 * `--profile NAME` → `~/.openclaw-NAME`; `--dev` is the profile `dev` on port 19001.
 */
import { homedir } from "node:os"
import { join } from "node:path"
import { DEFAULT_GATEWAY_PORT, DEV_GATEWAY_PORT } from "../protocol/constants.ts"

export type Env = Readonly<Record<string, string | undefined>>

export interface ProfilePaths {
  readonly profile: string | undefined
  readonly stateDir: string
  readonly configPath: string
  readonly defaultPort: number
}

const PROFILE_NAME = /^[A-Za-z0-9_-]{1,64}$/

/** Checks a profile name, returning an error message when it is not usable. */
export const checkProfileName = (name: string): string | undefined =>
  PROFILE_NAME.test(name) ? undefined : `invalid profile name "${name}": use letters, digits, "_" or "-" (at most 64)`

/** Resolves state dir, config path and default port for a profile (env overrides win). */
export const profilePaths = (profile: string | undefined, env: Env): ProfilePaths => {
  const home = env.HOME ?? homedir()
  const named = profile !== undefined && profile !== "default" ? profile : undefined
  const stateDir = env.OPENCLAW_STATE_DIR ?? join(home, named === undefined ? ".openclaw" : `.openclaw-${named}`)
  const configPath = env.OPENCLAW_CONFIG_PATH ?? join(stateDir, "openclaw.json")
  return { profile: named, stateDir, configPath, defaultPort: profilePort(named) }
}

/**
 * The default port of a profile: 18789 for the default one, 19001 for `dev`, and a
 * stable port in [20000, 60000) derived from the name otherwise, so two profiles
 * never collide on the same default.
 */
export const profilePort = (profile: string | undefined): number => {
  if (profile === undefined) return DEFAULT_GATEWAY_PORT
  if (profile === "dev") return DEV_GATEWAY_PORT
  let hash = 0x811c9dc5
  for (let i = 0; i < profile.length; i++) {
    hash ^= profile.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return 20000 + (hash % 40000)
}
