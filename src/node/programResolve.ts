/**
 * Resolving a program name to the absolute path a node would run, by searching
 * PATH the way `execvp` does, without a shell.
 */
import * as Result from "effect/Result"
import { accessSync, constants, statSync } from "node:fs"
import { delimiter, isAbsolute, join } from "node:path"

/** The absolute path of an executable `name` (a bare name is searched in PATH), or undefined. */
export const resolveProgram = (name: string, pathEnv = process.env.PATH ?? ""): string | undefined => {
  if (name.length === 0 || name.includes("\u0000")) return undefined
  const candidates = isAbsolute(name) ? [name] : name.includes("/") ? [] : pathEnv.split(delimiter).filter((d) => d.length > 0).map((d) => join(d, name))
  for (const candidate of candidates) if (isExecutableFile(candidate)) return candidate
  return undefined
}

const isExecutableFile = (path: string) => {
  const st = statSync(path, { throwIfNoEntry: false })
  if (st === undefined || !st.isFile()) return false
  return canExecute(path)
}

const canExecute = (path: string) => Result.isSuccess(Result.try(() => accessSync(path, constants.X_OK)))
