import Foundation
import Testing
@testable import CNNC

/// Open MPI's launcher, when installed (scripts/setup.sh installs openmpi-bin).
enum MPIProbe {
    static let mpirun: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { mpirun != nil }
    static let skipMessage: Comment = "mpirun not found (Open MPI: scripts/setup.sh installs openmpi-bin)"

    /// `mpirun` options for `ranks` processes on this one machine (more ranks than cores; as root in containers).
    static func options(_ ranks: Int) -> [String] {
        ["--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) + ["-np", "\(ranks)"]
    }
}

/// `cnnc compile --distributed mpi` end to end: the trainer under `mpirun -np 1, 2, 4` with the same --chunks
/// writes byte-identical checkpoints (dropout and augmentation included, a last batch smaller than the others);
/// a batch the ranks cannot share, a rank with bad data and a killed rank each end the whole job with an error.
@Suite("distributed training over Open MPI", .serialized, .enabled(if: MPIProbe.available, MPIProbe.skipMessage))
struct DistributedTests {
    static let name = "dist_a"
    static let source = """
        net dist_a
        input 8x8x1
        conv 6 3x3 pad=same relu
        maxpool 2x2 stride=2
        dropout 0.25
        flatten
        dense 16 relu
        dense 3
        softmax
        train batch=16 lr=0.05 momentum=0.9 seed=5
        """

    static func trainer() throws -> GeneratedTrainer {
        try GeneratedTrainer.build(source, name: name, distributed: true)
    }

    /// 100 samples of three classes told apart by where the bright pixels are (100 = 6 batches of 16 and one of 4).
    static func data(in dir: URL) throws -> String {
        var images: [[Double]] = [], labels: [Int] = []
        var state: UInt64 = 12345
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 40) / Double(1 << 24)
        }
        for i in 0..<100 {
            let label = i % 3
            images.append((0..<64).map { p in (p / 8) % 3 == label ? 0.6 + 0.4 * next() : 0.3 * next() })
            labels.append(label)
        }
        let url = dir.appendingPathComponent("data.csv")
        try writeCSV(images, labels, to: url)
        return url.path
    }

    static func folder(_ name: String) throws -> URL {
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("dist-\(name)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func mpirun(_ ranks: Int, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try GeneratedTrainer.run(MPIProbe.mpirun!, MPIProbe.options(ranks) + arguments)
    }

    @Test("mpirun -np 1, 2 and 4 with --chunks 4: byte-identical weights, optimizer state and saved weights")
    func sameBitsForAnyRankCount() throws {
        let trainer = try Self.trainer()
        let dir = try Self.folder("same")
        let csv = try Self.data(in: dir)
        func files(_ tag: String) -> [String] {
            ["\(tag)/last.safetensors", "\(tag)/last.optim.safetensors", "\(tag).safetensors"]
                .map { dir.appendingPathComponent($0).path }
        }
        func train(_ ranks: Int, chunks: Int, tag: String) throws -> [Data] {
            let paths = files(tag)
            let run = try Self.mpirun(ranks, [trainer.executable, "--data", csv, "--test-split", "0.2", "--epochs", "2",
                                              "--chunks", "\(chunks)", "--threads", "1", "--augment", "hflip,crop=1",
                                              "--checkpoint-dir", dir.appendingPathComponent(tag).path, "--save", paths[2]])
            #expect(run.status == 0, "\(ranks) ranks: \(run.output)")
            // Rank 0 alone prints: one summary line per epoch.
            #expect(run.output.components(separatedBy: "epoch 2/2").count == 2, "\(run.output)")
            return try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        }
        let one = try train(1, chunks: 4, tag: "np1")
        #expect(try train(2, chunks: 4, tag: "np2") == one)
        #expect(try train(4, chunks: 4, tag: "np4") == one)
        // The control: other chunks draw other dropout masks and add in another order, so the comparison can fail.
        #expect(try train(2, chunks: 2, tag: "np2c2")[0] != one[0])
    }

    @Test("1 epoch on 2 ranks, then --resume on 4 for the second: the bits of 2 epochs on 1 rank")
    func resumeOnOtherRankCount() throws {
        let trainer = try Self.trainer()
        let dir = try Self.folder("resume")
        let csv = try Self.data(in: dir)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let common = [trainer.executable, "--data", csv, "--test-split", "0.2", "--chunks", "4", "--threads", "1"]
        let full = try Self.mpirun(1, common + ["--epochs", "2", "--save", path("full.safetensors")])
        #expect(full.status == 0, "\(full.output)")
        let first = try Self.mpirun(2, common + ["--epochs", "1", "--checkpoint-dir", path("ck")])
        #expect(first.status == 0, "\(first.output)")
        let rest = try Self.mpirun(4, common + ["--epochs", "2", "--resume", path("ck"), "--save", path("resumed.safetensors")])
        #expect(rest.status == 0, "\(rest.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("resumed.safetensors")))
                == Data(contentsOf: URL(fileURLWithPath: path("full.safetensors"))))
    }

    @Test("a batch the ranks cannot share: one error line, exit status 64, before any data is read")
    func batchMustDivide() throws {
        let trainer = try Self.trainer()
        let run = try Self.mpirun(3, [trainer.executable, "--data", "/nonexistent.csv", "--batch", "16"])
        #expect(run.status == 64, "\(run.output)")
        #expect(run.output.contains("error: rank 0 of 3: --batch 16 does not divide among the 3 MPI ranks"), "\(run.output)")
    }

    @Test("a rank whose data cannot be read ends the whole job with an error naming it")
    func badDataOnOneRank() throws {
        let trainer = try Self.trainer()
        let dir = try Self.folder("bad")
        let csv = try Self.data(in: dir)
        let bad = dir.appendingPathComponent("bad.csv")
        try "1,2,3\n".write(to: bad, atomically: true, encoding: .utf8)
        let common = ["--test-split", "0.2", "--epochs", "50", "--threads", "1"]
        // Open MPI's MPMD form: rank 0 reads good data and waits in the first step for rank 1, which fails.
        let started = monotonic()
        let run = try GeneratedTrainer.run(MPIProbe.mpirun!, MPIProbe.options(1) + [trainer.executable, "--data", csv]
            + common + [":", "-np", "1", trainer.executable, "--data", bad.path] + common)
        #expect(run.status != 0, "\(run.output)")
        #expect(run.output.contains("error: rank 1 of 2: "), "\(run.output)")
        #expect(monotonic() - started < 60)
    }

    @Test("a killed rank ends the job within seconds, and the last checkpoint still loads")
    func killedRank() throws {
        let trainer = try Self.trainer()
        let dir = try Self.folder("kill")
        let csv = try Self.data(in: dir)
        let ck = dir.appendingPathComponent("ck")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MPIProbe.mpirun!)
        p.arguments = MPIProbe.options(2) + [trainer.executable, "--data", csv, "--test-split", "0.2",
                                             "--epochs", "100000", "--threads", "1", "--checkpoint-dir", ck.path]
        let log = dir.appendingPathComponent("mpirun.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let out = try FileHandle(forWritingTo: log)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        let state = ck.appendingPathComponent("last.json").path
        var deadline = monotonic() + 120
        while !FileManager.default.fileExists(atPath: state) && p.isRunning && monotonic() < deadline { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: state), "no checkpoint appeared")
        let children = try GeneratedTrainer.run("/usr/bin/env", ["pgrep", "-P", "\(p.processIdentifier)"]).output
            .split(separator: "\n").compactMap { Int32($0) }
        #expect(children.count == 2, "ranks: \(children)")
        guard let victim = children.last else { return }
        kill(victim, SIGKILL)
        let killed = monotonic()
        deadline = killed + 30
        while p.isRunning && monotonic() < deadline { usleep(50_000) }
        #expect(!p.isRunning, "the job still runs 30 s after a rank was killed")
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let output = String(decoding: try Data(contentsOf: log), as: UTF8.self)
        #expect(output.contains("rank"), "\(output)")
        // The checkpoint is whole: the trainer (one process) loads it and evaluates.
        let load = try trainer.train(["--data", csv, "--test-split", "0.2", "--epochs", "0",
                                      "--load", ck.appendingPathComponent("last.safetensors").path])
        #expect(load.status == 0, "\(load.output)")
    }

    func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
