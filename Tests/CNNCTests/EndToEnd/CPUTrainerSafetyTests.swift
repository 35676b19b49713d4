import Foundation
import Testing
@testable import CNNC

/// The reported ways a generated trainer lost data or memory, end to end: each case once through the real
/// `train` executable (the readers and writers themselves are tested in process under Tests/.../Runtime).
/// The package has its own name, `tiny_safety`: suites run in parallel, and CPUBadDataTests builds `tiny`.
@Suite("CPU trainer keeps the user's files and memory safe", .serialized)
struct CPUTrainerSafetyTests {
    static let root = GeneratedTrainer.workRoot

    /// A CSV data set for the tiny network (4x4 inputs, 3 classes): `rows` rows.
    func csv(_ name: String, rows: Int, value: String? = nil) throws -> URL {
        let url = Self.root.appendingPathComponent(name)
        var text = ""
        for r in 0..<rows {
            var values = (0..<16).map { String(Double((r * 7 + $0) % 10) / 10 + Double(r % 3)) }
            if let value, r == rows - 1 { values[15] = value }
            text += values.joined(separator: ",") + ",\(r % 3)\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("outputs never replace inputs, symlinks, devices or a user's X.tmp")
    func outputs() throws {
        let trainer = try GeneratedTrainer.build(CPUBadDataTests.net, name: "tiny_safety")
        let data = try csv("safety.csv", rows: 30)
        let original = try Data(contentsOf: data)
        let dir = Self.root.appendingPathComponent("safety-out")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let victim = dir.appendingPathComponent("victim"), out = dir.appendingPathComponent("out.safetensors")
        try Data("precious".utf8).write(to: victim)
        try FileManager.default.createSymbolicLink(atPath: out.path + ".tmp", withDestinationPath: victim.path)
        let usersTmp = dir.appendingPathComponent("w.safetensors.tmp")
        try Data("mine".utf8).write(to: usersTmp)
        let ok = try trainer.train(["--data", data.path, "--epochs", "1", "--save", out.path,
                                    "--metrics", dir.appendingPathComponent("w.safetensors").path])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious")
        #expect(try String(contentsOf: usersTmp, encoding: .utf8) == "mine")

        let link = dir.appendingPathComponent("metrics-link.json"), real = dir.appendingPathComponent("real.json")
        try Data("{}".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: real.path)
        let refusals: [([String], String)] = [
            (["--save", data.path], "same file as --data"),
            (["--metrics", data.path], "same file as --data"),
            (["--load", out.path, "--save", out.path], "same file as --load"),
            (["--save", "/dev/full"], "character device"),
            (["--metrics", link.path], "--follow-symlinks"),
            (["--save", dir.path + "/x", "--metrics", dir.path + "/./x"], "name the same file"),
        ]
        for (arguments, message) in refusals {
            let run = try trainer.train(["--data", data.path, "--epochs", "1"] + arguments)
            #expect(run.status == 1 && run.output.hasPrefix("error: ") && run.output.contains(message),
                    "\(arguments): \(run.output)")
        }
        #expect(try Data(contentsOf: data) == original)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == real.path)
        var info = stat()
        if getuid() == 0 {  // only root could have replaced the device node
            #expect(stat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        }
        let followed = try trainer.train(["--data", data.path, "--epochs", "1", "--metrics", link.path, "--follow-symlinks"])
        #expect(followed.status == 0, "\(followed.output)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == real.path)
        #expect(try String(contentsOf: real, encoding: .utf8).contains("\"epochs\""))
    }

    @Test("hostile data: /dev/zero, a 3e38 value, a gzip bomb with --limit")
    func data() throws {
        let trainer = try GeneratedTrainer.build(CPUBadDataTests.net, name: "tiny_safety")
        let data = try csv("safety-data.csv", rows: 30)
        let huge = try csv("safety-huge.csv", rows: 30, value: "3e38")
        let weights = Self.root.appendingPathComponent("safety-huge.safetensors")
        let cases: [([String], String)] = [
            (["--data", "/dev/zero"], "line longer than"),
            (["--data", data.path, "--load", "/dev/zero"], "not a regular file"),
            (["--data", huge.path, "--save", weights.path], "safety-huge.csv:30: field 16 \"3e38\" is out of range"),
        ]
        for (arguments, message) in cases {
            let run = try trainer.train(arguments + ["--epochs", "1", "--batch", "8"])
            #expect(run.status == 1 && run.output.hasPrefix("error: ") && run.output.contains(message),
                    "\(arguments): \(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: weights.path))

        // An IDX folder whose images file promises 1,000,000 4x4 images and inflates to ~1 GB of zeros.
        let folder = Self.root.appendingPathComponent("safety-bomb")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let zeros = RuntimeTestFiles.gzip([UInt8](repeating: 0, count: 16 << 20), level: 9)
        let header = RuntimeTestFiles.be(0x803) + RuntimeTestFiles.be(1_000_000) + RuntimeTestFiles.be(4) + RuntimeTestFiles.be(4)
        try Data(RuntimeTestFiles.gzip(header) + (0..<64).flatMap { _ in zeros })
            .write(to: folder.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try Data(RuntimeTestFiles.idx([1_000_000], values: [UInt8](repeating: 1, count: 1_000_000)))
            .write(to: folder.appendingPathComponent("train-labels-idx1-ubyte"))
        let started = Date()
        let limited = try trainer.train(["--data", folder.path, "--limit", "100", "--epochs", "1"])
        #expect(limited.status == 0, "\(limited.output)")
        #expect(Date().timeIntervalSince(started) < 5, "took \(Date().timeIntervalSince(started)) s")
        let whole = try trainer.train(["--data", folder.path, "--epochs", "1"])
        #expect(whole.status == 1 && whole.output.contains("unexpected bytes after the 1000000x4x4 images"), "\(whole.output)")
    }

    @Test("bad numbers and oversized requests are errors or one-line warnings")
    func numbers() throws {
        let trainer = try GeneratedTrainer.build(CPUBadDataTests.net, name: "tiny_safety")
        let data = try csv("safety-numbers.csv", rows: 30)
        for (arguments, message) in [(["--lr", "0"], "--lr 0"), (["--lr", "1e-50"], "--lr 1e-50"), (["--lr", "nan"], "--lr nan"),
                                     (["--momentum", "1"], "--momentum 1"), (["--steps", "0"], "--steps 0"),
                                     (["--threads", "100000"], "--threads 100000"), (["--batch", "2000000"], "--batch 2000000")] {
            let run = try trainer.train(["--data", data.path] + arguments)
            #expect(run.status == 64 && run.output.hasPrefix("error: \(message)"), "\(arguments): \(run.output)")
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let run = try trainer.train(["--data", data.path, "--epochs", "1", "--batch", "100", "--threads", "\(cores + 1)"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("warning: --threads \(cores + 1) exceeds"), "\(run.output)")
        #expect(run.output.contains("warning: --batch 100 exceeds the 30 training samples"), "\(run.output)")
    }

    @Test("a network too big for memory at --batch is refused before any data is read")
    func memory() throws {
        let net = """
            net wide
            input 64x64x3
            conv 64 3x3 pad=1 relu
            conv 64 3x3 pad=1 relu
            dense 10
            softmax
            """
        let trainer = try GeneratedTrainer.build(net, name: "wide")
        // /dev/zero as data: had the trainer read it first, the error would be about the data.
        let run = try trainer.train(["--data", "/dev/zero", "--batch", "1000000"])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.hasPrefix("error: the network wide with --batch 1000000") && run.output.contains("lower --batch"),
                "\(run.output)")
        #expect(!run.output.contains("Fatal error"))
    }

    @Test("Ctrl-C finishes the step, saves the checkpoint and metrics, and exits 130")
    func interrupt() throws {
        let trainer = try GeneratedTrainer.build(CPUBadDataTests.net, name: "tiny_safety")
        let data = try csv("safety-interrupt.csv", rows: 300)
        let weights = Self.root.appendingPathComponent("interrupted.safetensors")
        let metrics = Self.root.appendingPathComponent("interrupted.json")
        try? FileManager.default.removeItem(at: weights)
        try? FileManager.default.removeItem(at: metrics)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: trainer.executable)
        p.arguments = ["--data", data.path, "--epochs", "1000000", "--save", weights.path, "--metrics", metrics.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        // The output is drained meanwhile: a full pipe would stall the trainer in write(2).
        let collected = OutputCollector()
        let reader = Thread { collected.append(pipe.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        // Wait until training runs (the metrics file appears after the first epoch), then interrupt it.
        let started = Date()
        while !FileManager.default.fileExists(atPath: metrics.path) && Date().timeIntervalSince(started) < 60 { usleep(20_000) }
        kill(p.processIdentifier, SIGINT)
        let interrupted = Date()
        while p.isRunning && Date().timeIntervalSince(interrupted) < 30 { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }  // the test fails below rather than hanging
        p.waitUntilExit()
        while !collected.done { usleep(10_000) }
        let output = collected.text
        #expect(p.terminationReason == .exit && p.terminationStatus == 130, "\(p.terminationStatus): \(output.suffix(500))")
        #expect(output.contains("interrupted by SIGINT after") && output.contains("saved weights to \(weights.path)"),
                "\(output.suffix(500))")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any]
        let final = json?["final"] as? [String: Any]
        #expect(final?["interrupted"] as? Bool == true && final?["signal"] as? String == "SIGINT", "\(String(describing: json))")
        let tensors = try SafeTensorsFile.read(weights)
        #expect(tensors.count == 4, "\(tensors.keys)")
    }
}

/// Output read on another thread, handed over under a lock.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var finished = false

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        finished = true
        lock.unlock()
    }

    var done: Bool { lock.lock(); defer { lock.unlock() }; return finished }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
