import Foundation
import Testing
@testable import CNNC
@testable import TrainerRuntime

/// --checkpoint-dir and --resume in the generated trainers, built as a user builds them, on a network whose
/// course depends on every piece of a checkpoint: momentum, batchnorm's running statistics and batch counter
/// (buffers in the weights file), dropout's mask step, and the shuffled order. 2 epochs then 1 more equal 3
/// uninterrupted epochs bit for bit (CPU at 2 threads, and Vulkan); a trainer killed with SIGKILL leaves a
/// checkpoint that loads and resumes to the bits of the uninterrupted run.
@Suite("checkpoints and --resume in the generated trainers", .serialized)
struct CheckpointResumeTests {
    static let source = """
        net resume_a
        input 6x5x2
        conv 4 3x3 pad=1 bias=none
        batchnorm relu
        dropout 0.3
        maxpool 2x2 stride=2 pad=same
        flatten
        dense 3
        softmax
        train lr=0.05 momentum=0.9 batch=8 seed=21
        """

    /// `count` samples of three noisy classes (class k brighter in channel k % 2 and in rows k*2...k*2+1).
    static func data(_ count: Int, name: String) throws -> String {
        var random = SystemRandomNumberGenerator()
        var images: [[Double]] = [], labels: [Int] = []
        for n in 0..<count {
            let label = n % 3
            images.append((0..<60).map { i in
                let (c, y) = (i % 2, i / 10)
                return Double.random(in: 0...1, using: &random) + (c == label % 2 && y / 2 == label ? 0.4 : 0)
            })
            labels.append(label)
        }
        let url = GeneratedTrainer.workRoot.appendingPathComponent(name)
        try writeCSV(images, labels, to: url)
        return url.path
    }

    static func folder(_ name: String) throws -> URL {
        let url = GeneratedTrainer.workRoot.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func bytes(_ path: String) throws -> Data { try ResumeTests.bytes(path) }

    /// The metrics JSON without the timings (the in-process tests' comparison).
    static func metricsWithoutTimes(_ path: String) throws -> String { try ResumeTests.metricsWithoutTimes(path) }

    /// Trains 3 epochs, and 2 then --resume 1 more; expects the same weights, training state and metrics. Then the
    /// control: the resume with the checkpoint's mask step changed draws other dropout masks and ends elsewhere.
    /// `optimizer`: the trainer's optimizer flags (none: sgd with momentum; adamw also restores its second moment
    /// and its step count, which the bias corrections depend on).
    func twoPlusOne(_ target: String, staging: Bool = false, optimizer: [String] = []) throws {
        let trainer = try GeneratedTrainer.build(Self.source, name: "resume_a", target: target)
        let tag = target + (staging ? "-staging" : "") + (optimizer.isEmpty ? "" : "-" + optimizer[1])
        let environment = staging ? ["CNNC_VULKAN_STAGING": "1"] : [:]
        let dir = try Self.folder("resume-\(tag)")
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let common = ["--data", try Self.data(240, name: "resume-\(tag).csv"), "--test-split", "0.25", "--threads", "2"]
            + optimizer
        func train(_ arguments: [String]) throws {
            let run = try trainer.train(common + arguments, environment: environment)
            #expect(run.status == 0, "\(run.output)")
        }
        try train(["--epochs", "3", "--checkpoint-dir", path("full"), "--save", path("full.st"), "--metrics", path("full.json")])
        try train(["--epochs", "2", "--checkpoint-dir", path("part")])
        try FileManager.default.copyItem(atPath: path("part"), toPath: path("changed"))
        try train(["--epochs", "3", "--resume", path("part"), "--save", path("part.st"), "--metrics", path("part.json")])
        #expect(try Self.bytes(path("full.st")) == Self.bytes(path("part.st")), "\(tag): the weights")
        #expect(try Self.bytes(path("full/last.optim.safetensors")) == Self.bytes(path("part/last.optim.safetensors")),
                "\(tag): the optimizer's state and the mask step")
        #expect(try Self.metricsWithoutTimes(path("full.json")) == Self.metricsWithoutTimes(path("part.json")))
        #expect(FileManager.default.fileExists(atPath: path("part/best.safetensors")))

        let optimizer = path("changed/last.optim.safetensors")
        let reader = try SafetensorsReader(path: optimizer)
        #expect(reader.metadata["counter.mask_step"] == "46", "2 epochs of 23 steps (180 samples, batch 8)")
        var metadata = reader.metadata
        metadata["counter.mask_step"] = "47"
        let moments = try ["moment1", "moment2"].map { name in
            NamedTensor(name: name, shape: [reader.entries[name]!.shape[0]], values: try reader.floats(name))
        }
        try writeFileAtomically(safetensorsBytes(moments, metadata: metadata.sorted { $0.key < $1.key }), to: optimizer)
        try train(["--epochs", "3", "--resume", path("changed"), "--save", path("changed.st")])
        #expect(try Self.bytes(path("changed.st")) != Self.bytes(path("full.st")), "\(tag): the mask step matters")
    }

    @Test("CPU: 2 epochs and --resume 1 more give the bits of 3 epochs (weights, momentum, mask step, metrics)")
    func cpuResume() throws {
        try twoPlusOne("cpu")
        try twoPlusOne("cpu", optimizer: ["--optimizer", "adamw", "--lr", "0.002"])
    }

    @Test("Vulkan: 2 epochs and --resume 1 more give the bits of 3 epochs, with and without staging buffers",
          .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage))
    func vulkanResume() throws {
        try twoPlusOne("vulkan")
        try twoPlusOne("vulkan", staging: true, optimizer: ["--optimizer", "adam", "--lr", "0.002"])
    }

    @Test("CPU: SIGKILL during training leaves a checkpoint that --load reads and --resume continues exactly")
    func killedTrainer() throws {
        let trainer = try GeneratedTrainer.build(Self.source, name: "resume_a")
        let dir = try Self.folder("resume-kill")
        let ckpt = dir.appendingPathComponent("ckpt").path, state = ckpt + "/last.json"
        let common = ["--data", try Self.data(3000, name: "resume-kill.csv"), "--test-split", "0.1", "--threads", "2",
                      "--batch", "4"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: trainer.executable)
        process.arguments = common + ["--epochs", "100000", "--checkpoint-dir", ckpt]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: state) && process.isRunning && Date() < deadline {
            usleep(2_000)
        }
        usleep(UInt32.random(in: 0..<100_000))  // somewhere in the next epoch, or in the writing of its checkpoint
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the trainer was still training when killed")
        let json = try JSONSerialization.jsonObject(with: Self.bytes(state)) as? [String: Any] ?? [:]
        let epoch = try #require(json["epoch"] as? Int)
        print("killed after the checkpoint of epoch \(epoch)")

        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ckpt).filter { $0.hasSuffix(".tmp") }
        print("the kill left \(leftovers.isEmpty ? "no temporary files" : leftovers.joined(separator: ", "))")
        let loaded = try trainer.train(common + ["--load", ckpt + "/last.safetensors", "--epochs", "0"])
        #expect(loaded.status == 0 && loaded.output.contains("test accuracy"), "\(loaded.output)")
        let resumed = try trainer.train(common + ["--epochs", "\(epoch + 1)", "--resume", ckpt, "--save",
                                                  dir.appendingPathComponent("resumed.st").path])
        if resumed.status != 0 {  // the kill fell between two renames: refused, in one line, never mixed
            #expect(resumed.output.contains("the trainer was stopped while writing this checkpoint"), "\(resumed.output)")
            print("the kill fell between the renames of a checkpoint: \(resumed.output)")
            return
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: ckpt).filter { $0.hasSuffix(".tmp") }.isEmpty,
                "--resume removed what the killed trainer left")
        let full = try trainer.train(common + ["--epochs", "\(epoch + 1)", "--save", dir.appendingPathComponent("full.st").path])
        #expect(full.status == 0, "\(full.output)")
        #expect(try Self.bytes(dir.appendingPathComponent("resumed.st").path) == Self.bytes(dir.appendingPathComponent("full.st").path))
    }
}
