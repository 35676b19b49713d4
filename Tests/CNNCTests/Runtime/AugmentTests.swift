import Foundation
import Testing
@testable import TrainerRuntime

/// Augmentation of training samples (Runtime/trainer/Augment.swift) checked against its definition: every
/// augmented sample is some window of the zero-padded sample, mirrored or not, and the draws cover every offset
/// and both flips, reproducibly.
@Suite("Augmentation")
struct AugmentTests {
    static let (h, w, c) = (5, 6, 2)

    /// Sample s: value (s * 1000 + (y * w + x) * c + k + 1), all distinct and non-zero.
    static func samples(_ count: Int) -> [Float] {
        (0..<count * h * w * c).map { i in Float((i / (h * w * c)) * 1000 + i % (h * w * c) + 1) }
    }

    /// The sample torchvision's RandomCrop(padding: p) with offsets (dy, dx) in -p...p then a flip would give.
    static func expected(_ sample: ArraySlice<Float>, dy: Int, dx: Int, flip: Bool) -> [Float] {
        let base = sample.startIndex
        var out: [Float] = []
        for y in 0..<h {
            for x in 0..<w {
                let sx = (flip ? w - 1 - x : x) + dx, sy = y + dy
                for k in 0..<c {
                    out.append(sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : sample[base + (sy * w + sx) * c + k])
                }
            }
        }
        return out
    }

    /// `count` samples gathered as the trainer's batch loader gathers batch `batch` of epoch `epoch` with `a`.
    static func augmented(_ a: Augmentation, count: Int, epoch: Int = 1, batch: Int = 1, seed: UInt64 = 9,
                          bytes: Bool = false) -> [Float] {
        let values = samples(count)
        let data = Dataset(source: "test", sampleSize: h * w * c,
                           storage: bytes ? .bytes(values.map { UInt8(Int($0) % 251) }) : .floats(values),
                           labels: Array(repeating: 0, count: count))
        let placed = PlacedBatch(placements: a.placements(count: count, seed: seed, epoch: epoch, batch: batch),
                                 height: h, width: w, channels: c)
        var out = [Float](repeating: .nan, count: count * h * w * c), labels = [Int32](repeating: 0, count: count)
        let order = (0..<Int32(count)).map { $0 }
        order.withUnsafeBufferPointer { indices in
            data.gather(indices, images: &out, labels: &labels, placed: placed)
        }
        return out
    }

    @Test("a placement writes exactly the shifted, mirrored window, for every offset, even past the edges")
    func placements() {
        let original = Self.samples(1), size = Self.h * Self.w * Self.c
        for dy in -7...7 {
            for dx in -7...7 {
                for flip in [false, true] {
                    var out = [Float](repeating: .nan, count: size)
                    original.withUnsafeBufferPointer { from in
                        Placement(dy: dy, dx: dx, flip: flip).copy(from: from.baseAddress!, to: &out, height: Self.h,
                                                                   width: Self.w, channels: Self.c) { $0 }
                    }
                    #expect(out == Self.expected(original[...], dy: dy, dx: dx, flip: flip), "\(dy) \(dx) \(flip)")
                }
            }
        }
    }

    @Test("byte samples (IDX) are placed as float samples are")
    func bytes() {
        let a = Augmentation(hflip: true, crop: 2)
        let fromBytes = Self.augmented(a, count: 50, bytes: true)
        let fromFloats = Self.augmented(a, count: 50).map { Float(Int($0) % 251) }
        #expect(fromBytes == fromFloats)
    }

    @Test("each sample is one padded window, mirrored or not; offsets and flips all occur")
    func windows() {
        let count = 400, size = Self.h * Self.w * Self.c, p = 2
        let original = Self.samples(count)
        let out = Self.augmented(Augmentation(hflip: true, crop: p), count: count)
        var offsets = Set<[Int]>(), flips = 0
        for s in 0..<count {
            let sample = original[s * size..<(s + 1) * size], got = Array(out[s * size..<(s + 1) * size])
            var matches: [(Int, Int, Bool)] = []
            for dy in -p...p { for dx in -p...p { for flip in [false, true]
                where Self.expected(sample, dy: dy, dx: dx, flip: flip) == got { matches.append((dy, dx, flip)) } } }
            #expect(matches.count == 1, "sample \(s) is exactly one window: \(matches)")
            if let (dy, dx, flip) = matches.first { offsets.insert([dy, dx]); flips += flip ? 1 : 0 }
        }
        #expect(offsets.count == 25, "every offset in -2...2 x -2...2 occurs")
        #expect(flips > 150 && flips < 250, "about half are mirrored: \(flips) of \(count)")
    }

    @Test("the draws depend on seed, epoch and batch only; hflip alone never shifts; none changes nothing")
    func reproducible() {
        let a = Augmentation(hflip: true, crop: 1)
        #expect(Self.augmented(a, count: 20) == Self.augmented(a, count: 20))
        #expect(Self.augmented(a, count: 20) != Self.augmented(a, count: 20, batch: 2))
        #expect(Self.augmented(a, count: 20) != Self.augmented(a, count: 20, epoch: 2))
        #expect(Self.augmented(a, count: 20) != Self.augmented(a, count: 20, seed: 10))
        #expect(Self.augmented(Augmentation(), count: 3) == Self.samples(3))
        let size = Self.h * Self.w * Self.c, original = Self.samples(30), flipped = Self.augmented(Augmentation(hflip: true), count: 30)
        for s in 0..<30 {
            let sample = original[s * size..<(s + 1) * size], got = Array(flipped[s * size..<(s + 1) * size])
            #expect(got == Array(sample) || got == Self.expected(sample, dy: 0, dx: 0, flip: true))
        }
    }

    @Test("--augment parses the statement's forms and rejects anything else")
    func flag() throws {
        let defaults = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1,
                                        augmentation: Augmentation(hflip: true, crop: 4))
        func parse(_ spec: String?) throws -> Augmentation {
            try parseOptions(["--data", "x"] + (spec.map { ["--augment", $0] } ?? []), defaults: defaults).augmentation
        }
        #expect(try parse(nil) == Augmentation(hflip: true, crop: 4))
        #expect(try parse("none") == Augmentation())
        #expect(try parse("crop=2") == Augmentation(crop: 2))
        #expect(try parse("crop=3,hflip") == Augmentation(hflip: true, crop: 3))
        for bad in ["flip", "crop=0", "crop=-1", "hflip,hflip", "hflip,", "crop=x"] {
            #expect(throws: UsageError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test("training with augmentation is reproducible and differs from training without")
    func trainer() throws {
        let dir = try RuntimeTestFiles.folder("augment-trainer")
        let csv = try RuntimeTrainingTests.blobsCSV(96, stream: 9, in: dir)
        func weights(_ augment: String, _ name: String) throws -> Data {
            let path = dir.appendingPathComponent(name).path
            #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--epochs", "2", "--batch", "16",
                                                        "--augment", augment, "--save", path, "--threads", "1"]) == 0)
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let first = try weights("hflip,crop=1", "a.safetensors"), again = try weights("hflip,crop=1", "b.safetensors")
        let plain = try weights("none", "c.safetensors")
        #expect(first == again, "the same seed draws the same augmentation")
        #expect(first != plain, "augmentation changed what was trained on")
    }
}
