import SMTL
let dims = Dimensions(embedding: 100, hidden: 100, memoryRows: 50, memoryWidth: 20, vocabulary: 20000)
let r = Benchmark.run(architecture: .arc2, dims: dims, batchSize: 16, lengths: 10...30, minSeconds: 6)
print(Int(r.tokensPerSecond))
