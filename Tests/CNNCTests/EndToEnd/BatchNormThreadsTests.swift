import Foundation
import Testing
@testable import CNNC

/// batchnorm's sums over the batch in vectors of 16 channels (48 after a conv: three vectors; 32 after a dense
/// layer: two, so that some threads get none): the generated C matches the reference, and what the sums decide is
/// the same bits at every thread count: the running statistics one training step leaves (at 1, 2 and 3 threads),
/// and the probabilities and the batchnorm parameters' gradients (at 1, 2 and 4 threads; at 3, this batch's
/// probabilities differ in their last bits although the statistics they were normalised with do not, as they did
/// before the sums ran in vectors: something after the statistics depends on the split of 7 samples into 2, 2, 3).
@Suite("batchnorm in vectors of channels: the same bits at any thread count", .serialized)
struct BatchNormThreadsTests {
    static let source = """
        net bn_lanes
        input 5x4x3
        conv 48 3x3 pad=1 bias=none
        batchnorm relu
        maxpool 2x2 pad=same
        flatten
        dense 32 bias=none
        batchnorm momentum=0.3 relu
        dense 3
        softmax
        """

    @Test func sumsAreTheSameBitsAtEveryThreadCount() throws {
        let trainer = try GeneratedTrainer.build(Self.source, name: "bn_lanes")
        let kernels = try String(contentsOf: trainer.directory.appendingPathComponent("Sources/Kernels/kernels.c"),
                                 encoding: .utf8)
        #expect(kernels.contains("for (int ch = i0; ch < i1; ch += 16)"), "the sums should run in vectors of channels")
        let test = try ReferenceCase(trainer, name: "bn_lanes", index: 47)
        BatchNormNets.checkGradientsAreAlive(test)
        let batchnorm = test.net.parameters.map(\.name).filter { $0.hasPrefix("batchnorm") }
        #expect(batchnorm.count == 4, "\(batchnorm)")
        try Self.expectSameBits(["1", "2", "4"], names: ["probabilities"] + batchnorm) { threads in
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("bn_lanes-dump-\(threads).safetensors")
            let run = try trainer.train(test.arguments(dump: dump) + ["--threads", threads])
            #expect(run.status == 0, "\(run.output)")
            print(try test.check(dump, label: "bn_lanes, \(threads) thread(s)"))
            return dump
        }
        let running = test.net.state.map(\.name).filter { $0.contains("running_") }
        #expect(running.count == 4, "\(running)")
        try Self.expectSameBits(["1", "2", "3"], names: running) { threads in
            let save = GeneratedTrainer.workRoot.appendingPathComponent("bn_lanes-step-\(threads).safetensors")
            let run = try trainer.train(["--data", test.data.path, "--load", test.weights.path, "--batch", "\(test.batch)",
                                         "--epochs", "1", "--no-shuffle", "--threads", threads, "--save", save.path])
            #expect(run.status == 0, "\(run.output)")
            return save
        }
    }

    /// Runs `write` at each thread count and expects the tensors `names` of the files it returns to hold the same
    /// bits as at the first.
    static func expectSameBits(_ threadCounts: [String], names: [String], _ write: (String) throws -> URL) throws {
        var first: [String: [UInt32]] = [:]
        for threads in threadCounts {
            let tensors = try SafeTensorsFile.read(try write(threads))
            for name in names {
                let bits = try #require(tensors[name], "no \(name) at \(threads) threads").values.map(\.bitPattern)
                if let want = first[name] {
                    #expect(bits == want, "\(name) at \(threads) threads differs from \(threadCounts[0])'s")
                } else {
                    first[name] = bits
                }
            }
        }
    }
}
