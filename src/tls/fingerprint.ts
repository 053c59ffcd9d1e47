/**
 * TLS certificate fingerprints: the SHA-256 of the certificate's DER bytes, as
 * 64 lowercase hex (what `openssl x509 -fingerprint -sha256` prints, colons
 * removed). Users may write them in either form and any case.
 */
import { createHash, X509Certificate } from "node:crypto"

/** A fingerprint in the canonical form (64 lowercase hex), or `undefined` when `text` is not one. */
export const normalizeFingerprint = (text: string): string | undefined => {
  const trimmed = text.trim().replace(/^sha-?256\s*(fingerprint)?\s*[=:]?\s*/i, "")
  const colon = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){31}$/.test(trimmed)
  const hex = colon ? trimmed.replace(/:/g, "") : trimmed
  return /^[0-9a-fA-F]{64}$/.test(hex) ? hex.toLowerCase() : undefined
}

/** The openssl form of a canonical fingerprint (`AB:CD:…`). */
export const colonForm = (fingerprint: string) => (fingerprint.toUpperCase().match(/../g) ?? []).join(":")

/** The fingerprint of a PEM certificate (the first one in `pem`). */
export const fingerprintOfPem = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase()

/** The fingerprint of DER certificate bytes. */
export const fingerprintOfDer = (der: Uint8Array): string => createHash("sha256").update(der).digest("hex")

/** `host:port` of a URL, the key pins are stored under (IPv6 hosts in brackets; default port 443 for wss). */
export const pinEndpoint = (url: string): string => {
  const u = new URL(url)
  const port = u.port === "" ? (u.protocol === "wss:" || u.protocol === "https:" ? "443" : "80") : u.port
  return `${u.hostname.toLowerCase()}:${port}`
}
