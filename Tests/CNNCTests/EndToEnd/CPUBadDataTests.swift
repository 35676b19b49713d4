import Foundation
import Testing
@testable import CNNC

/// Untrusted input to a generated trainer: each bad file is one `error:` line naming the file, exit status 1,
/// and no metrics or checkpoint written.
@Suite("CPU trainer rejects bad data", .serialized)
struct CPUBadDataTests {
    static let net = """
        net tiny
        input 4x4
        conv 2 3x3 pad=1 relu
        dense 3
        softmax
        """

    /// Big-endian 32-bit words, as IDX headers use.
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    func idx(images: Int, h: Int, w: Int, magic: UInt32 = 0x803, truncate: Int = 0) -> Data {
        var bytes = be(magic) + be(UInt32(images)) + be(UInt32(h)) + be(UInt32(w))
        bytes += (0..<images * h * w).map { UInt8($0 % 251) }
        return Data(bytes.dropLast(truncate))
    }

    func labels(_ values: [UInt8], magic: UInt32 = 0x801) -> Data { Data(be(magic) + be(UInt32(values.count)) + values) }

    /// Writes an IDX folder whose training files are given; the test files are valid.
    func folder(_ name: String, images: Data, labels: Data) throws -> URL {
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("bad-\(name)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try images.write(to: dir.appendingPathComponent("train-images-idx3-ubyte"))
        try labels.write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        try idx(images: 4, h: 4, w: 4).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try self.labels([0, 1, 2, 0]).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        return dir
    }

    @Test("bad files are one-line errors and write nothing")
    func rejects() throws {
        let trainer = try GeneratedTrainer.build(Self.net, name: "tiny")
        let root = GeneratedTrainer.workRoot
        let csv = root.appendingPathComponent("bad-values.csv")
        try "1,2,3\n".write(to: csv, atomically: true, encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("truncated", try folder("truncated", images: idx(images: 8, h: 4, w: 4, truncate: 5), labels: labels([0, 1, 2, 0, 1, 2, 0, 1])).path, "train-images"),
            ("magic", try folder("magic", images: idx(images: 8, h: 4, w: 4, magic: 0x1234), labels: labels([0, 1, 2, 0, 1, 2, 0, 1])).path, "magic"),
            ("size", try folder("size", images: idx(images: 8, h: 5, w: 4), labels: labels([0, 1, 2, 0, 1, 2, 0, 1])).path, "train-images"),
            ("label", try folder("label", images: idx(images: 8, h: 4, w: 4), labels: labels([0, 1, 2, 0, 7, 2, 0, 1])).path, "label"),
            ("count", try folder("count", images: idx(images: 8, h: 4, w: 4), labels: labels([0, 1, 2])).path, "train-labels"),
            ("missing", root.appendingPathComponent("no-such-folder").path, "no-such-folder"),
            ("csv", csv.path, "bad-values.csv"),
        ]
        for (name, data, mention) in cases {
            let metrics = root.appendingPathComponent("bad-\(name).json"), weights = root.appendingPathComponent("bad-\(name).safetensors")
            let run = try trainer.train(["--data", data, "--epochs", "1", "--metrics", metrics.path, "--save", weights.path])
            let lines = run.output.split(separator: "\n")
            #expect(run.status == 1, "\(name): \(run.output)")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "\(name): \(run.output)")
            #expect(run.output.contains(mention), "\(name): \(run.output)")
            #expect(!FileManager.default.fileExists(atPath: metrics.path), "\(name) wrote metrics")
            #expect(!FileManager.default.fileExists(atPath: weights.path), "\(name) wrote a checkpoint")
            print("\(name): \(run.output.trimmingCharacters(in: .newlines))")
        }
    }

    @Test("a diverging loss stops training without saving")
    func divergence() throws {
        let trainer = try GeneratedTrainer.build(Self.net, name: "tiny")
        let data = try folder("diverge", images: idx(images: 64, h: 4, w: 4), labels: labels((0..<64).map { UInt8($0 % 3) }))
        let weights = GeneratedTrainer.workRoot.appendingPathComponent("diverge.safetensors")
        let run = try trainer.train(["--data", data.path, "--epochs", "5", "--batch", "8", "--lr", "1e30", "--save", weights.path])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("loss became"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: weights.path))
    }

    @Test("the built trainer: --version, exit 64 and one line for an unknown option, exit 1 for a missing data file")
    func commandLine() throws {
        let trainer = try GeneratedTrainer.build(Self.net, name: "tiny")
        let version = try trainer.train(["--version"])
        #expect(version.status == 0 && version.output == "train (tiny) generated by cnnc \(CNNCVersion.current)\n", "\(version.output)")
        let unknown = try trainer.train(["--data", "x", "--epoch", "1"])
        #expect(unknown.status == 64 && unknown.output == "error: unknown option --epoch; did you mean --epochs?\n",
                "\(unknown.output)")
        let missing = try trainer.train(["--data", GeneratedTrainer.workRoot.appendingPathComponent("no-such.csv").path])
        #expect(missing.status == 1 && missing.output.hasPrefix("error: ") && missing.output.split(separator: "\n").count == 1,
                "\(missing.output)")
        let help = try trainer.train(["--help"])
        #expect(help.status == 0 && help.output.contains("exit status:\n  0 ") && help.output.contains("\n  64 "), "\(help.output)")
    }

    @Test("--list-devices names the cpu; --device other than 0 is an error")
    func devices() throws {
        let trainer = try GeneratedTrainer.build(Self.net, name: "tiny")
        let list = try trainer.train(["--list-devices"])
        #expect(list.status == 0 && list.output.hasPrefix("0: cpu"), "\(list.output)")
        let data = try folder("device", images: idx(images: 8, h: 4, w: 4), labels: labels([0, 1, 2, 0, 1, 2, 0, 1]))
        let bad = try trainer.train(["--data", data.path, "--device", "1"])
        #expect(bad.status == 1 && bad.output.contains("--device 1"), "\(bad.output)")
    }
}
