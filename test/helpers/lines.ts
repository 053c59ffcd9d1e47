import { type ChildProcess, spawn } from "node:child_process"

/** A process whose output lines the test waits on (no sleeps: each wait ends on a line or on exit). */
export interface Watched {
  readonly child: ChildProcess
  readonly lines: () => ReadonlyArray<string>
  /** The first line (already seen or still to come) matching `predicate`; rejects when the process exits first or after `limitMs`. */
  readonly waitFor: (predicate: (line: string) => boolean, limitMs?: number) => Promise<string>
  readonly exited: Promise<number | null>
  /** SIGTERM by PID, then waits for the exit. */
  readonly stop: () => Promise<number | null>
}

export const watch = (command: string, args: ReadonlyArray<string>, env: Record<string, string>): Watched => {
  const child = spawn(command, [...args], { env: { PATH: process.env.PATH ?? "", OPENCLAW_DISABLE_BONJOUR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] })
  const seen: Array<string> = []
  const waiters = new Set<() => void>()
  let partial = ""
  const onData = (d: Buffer) => {
    partial += d.toString()
    const parts = partial.split("\n")
    partial = parts.pop() ?? ""
    seen.push(...parts)
    for (const w of [...waiters]) w()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  let code: number | null | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (c) => {
      code = c
      for (const w of [...waiters]) w()
      resolve(c)
    })
  )
  const waitFor = (predicate: (line: string) => boolean, limitMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      // The limit only turns a hang into a readable failure; passing never depends on it.
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no matching line within ${limitMs} ms from ${command} ${args.join(" ")}:\n${seen.join("\n")}`))
      }, limitMs)
      const check = () => {
        const hit = seen.find(predicate)
        if (hit !== undefined || code !== undefined) {
          clearTimeout(timer)
          waiters.delete(check)
          if (hit !== undefined) resolve(hit)
          else reject(new Error(`${command} exited (${code}) before a matching line:\n${seen.join("\n")}`))
        }
      }
      waiters.add(check)
      check()
    })
  const stop = () => {
    if (code === undefined) child.kill("SIGTERM")
    return exited
  }
  return { child, lines: () => seen, waitFor, exited, stop }
}
