// Preloaded into the benchmarked servers (with --expose-gc): SIGUSR2 runs a full GC, so the
// harness can read "RSS after the load has gone" without waiting for V8 to decide.
process.on("SIGUSR2", () => globalThis.gc?.())
