import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export const BIN = new URL("../../bin/gatehouse", import.meta.url).pathname

// Scripts run under this Node; anything else (ip, ...) is executed directly.
const command = (bin: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  bin === BIN || /\.(m?js|ts)$/.test(bin) ? [process.execPath, [bin, ...args]] : [bin, [...args]]

// A gateway started by a test never advertises over mDNS unless the test says so (OPENCLAW_DISABLE_BONJOUR: "0"
// inside a network namespace): in the root namespace it would multicast onto the machine's real network.
const childEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? "", OPENCLAW_DISABLE_BONJOUR: "1", ...env })

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const run = (args: ReadonlyArray<string>, env: Record<string, string>, bin = BIN): Promise<Ran> =>
  collect(...command(bin, args), { env: childEnv(env) })

/** Runs `cmd` to its end and collects its output. */
export const collect = (cmd: string, args: ReadonlyArray<string>, options: { readonly env: NodeJS.ProcessEnv; readonly cwd?: string }): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { ...options, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.once("error", reject)
    child.once("close", (code) => resolve({ code, stdout, stderr }))
  })

export interface Daemon {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

export const startDaemon = (args: ReadonlyArray<string>, env: Record<string, string>, ready: RegExp, bin = BIN): Promise<Daemon> =>
  new Promise((resolve, reject) => {
    const child = spawn(...command(bin, args), { env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
    const onData = (d: Buffer) => {
      output += d
      if (ready.test(output)) resolve({ child, output: () => output, exited })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    exited.then((code) => reject(new Error(`daemon exited (${code}) before ready:\n${output}`)))
  })

export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
