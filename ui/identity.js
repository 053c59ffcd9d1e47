// The browser's device identity: an Ed25519 key pair made with WebCrypto, its
// private half non-extractable, kept in IndexedDB (structured clone keeps the
// CryptoKey usable across reloads without its bytes ever reaching script).
// The device token the gateway issues after approval is kept there too; the
// gateway's shared token never is.

const DB = "gatehouse-control-ui"
const STORE = "identity"

const openDb = () =>
  new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error("IndexedDB unavailable"))
  })

const tx = async (mode, run) => {
  const db = await openDb()
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode)
      const req = run(t.objectStore(STORE))
      t.oncomplete = () => resolve(req?.result)
      t.onerror = () => reject(t.error)
    })
  } finally {
    db.close()
  }
}

/** base64url without padding, as the gateway expects keys and signatures. */
export const base64url = (bytes) => {
  let s = ""
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")

const valid = (d) => d?.privateKey !== undefined && typeof d.publicKey === "string" && typeof d.deviceId === "string"

// One identity per browser profile: concurrent callers in this page share one promise, and the store step
// keeps whichever identity another tab stored first (get and put in one readwrite transaction).
let identity

/** This browser's identity ({deviceId, publicKey, privateKey}), created on first use. */
export const loadOrCreateIdentity = () =>
  (identity ??= createOnce().catch((e) => {
    identity = undefined
    throw e
  }))

const createOnce = async () => {
  const stored = await tx("readonly", (s) => s.get("device"))
  if (valid(stored)) return stored
  if (!globalThis.crypto?.subtle) throw new Error("WebCrypto is unavailable: open the Control UI over https:// or from 127.0.0.1/localhost")
  // extractable=false: the private key can sign, never be exported. The public key is always exportable.
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey)
  const device = { deviceId: hex(await crypto.subtle.digest("SHA-256", raw)), publicKey: base64url(raw), privateKey: pair.privateKey }
  const db = await openDb()
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, "readwrite")
      const store = t.objectStore(STORE)
      let winner = device
      const existing = store.get("device")
      existing.onsuccess = () => {
        if (valid(existing.result)) winner = existing.result
        else store.put(device, "device")
      }
      t.oncomplete = () => resolve(winner)
      t.onerror = () => reject(t.error)
    })
  } finally {
    db.close()
  }
}

/** Signs a UTF-8 string with the device key; base64url signature. */
export const signText = async (device, text) =>
  base64url(await crypto.subtle.sign({ name: "Ed25519" }, device.privateKey, new TextEncoder().encode(text)))

/** The device token the gateway issued to this browser, if any. */
export const loadDeviceToken = () => tx("readonly", (s) => s.get("deviceToken"))

/** Keeps (or, with undefined, forgets) the issued device token. */
export const saveDeviceToken = (value) => tx("readwrite", (s) => (value === undefined ? s.delete("deviceToken") : s.put(value, "deviceToken")))
