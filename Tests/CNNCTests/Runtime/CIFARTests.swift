import Foundation
import Testing
@testable import TrainerRuntime

/// CIFAR-10's binary batches (Runtime/trainer/CIFAR.swift), written by the test: values land in H,W,C order, the
/// folder's batches are read in order with test_batch.bin as the test set, and every malformed file is one error.
@Suite("CIFAR-10 data")
struct CIFARTests {
    typealias F = RuntimeTestFiles
    static let layout = SampleLayout(height: 32, width: 32, channels: 3, classes: 10, network: "cifar")

    /// `count` records numbered from `first`; record k has label k % 10 and image byte (c, y, x) = (k * 7 + c * 50 + y + x)
    /// % 256.
    static func records(_ count: Int, first: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        for r in 0..<count {
            bytes.append(UInt8((r + first) % 10))
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { bytes.append(UInt8(((r + first) * 7 + c * 50 + y + x) % 256)) } } }
        }
        return bytes
    }

    static func options(_ data: String, _ more: [String] = []) throws -> Options {
        let defaults = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1)
        return try parseOptions(["--data", data] + more, defaults: defaults)
    }

    @Test("a folder: the batches in order, H,W,C values, test_batch.bin as the test set, gzip too")
    func folder() throws {
        let dir = try F.folder("cifar-folder")
        _ = try F.write(Self.records(3), "data_batch_1.bin", in: dir)
        _ = try F.write(F.gzip(Self.records(2, first: 3)), "data_batch_2.bin.gz", in: dir)
        _ = try F.write(Self.records(4, first: 5), "test_batch.bin", in: dir)
        let sets = try loadDataSets(try Self.options(dir.path), layout: Self.layout, trainOnly: false, budget: 1 << 30)
        #expect(sets.train.count == 5 && sets.test?.count == 4)
        #expect(sets.train.labels == [0, 1, 2, 3, 4] && sets.test?.labels == [5, 6, 7, 8])
        guard case .bytes(let values) = sets.train.storage else { Issue.record("CIFAR images are bytes"); return }
        for (r, y, x, c) in [(0, 0, 0, 0), (1, 5, 7, 2), (4, 31, 31, 1)] {
            let expected = UInt8((r * 7 + c * 50 + y + x) % 256)
            #expect(values[r * 3072 + (y * 32 + x) * 3 + c] == expected, "record \(r) at (\(y),\(x),\(c))")
        }
        let limited = try loadDataSets(try Self.options(dir.path, ["--limit", "4"]), layout: Self.layout,
                                       trainOnly: true, budget: 1 << 30)
        #expect(limited.train.count == 4 && limited.test == nil)
        let single = try loadDataSets(try Self.options(dir.appendingPathComponent("test_batch.bin").path),
                                      layout: Self.layout, trainOnly: false, budget: 1 << 30)
        #expect(single.train.count == 4 && single.test == nil)
    }

    @Test("malformed CIFAR-10 data is one error naming the file")
    func errors() throws {
        let dir = try F.folder("cifar-errors")
        func message(_ path: String, layout: SampleLayout = Self.layout, budget: Int = 1 << 30) -> String? {
            F.errorMessage {
                _ = try loadDataSets(try Self.options(path), layout: layout, trainOnly: false, budget: budget)
            }
        }
        let truncated = try F.write(Array(Self.records(2).dropLast(10)), "short.bin", in: dir)
        #expect(message(truncated) == "\(truncated): truncated: record 1 has 3063 of its 3073 bytes "
                + "(1 label byte and 3072 image bytes)")
        var badLabel = Self.records(2)
        badLabel[3073] = 10
        let labelled = try F.write(badLabel, "label.bin", in: dir)
        #expect(message(labelled) == "\(labelled): label 10 of record 1 is outside 0..<10")
        let empty = try F.write([], "empty.bin", in: dir)
        #expect(message(empty) == "\(empty): empty data set (0 records)")
        let grey = SampleLayout(height: 28, width: 28, channels: 1, classes: 10, network: "mnist")
        let good = try F.write(Self.records(1), "good.bin", in: dir)
        #expect(message(good, layout: grey) == "\(good): CIFAR-10 images are 32x32x3 (3072 values) but the network "
                + "mnist expects 28x28 (784 values)")
        #expect(message(good, budget: 100)?.contains("use fewer with --limit") == true)
        let onlyTest = try F.folder("cifar-only-test")
        _ = try F.write(Self.records(1), "test_batch.bin", in: onlyTest)
        #expect(message(onlyTest.path) == "\(onlyTest.path): missing data_batch_1.bin (or data_batch_1.bin.gz)")
    }
}
