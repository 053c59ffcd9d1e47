// Preloaded into the benchmarked servers (with --expose-gc): SIGUSR2 runs V8's memory-reducing full GC
// (the one its idle-time memory reducer runs, which also shrinks the young generation and returns free
// pages), so the harness reads "RSS after the load has gone" the same way for every server without waiting
// for V8 to decide. The line written after it tells the harness the GC is over (a full GC of a
// 10k-connection heap takes about a second here, longer than any fixed pause would be).
process.on("SIGUSR2", () => {
  globalThis.gc?.({ type: "major", execution: "sync", flavor: "last-resort" })
  process.stderr.write("bench: gc done\n")
})
