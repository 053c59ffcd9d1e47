/**
 * The gateway's TLS certificate: the user's (`gateway.tls.certPath`/`keyPath`) or
 * a self-signed one generated on first start under `<stateDir>/tls/` (key 0600).
 *
 * Generation runs the system `openssl` (through `effect/process`): Node's crypto
 * makes key pairs but cannot issue an X.509 certificate, and openssl is on every
 * host that has TLS at all, which spares the project a certificate-building
 * dependency. The certificate is EC P-256 (browsers and every TLS stack accept it),
 * valid for `localhost`, this host's name and its loopback addresses; clients pin
 * its SHA-256 fingerprint, so the names are a courtesy, not the trust.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { hostname } from "node:os"
import { join } from "node:path"
import { writeFileAtomic } from "../fs/atomicWrite.ts"
import { fingerprintOfPem } from "./fingerprint.ts"

export class TlsCertificateError extends Schema.TaggedError<TlsCertificateError>()("TlsCertificateError", {
  message: Schema.String
}) {}

/** A certificate and key the gateway serves, with the certificate's fingerprint. */
export interface TlsMaterial {
  readonly cert: string
  readonly key: string
  /** SHA-256 of the certificate, 64 lowercase hex. */
  readonly fingerprint: string
  readonly certPath: string
  readonly keyPath: string
  /** Whether gatehouse generated it (and `rotate-cert` may replace it). */
  readonly generated: boolean
}

/** Where the user's certificate is, when they provide one. */
export interface TlsFiles {
  readonly certPath?: string | undefined
  readonly keyPath?: string | undefined
}

/** Where the generated certificate and key live. */
export const generatedPaths = (stateDir: string) => ({
  certPath: join(stateDir, "tls", "gateway-cert.pem"),
  keyPath: join(stateDir, "tls", "gateway-key.pem")
})

/** Reads the certificate in force (the user's, else the generated one); `undefined` if none was generated yet. */
export const readCertificate = (stateDir: string, files: TlsFiles): Effect.Effect<TlsMaterial | undefined, TlsCertificateError> =>
  Effect.gen(function*() {
    const user = files.certPath !== undefined || files.keyPath !== undefined
    if (user && (files.certPath === undefined || files.keyPath === undefined)) {
      return yield* new TlsCertificateError({ message: "gateway.tls.certPath and gateway.tls.keyPath must be set together" })
    }
    const paths = user ? { certPath: files.certPath!, keyPath: files.keyPath! } : generatedPaths(stateDir)
    const cert = yield* readText(paths.certPath, !user)
    const key = yield* readText(paths.keyPath, !user)
    if (cert === undefined || key === undefined) return undefined
    const fingerprint = yield* Effect.try({
      try: () => fingerprintOfPem(cert),
      catch: (e) => new TlsCertificateError({ message: `${paths.certPath} is not a PEM certificate: ${e instanceof Error ? e.message : String(e)}` })
    })
    return { cert, key, fingerprint, ...paths, generated: !user }
  })

/** The certificate in force, generating the self-signed one on first use. */
export const loadOrCreateCertificate = (stateDir: string, files: TlsFiles) =>
  Effect.flatMap(readCertificate(stateDir, files), (found) => found === undefined ? generateCertificate(stateDir) : Effect.succeed(found))

/**
 * Generates a new self-signed certificate under the state dir, replacing the old
 * one atomically (the key first, mode 0600).
 */
export const generateCertificate = (stateDir: string): Effect.Effect<TlsMaterial, TlsCertificateError, ChildProcessSpawner> =>
  Effect.gen(function*() {
    const paths = generatedPaths(stateDir)
    const spawner = yield* ChildProcessSpawner
    const tmp = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => mkdtemp(join(stateDir, ".tls-")), catch: (e) => failure("cannot create a temporary directory", e) }),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const names = [...new Set(["localhost", hostname()].filter((n) => /^[A-Za-z0-9.-]+$/.test(n)))]
    const san = [...names.map((n) => `DNS:${n}`), "IP:127.0.0.1", "IP:::1"].join(",")
    const command = ChildProcess.make("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "825",
      "-subj", "/CN=gatehouse-gateway", "-addext", `subjectAltName=${san}`,
      "-keyout", join(tmp, "key.pem"), "-out", join(tmp, "cert.pem")
    ], { stdin: "ignore" })
    const output = yield* spawner.string(command, { includeStderr: true }).pipe(
      Effect.mapError((e) => failure("cannot run openssl to generate the gateway's TLS certificate (is openssl installed?)", e))
    )
    const cert = yield* readText(join(tmp, "cert.pem"), true)
    const key = yield* readText(join(tmp, "key.pem"), true)
    if (cert === undefined || key === undefined) {
      return yield* new TlsCertificateError({ message: `openssl did not produce a certificate: ${output.trim().slice(0, 400)}` })
    }
    yield* writeFileAtomic(paths.keyPath, key, 0o600).pipe(Effect.mapError((e) => failure(`cannot save ${paths.keyPath}`, e)))
    yield* writeFileAtomic(paths.certPath, cert, 0o644).pipe(Effect.mapError((e) => failure(`cannot save ${paths.certPath}`, e)))
    return { cert, key, fingerprint: fingerprintOfPem(cert), ...paths, generated: true }
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

const failure = (what: string, e: unknown) => new TlsCertificateError({ message: `${what}: ${e instanceof Error ? e.message : String(e)}` })

const readText = (path: string, missingOk: boolean) =>
  Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => e as NodeJS.ErrnoException }).pipe(
    Effect.map((text): string | undefined => text),
    Effect.catch((e) =>
      missingOk && e.code === "ENOENT" ? Effect.succeed(undefined) : Effect.fail(failure(`cannot read ${path}`, e))
    )
  )
