/**
 * The SSH forward as data: parsing `user@host[:port]`, the `ssh` argument list,
 * reading what OpenSSH prints when it fails, and the restart backoff. Pure: no
 * processes, no sockets (the ssh Transport layer does the I/O).
 */

/** Where ssh logs in, and how. */
export interface SshEndpoint {
  /** `user@host` or `host` (an alias from ~/.ssh/config works too). */
  readonly target: string
  /** The SSH server's port, when not ssh's default (or ~/.ssh/config's). */
  readonly port?: number | undefined
  /** A private key file (`-i`). */
  readonly identity?: string | undefined
}

/**
 * Parses `--ssh user@host[:port]` (IPv6: `user@[::1]:2222`). Returns a message
 * when it is not one.
 */
export const parseSshTarget = (text: string): { readonly target: string; readonly port?: number } | string => {
  const s = text.trim()
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(s)
  if (m === null) return `--ssh expects user@host[:port] (e.g. root@10.0.0.5:22), got "${text}"`
  const [, user, rawHost, rawPort] = m
  const host = rawHost!.replace(/^\[|\]$/g, "")
  if (host.startsWith("-") || user?.startsWith("-")) return `--ssh: "${text}" is not a host`
  // Names and addresses only: ssh expands %h and friends into ProxyCommand and similar settings,
  // where shell characters in a host would become commands on older OpenSSH (CVE-2023-51385).
  const bracketed = rawHost!.startsWith("[")
  if (!(bracketed ? /^[0-9a-fA-F:.]+(%[A-Za-z0-9_.-]+)?$/ : /^[A-Za-z0-9._-]+$/).test(host) || (user !== undefined && !/^[A-Za-z0-9._-]+$/.test(user))) {
    return `--ssh: "${text}" has characters a user or host name cannot have (letters, digits, ".", "_" and "-" only)`
  }
  const target = user === undefined ? host : `${user}@${host}`
  if (rawPort === undefined) return { target }
  const port = Number(rawPort)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `--ssh: port must be 1-65535, got ${rawPort}`
  return { target, port }
}

/** `user@host:port` as a user would write it back. */
export const formatSshTarget = (e: Pick<SshEndpoint, "target" | "port">) =>
  e.port === undefined ? e.target : `${e.target.includes(":") ? e.target.replace(/@(.*)$/, "@[$1]") : e.target}:${e.port}`

/**
 * The line OpenSSH (`-v`) prints while it sets up the local listener of `-L`.
 * It is not enough alone: measured with OpenSSH 9.2, a connect right after it was
 * refused in 9 of 30 tries (the listener came up 2–4 ms later).
 */
export const LISTENING_LINE = /Local forwarding listening on \S+ port (\d+)/

/**
 * The line OpenSSH (`-v`) prints when its client loop starts, after every `-L`
 * listener is listening (ssh_session2 sets up forwarding first): with both lines
 * seen, 0 of 60 immediate connects were refused.
 */
export const SESSION_LINE = /Entering interactive session/

/**
 * `ssh -v -N -L 127.0.0.1:<local>:127.0.0.1:<remote> …`: no remote command, the
 * forward only, fail rather than prompt, exit when the forward cannot be made or
 * the server stops answering. `-v` is how readiness is seen (LISTENING_LINE, then SESSION_LINE).
 */
export const sshArgs = (e: SshEndpoint, localPort: number, remotePort: number): ReadonlyArray<string> => [
  "-v",
  "-N",
  "-L",
  `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`,
  ...(e.port === undefined ? [] : ["-p", String(e.port)]),
  ...(e.identity === undefined ? [] : ["-i", e.identity]),
  "-o",
  "ExitOnForwardFailure=yes",
  "-o",
  "ServerAliveInterval=15",
  "-o",
  "ServerAliveCountMax=3",
  "-o",
  "BatchMode=yes",
  "-o",
  "ConnectTimeout=10",
  "--",
  e.target
]

/** What went wrong, read from ssh's stderr (OpenSSH 9.x wording). */
export type SshFailureKind =
  | "host-key-changed"
  | "host-key-unknown"
  | "auth-refused"
  | "local-port-in-use"
  | "connect-failed"
  | "remote-port-closed"
  | "other"

export interface SshFailure {
  readonly kind: SshFailureKind
  /** The line that told, or ssh's last non-debug line. */
  readonly detail: string
}

/** Classifies ssh's stderr (debug lines included) after it failed or exited. */
export const classifySshFailure = (lines: ReadonlyArray<string>): SshFailure => {
  // Debug lines and the closing statistics (-v) never explain anything.
  const plain = lines.map((l) => l.trim()).filter((l) => l !== "" && !/^(debug\d?:|Transferred: |Bytes per second)/.test(l))
  const rules: ReadonlyArray<[SshFailureKind, RegExp]> = [
    ["host-key-unknown", /Host key verification failed|No (ED25519|RSA|ECDSA)? ?host key is known|authenticity of host/i],
    ["auth-refused", /Permission denied \(|Too many authentication failures|no more authentication methods/i],
    ["local-port-in-use", /Address already in use|cannot listen to port|Could not request local forwarding/i],
    ["remote-port-closed", /open failed: (connect failed|administratively prohibited)/i],
    ["connect-failed", /^ssh: (connect to host|Could not resolve hostname)|Connection timed out|No route to host|Network is unreachable|Connection refused|Connection closed by|Connection reset by|kex_exchange_identification/i],
    // An established session that went away: not a login problem, ssh just ended.
    ["other", /Connection to .* closed by remote host|client_loop: send disconnect|Broken pipe|Timeout, server .* not responding|Killed by signal/i]
  ]
  // A changed key also prints "Host key verification failed": look for its banner first.
  if (plain.some((l) => /REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(l))) {
    return { kind: "host-key-changed", detail: "REMOTE HOST IDENTIFICATION HAS CHANGED" }
  }
  // The latest telling line wins: refused channels earlier in a forward's life do not explain its end.
  for (const line of [...plain].reverse()) {
    const rule = rules.find(([, re]) => re.test(line))
    if (rule !== undefined) return { kind: rule[0], detail: line.replace(/^ssh: /, "").replace(/\.$/, "") }
  }
  return { kind: "other", detail: plain.at(-1)?.replace(/\.$/, "") ?? "no output" }
}

/**
 * How long to wait before restarting a forward that failed `failures` times in a
 * row: 500 ms doubling to 30 s. The first start never waits.
 */
export const restartDelayMs = (failures: number) => (failures <= 0 ? 0 : Math.min(500 * 2 ** Math.min(failures - 1, 16), 30_000))

/**
 * The rest of the restart delay still to wait at `nowMs`, given when the last
 * failure happened.
 */
export const restartWaitMs = (failures: number, lastFailureAtMs: number, nowMs: number) =>
  Math.max(0, restartDelayMs(failures) - (nowMs - lastFailureAtMs))

/** The SSH failures worth retrying with backoff (the network may come back); others need the user. */
export const isTransientSshFailure = (kind: SshFailureKind) =>
  kind === "connect-failed" || kind === "remote-port-closed" || kind === "other"
