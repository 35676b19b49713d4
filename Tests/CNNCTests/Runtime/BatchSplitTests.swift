import Foundation
import Testing
@testable import TrainerRuntime

/// How DataParallel.swift cuts a batch: chunks that tile it in order, and each rank's share exactly its chunks,
/// for every batch size (the last batch of an epoch is smaller, possibly smaller than the chunk count).
@Suite("Trainer runtime: batch split")
struct BatchSplitTests {
    @Test("chunks tile every batch in order; a rank's share is the union of its chunks")
    func chunksTileShares() {
        for chunks in [1, 2, 3, 4, 6, 8] {
            for ranks in [1, 2, 3, 4, 8] where chunks % ranks == 0 {
                for n in 1...70 {
                    var next = 0
                    for c in 0..<chunks {
                        let s = BatchSplit(chunks: chunks, ranks: ranks, rank: 0).chunk(c, of: n)
                        #expect(s.lowerBound == next)
                        next = s.upperBound
                    }
                    #expect(next == n)
                    for rank in 0..<ranks {
                        let split = BatchSplit(chunks: chunks, ranks: ranks, rank: rank)
                        let first = split.chunk(rank * split.chunksPerRank, of: n)
                        let last = split.chunk((rank + 1) * split.chunksPerRank - 1, of: n)
                        #expect(split.share(of: n) == first.lowerBound..<last.upperBound, "\(chunks) \(ranks) \(n) \(rank)")
                        #expect(split.share(of: n).count <= split.largestShare(n))
                        #expect(first.count <= split.largestChunk(n))
                    }
                }
            }
        }
    }

    @Test("--chunks that do not divide --batch: one error line, status 64")
    func chunksMustDivideBatch() throws {
        let dir = try RuntimeTestFiles.folder("chunks-divide")
        let csv = try RuntimeTrainingTests.blobsCSV(40, stream: 3, in: dir)
        #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--batch", "16", "--chunks", "3"]) == 64)
        #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--batch", "16", "--chunks", "4", "--threads", "1",
                                                    "--epochs", "1"]) == 0)
    }
}
