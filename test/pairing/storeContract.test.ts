/**
 * The pairing store contract against every layer: memory and files under a
 * temp state dir.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as PairingStoreFile from "../../src/layers/PairingStoreFile.ts"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { pairingStoreContract } from "./storeContract.ts"

pairingStoreContract("PairingStoreMemory", Layer.suspend(() => PairingStoreMemory.layer()))

// A new state dir for every store the contract builds.
const freshStateDir = Layer.effect(
  GatewayConfig,
  Effect.suspend(() => {
    const home = mkdtempSync(join(tmpdir(), "gatehouse-store-"))
    return GatewayConfig.make({ port: 0, token: Redacted.make("contract-token-0123456789") }, { HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw") })
  })
)
pairingStoreContract("PairingStoreFile", PairingStoreFile.layer.pipe(Layer.provide(freshStateDir)))

