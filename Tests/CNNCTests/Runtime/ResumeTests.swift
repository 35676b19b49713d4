import Foundation
import Testing
@testable import TrainerRuntime

/// --checkpoint-dir and --resume in process, on the hand-written network (SoftmaxRegression): a resumed run is
/// the uninterrupted one bit for bit, and every checkpoint that cannot be continued exactly is refused before
/// training, with nothing the trainer did not write replaced. The generated trainers: CheckpointResumeTests.
@Suite("Trainer runtime: checkpoints and --resume")
struct ResumeTests {
    typealias Net = SoftmaxRegression
    typealias F = RuntimeTestFiles

    /// A CSV of blobs in a fresh folder, and the arguments every run here shares.
    static func setUp(_ name: String) throws -> (dir: URL, common: [String]) {
        let dir = try F.folder(name)
        let csv = try RuntimeTrainingTests.blobsCSV(150, stream: 7, in: dir)
        return (dir, ["--data", csv, "--test-split", "0.2", "--batch", "16", "--lr", "0.2", "--threads", "1"])
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The metrics JSON without the timings, which differ from run to run.
    static func metricsWithoutTimes(_ path: String) throws -> String {
        let json = try JSONSerialization.jsonObject(with: bytes(path)) as? [String: Any] ?? [:]
        var epochs = json["epochs"] as? [[String: Any]] ?? []
        for i in epochs.indices { epochs[i]["seconds"] = nil; epochs[i]["images_per_second"] = nil }
        var final = json["final"] as? [String: Any] ?? [:]
        final["inference_images_per_second"] = nil
        let cleaned: [String: Any] = ["epochs": epochs, "final": final]
        return String(decoding: try JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("2 epochs, then --resume for 1 more: the weights, optimizer state and metrics of 3 uninterrupted epochs")
    func resumeEqualsUninterrupted() throws {
        let (dir, common) = try Self.setUp("resume-equal")
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--checkpoint-dir", path("full"), "--save", path("full.st"),
                                               "--metrics", path("full.json")]) == 0)
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--checkpoint-dir", path("part")]) == 0)
        let afterTwo = try Self.bytes(path("part/last.safetensors"))
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--resume", path("part"), "--save", path("part.st"),
                                               "--metrics", path("part.json")]) == 0)
        #expect(try Self.bytes(path("part/last.safetensors")) != afterTwo, "the third epoch changed the weights")
        #expect(try Self.bytes(path("full.st")) == Self.bytes(path("part.st")))
        for name in ["last.safetensors", "last.optim.safetensors", "best.safetensors", "last.json"] {
            #expect(try Self.bytes(path("full/" + name)).count > 0)
        }
        #expect(try Self.bytes(path("full/last.optim.safetensors")) == Self.bytes(path("part/last.optim.safetensors")))
        let full = try Self.metricsWithoutTimes(path("full.json")), part = try Self.metricsWithoutTimes(path("part.json"))
        #expect(full == part)
        #expect(full.contains("\"epoch\":3"), "\(full)")
        // The control: the same resume with the momentum zeroed in the checkpoint ends elsewhere.
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--checkpoint-dir", path("cold")]) == 0)
        let optimizer = try SafetensorsReader(path: path("cold/last.optim.safetensors"))
        let momentum = try optimizer.floats("momentum")
        #expect(momentum.contains { $0 != 0 })
        let zeroed = NamedTensor(name: "momentum", shape: [momentum.count], values: momentum.map { _ in 0 })
        try writeFileAtomically(safetensorsBytes([zeroed], metadata: optimizer.metadata.sorted { $0.key < $1.key }),
                                to: path("cold/last.optim.safetensors"))
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--resume", path("cold"), "--save", path("cold.st")]) == 0)
        #expect(try Self.bytes(path("cold.st")) != Self.bytes(path("full.st")))
    }

    @Test("a finished run is only evaluated; more --epochs train on")
    func finishedRun() throws {
        let (dir, common) = try Self.setUp("resume-finished")
        let ckpt = dir.appendingPathComponent("ckpt").path, metrics = dir.appendingPathComponent("m.json").path
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--checkpoint-dir", ckpt]) == 0)
        let state = try Self.bytes(ckpt + "/last.json")
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--resume", ckpt, "--metrics", metrics]) == 0)
        #expect(try Self.bytes(ckpt + "/last.json") == state, "nothing trained, nothing rewritten")
        let json = try JSONSerialization.jsonObject(with: Self.bytes(metrics)) as? [String: Any] ?? [:]
        #expect((json["epochs"] as? [Any])?.count == 2)
        #expect((json["final"] as? [String: Any])?["test_accuracy"] as? Double != nil)
        #expect(runTrainer(Net.self, common + ["--epochs", "1", "--resume", ckpt]) == 1, "epoch 2 lies beyond --epochs 1")
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--resume", ckpt]) == 0)
        #expect(try Self.bytes(ckpt + "/last.json") != state)
    }

    /// The message of the error `Resume` throws for the checkpoint in `folder` under `arguments`.
    static func resumeError(_ folder: String, _ arguments: [String]) -> String {
        do {
            let options = try parseOptions(arguments + ["--resume", folder], defaults: Net.info.defaults)
            _ = try Resume(folder: folder, info: Net.info, options: options)
            return "no error"
        } catch let error as RuntimeError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("a checkpoint that cannot be continued exactly is refused before training, in one line")
    func mismatchesAreRefused() throws {
        let (dir, common) = try Self.setUp("resume-refused")
        let ckpt = dir.appendingPathComponent("ckpt").path
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--checkpoint-dir", ckpt]) == 0)
        #expect(Self.resumeError(ckpt, common + ["--epochs", "3"]) == "no error")
        #expect(Self.resumeError(ckpt, common + ["--epochs", "3", "--batch", "8"])
                == "--resume \(ckpt): the checkpoint was trained with --batch 16, this run has --batch 8; "
                + "give the same to continue it")
        #expect(Self.resumeError(ckpt, common + ["--epochs", "3", "--seed", "9"]).contains("--seed 3, this run has --seed 9"))
        #expect(Self.resumeError(ckpt, common + ["--epochs", "3", "--no-shuffle"]).contains("this run has --no-shuffle"))
        #expect(Self.resumeError(ckpt, common + ["--epochs", "1"])
                == "--resume \(ckpt): the checkpoint was taken after epoch 2, beyond --epochs 1; give --epochs 2 or more")
        #expect(Self.resumeError(dir.appendingPathComponent("none").path, common) .hasSuffix(": no such folder"))
        // Other data: the same settings, fewer samples.
        let fewer = try RuntimeTrainingTests.blobsCSV(100, stream: 7, in: dir, name: "fewer.csv")
        var other = common
        other[1] = fewer
        #expect(runTrainer(Net.self, other + ["--epochs", "3", "--resume", ckpt]) == 1)
        #expect(parseFails(common + ["--resume", ckpt, "--load", ckpt + "/last.safetensors"]))
        #expect(parseFails(common + ["--checkpoint-dir", ckpt, "--dump-gradients", dir.appendingPathComponent("g").path]))

        // A torn checkpoint: the weights of a later step than last.json names (a kill between the renames).
        let torn = dir.appendingPathComponent("torn").path
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--checkpoint-dir", torn]) == 0)
        try FileManager.default.removeItem(atPath: torn + "/last.json")
        try FileManager.default.copyItem(atPath: ckpt + "/last.json", toPath: torn + "/last.json")
        let message = Self.resumeError(torn, common + ["--epochs", "3"])
        #expect(message.contains("last.optim.safetensors is from step 24 but \(torn)/last.json from step 16: "
                                 + "the trainer was stopped while writing this checkpoint"), "\(message)")
        #expect(!message.contains("\n"))
        // A shuffler position that replaying the shuffles does not reach (an edited last.json): refused before training.
        let edited = try String(contentsOfFile: ckpt + "/last.json", encoding: .utf8)
        let shuffler = try #require(edited.range(of: "\"shuffler\": [\""))
        var tampered = edited
        let first = tampered[shuffler.upperBound]
        tampered.replaceSubrange(shuffler.upperBound..<tampered.index(after: shuffler.upperBound), with: first == "f" ? "e" : "f")
        #expect(tampered != edited)
        try tampered.write(toFile: torn + "/last.json", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: torn + "/last.safetensors")
        try FileManager.default.removeItem(atPath: torn + "/last.optim.safetensors")
        try FileManager.default.copyItem(atPath: ckpt + "/last.safetensors", toPath: torn + "/last.safetensors")
        try FileManager.default.copyItem(atPath: ckpt + "/last.optim.safetensors", toPath: torn + "/last.optim.safetensors")
        #expect(Self.resumeError(torn, common + ["--epochs", "3"]) == "no error", "only the replay can tell")
        #expect(runTrainer(Net.self, common + ["--epochs", "3", "--resume", torn]) == 1)
        #expect(try String(contentsOfFile: torn + "/last.json", encoding: .utf8) == tampered, "nothing trained")
        // Another network's checkpoint: the name is checked, then the parameter table.
        var json = try String(contentsOfFile: ckpt + "/last.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"softmax-regression\"", with: "\"other\"")
        try json.write(toFile: torn + "/last.json", atomically: false, encoding: .utf8)
        #expect(Self.resumeError(torn, common + ["--epochs", "3"])
                == "\(torn)/last.json: a checkpoint of network other, not of softmax-regression")
    }

    func parseFails(_ arguments: [String]) -> Bool {
        (try? parseOptions(arguments, defaults: Net.info.defaults)) == nil
    }

    @Test("--checkpoint-dir replaces only its own files and does not start over another run's checkpoint")
    func onlyOwnFilesAreReplaced() throws {
        let (dir, common) = try Self.setUp("resume-own")
        let ckpt = dir.appendingPathComponent("ckpt").path
        try FileManager.default.createDirectory(atPath: ckpt, withIntermediateDirectories: false)
        let notes = ckpt + "/notes.txt", foreign = ckpt + "/best.safetensors"
        try "mine".write(toFile: notes, atomically: false, encoding: .utf8)
        try "not a checkpoint".write(toFile: foreign, atomically: false, encoding: .utf8)
        #expect(runTrainer(Net.self, common + ["--epochs", "1", "--checkpoint-dir", ckpt]) == 1)
        #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "not a checkpoint")
        #expect(!FileManager.default.fileExists(atPath: ckpt + "/last.json"), "refused before training")
        try FileManager.default.removeItem(atPath: foreign)
        // What a killed trainer leaves is removed; files that merely look alike stay.
        let stale = [".last.json.3f9a0c.tmp", ".last.optim.safetensors.0123456789abcdef.tmp"]
        let alike = [".last.json.notes.tmp", ".other.json.3f9a0c.tmp", ".last.json.0123456789abcdef0.tmp", "last.json.3f.tmp"]
        for name in stale + alike { try "x".write(toFile: ckpt + "/" + name, atomically: false, encoding: .utf8) }
        #expect(runTrainer(Net.self, common + ["--epochs", "1", "--checkpoint-dir", ckpt]) == 0)
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == "mine")
        for name in stale { #expect(!FileManager.default.fileExists(atPath: ckpt + "/" + name), "\(name)") }
        for name in alike { #expect(FileManager.default.fileExists(atPath: ckpt + "/" + name), "\(name)") }
        let state = try Self.bytes(ckpt + "/last.json")
        #expect(runTrainer(Net.self, common + ["--epochs", "1", "--checkpoint-dir", ckpt]) == 1,
                "a fresh run would overwrite the checkpoint of another")
        #expect(try Self.bytes(ckpt + "/last.json") == state)
        #expect(runTrainer(Net.self, common + ["--epochs", "2", "--resume", ckpt, "--save", ckpt + "/last.safetensors"])
                == 1, "--save onto a checkpoint file")
        #expect(try Self.bytes(ckpt + "/last.json") == state)
        // A checkpoint folder inside a missing folder is refused before training.
        #expect(runTrainer(Net.self, common + ["--epochs", "1", "--checkpoint-dir", dir.path + "/missing/ckpt"]) == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/missing"))
    }
}
