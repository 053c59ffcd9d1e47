/**
 * The flags of every command that talks to a gateway: `--url`, `--token`,
 * `--password`, `--json`, `--timeout`, `--ssh`, `--ssh-identity`, and the TLS pin flags
 * `--tls-fingerprint` and `--trust-fingerprint`.
 */
import * as Flag from "effect/cli/Flag"

/** The TLS pin flags (also on `node run`). */
export const pinFlags = {
  tlsFingerprint: Flag.String("tls-fingerprint").pipe(
    Flag.withDescription("SHA-256 the wss:// gateway's certificate must have (64 hex digits or openssl's AB:CD:... form); not stored"),
    Flag.optional
  ),
  trustFingerprint: Flag.String("trust-fingerprint").pipe(
    Flag.withDescription("Trust this SHA-256 for the wss:// gateway and store it as its pin once the gateway presents it (first use, or after rotate-cert)"),
    Flag.optional
  )
}

export const targetFlags = {
  ...pinFlags,
  url: Flag.String("url").pipe(Flag.withDescription("Gateway WebSocket URL (needs --token or --password)"), Flag.optional),
  token: Flag.Redacted("token").pipe(Flag.withDescription("Gateway token"), Flag.optional),
  password: Flag.Redacted("password").pipe(Flag.withDescription("Gateway password"), Flag.optional),
  ssh: Flag.String("ssh").pipe(
    Flag.withDescription("Reach the gateway on this SSH host's loopback through `ssh -N -L` (user@host[:port])"),
    Flag.optional
  ),
  sshIdentity: Flag.String("ssh-identity").pipe(Flag.withDescription("Private key file for --ssh (ssh -i)"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON for scripts"), Flag.withDefault(false)),
  timeout: Flag.Int("timeout").pipe(Flag.withDescription("Milliseconds to wait for the gateway"), Flag.withDefault(10_000))
}
