/**
 * The wide-area DNS-SD beacon: the same PTR/SRV/TXT/A/AAAA records as the mDNS
 * advertisement, as a standard (BIND) zone file for a unicast DNS server the user
 * runs (CoreDNS, BIND, typically reached over the tailnet). Pure text; the layer
 * writes it atomically and only when the records change.
 */
import { SERVICE_TYPE } from "./records.ts"

export interface ZoneInput {
  /** The zone, e.g. "gw.example.internal" (no trailing dot). */
  readonly domain: string
  /** The host label, e.g. "box". */
  readonly host: string
  readonly port: number
  readonly ipv4: string
  readonly ipv6: ReadonlyArray<string>
  readonly txt: ReadonlyArray<readonly [string, string]>
}

const TYPE = SERVICE_TYPE.replace(/\.local$/, "")

/** The instance label in the zone (OpenClaw's: "<host>-gateway", no escaping needed). */
export const zoneInstance = (host: string) => `${host}-gateway`

/** The records of the zone, without the SOA serial: what decides whether the file must be rewritten. */
export const zoneBody = (z: ZoneInput) =>
  [
    `@ IN NS ns1`,
    `ns1 IN A ${z.ipv4}`,
    `${z.host} IN A ${z.ipv4}`,
    ...z.ipv6.map((a) => `${z.host} IN AAAA ${a}`),
    `_services._dns-sd._udp IN PTR ${TYPE}`,
    `${TYPE} IN PTR ${zoneInstance(z.host)}.${TYPE}`,
    `${zoneInstance(z.host)}.${TYPE} IN SRV 0 0 ${z.port} ${z.host}`,
    `${zoneInstance(z.host)}.${TYPE} IN TXT ${z.txt.map(([k, v]) => quote(`${k}=${v}`)).join(" ")}`
  ].join("\n")

/** The whole zone file; `serial` must grow with every rewrite (the layer uses Unix seconds). */
export const zoneFile = (z: ZoneInput, serial: number) =>
  [
    `; gatehouse wide-area DNS-SD zone for ${z.domain} (generated: edits are overwritten)`,
    `; content-hash ${fnv1a32(zoneBody(z))}`,
    `$ORIGIN ${z.domain}.`,
    `$TTL 60`,
    `@ IN SOA ns1 hostmaster ${serial} 7200 3600 1209600 60`,
    zoneBody(z),
    ""
  ].join("\n")

/** The content hash a zone file carries, or undefined. */
export const zoneHash = (text: string) => /^; content-hash ([0-9a-f]{8})$/m.exec(text)?.[1]

export const bodyHash = (z: ZoneInput) => fnv1a32(zoneBody(z))

// ---------------------------------------------------------------------------
// Internal
// ---------------------------------------------------------------------------

// RFC 1035 §5.1 character-string: quoted, with " and \ escaped and non-printable bytes as \DDD.
const quote = (s: string) =>
  `"${[...Buffer.from(s, "utf8")].map((b) => (b === 0x22 || b === 0x5c ? `\\${String.fromCharCode(b)}` : b < 0x20 || b > 0x7e ? `\\${String(b).padStart(3, "0")}` : String.fromCharCode(b))).join("")}"`

const fnv1a32 = (s: string) => {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(16).padStart(8, "0")
}
