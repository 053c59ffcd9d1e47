/**
 * The pairing store contract against every layer: memory, files under a temp
 * state dir, and a throwaway PostgreSQL (one fresh database per test; skipped
 * with a reason when PostgreSQL is not installed, a failure under CI).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { join } from "node:path"
import * as PairingStoreFile from "../../src/layers/PairingStoreFile.ts"
import * as PairingStoreMemory from "../../src/layers/PairingStoreMemory.ts"
import * as PairingStorePg from "../../src/layers/PairingStorePg.ts"
import { GatewayConfig } from "../../src/services/GatewayConfig.ts"
import { postgresAvailable, TestPostgres } from "../helpers/postgres.ts"
import { pairingStoreContract } from "./storeContract.ts"
import { tempDir } from "../helpers/tempDirs.ts"

pairingStoreContract("PairingStoreMemory", Layer.suspend(() => PairingStoreMemory.layer()))

// A new state dir for every store the contract builds.
const freshStateDir = Layer.effect(
  GatewayConfig,
  Effect.suspend(() => {
    const home = tempDir("gatehouse-store-")
    return GatewayConfig.make({ port: 0, token: Redacted.make("contract-token-0123456789") }, { HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw") })
  })
)
pairingStoreContract("PairingStoreFile", PairingStoreFile.layer.pipe(Layer.provide(freshStateDir)))

if (postgresAvailable("the PostgreSQL pairing store contract")) {
  pairingStoreContract(
    "PairingStorePg",
    Layer.unwrap(Effect.map(Effect.flatMap(TestPostgres, (pg) => pg.freshDatabase), PairingStorePg.layer)),
    {
      env: TestPostgres.layer,
      twoGateways: Effect.flatMap(TestPostgres, (pg) =>
        Effect.map(pg.freshDatabase, (url) => [PairingStorePg.layer(url), PairingStorePg.layer(url)] as const))
    }
  )
}
