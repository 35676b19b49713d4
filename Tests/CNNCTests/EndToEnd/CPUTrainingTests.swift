import Foundation
import Testing
@testable import CNNC

/// End to end, as a user runs it: compile an example, build the package, train on real Fashion-MNIST images,
/// save, load, evaluate; and the same run once more under AddressSanitizer and UndefinedBehaviorSanitizer.
@Suite("CPU trainer end to end", .serialized)
struct CPUTrainingTests {
    func metrics(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test("lenet5 learns Fashion-MNIST; a saved checkpoint loads back with the same accuracy")
    func trainsSavesAndLoads() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/lenet5.cnn"), encoding: .utf8)
        let trainer = try GeneratedTrainer.build(source, name: "lenet5")
        let root = GeneratedTrainer.workRoot
        let m1 = root.appendingPathComponent("lenet5-metrics.json"), m2 = root.appendingPathComponent("lenet5-eval.json")
        let weights = root.appendingPathComponent("lenet5.safetensors")
        let run = try trainer.train(["--data", fashionMNIST, "--limit", "4000", "--epochs", "3", "--batch", "32",
                                     "--lr", "0.05", "--momentum", "0.9", "--metrics", m1.path, "--save", weights.path])
        #expect(run.status == 0, "\(run.output)")
        let epochs = try #require(try metrics(m1)["epochs"] as? [[String: Any]])
        #expect(epochs.count == 3)
        let losses = epochs.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 3 && losses[2] < losses[0] * 0.8, "loss should fall: \(losses)")
        let final = try #require(try metrics(m1)["final"] as? [String: Any])
        let accuracy = try #require(final["test_accuracy"] as? Double)
        #expect(accuracy > 0.65, "test accuracy \(accuracy) should clearly beat chance (0.1)")

        let eval = try trainer.train(["--data", fashionMNIST, "--load", weights.path, "--epochs", "0", "--metrics", m2.path])
        #expect(eval.status == 0, "\(eval.output)")
        let reloaded = try #require(try metrics(m2)["final"] as? [String: Any])
        #expect(reloaded["test_accuracy"] as? Double == accuracy)
        print("lenet5: losses \(losses), test accuracy \(accuracy), reloaded \(reloaded["test_accuracy"] ?? "-")")
    }

    @Test("same seed and threads give the same weights bit for bit")
    func deterministic() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/digits004.cnn"), encoding: .utf8)
            .replacingOccurrences(of: "input 8x8", with: "input 28x28")
        let trainer = try GeneratedTrainer.build(source, name: "digits28")
        let root = GeneratedTrainer.workRoot
        var files: [Data] = []
        for i in 0..<2 {
            let w = root.appendingPathComponent("digits28-\(i).safetensors")
            let run = try trainer.train(["--data", fashionMNIST, "--limit", "1000", "--epochs", "1", "--threads", "2",
                                         "--seed", "5", "--save", w.path])
            #expect(run.status == 0, "\(run.output)")
            files.append(try Data(contentsOf: w))
        }
        #expect(files[0] == files[1])
    }

    @Test("training runs clean under AddressSanitizer and UndefinedBehaviorSanitizer")
    func sanitizers() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/mnist002.cnn"), encoding: .utf8)
        let trainer = try GeneratedTrainer.build(source, name: "mnist002-asan", configuration: "debug",
                                                 extraBuildFlags: ["--sanitize=address", "-Xcc", "-fsanitize=undefined",
                                                                   "-Xcc", "-fno-sanitize-recover=undefined",
                                                                   "-Xswiftc", "-Xclang-linker", "-Xswiftc", "-fsanitize=undefined"],
                                                 scratchPath: ".build-asan")
        // UndefinedBehaviorSanitizer instruments the C kernels (Swift's own checks trap on overflow anyway).
        let run = try trainer.train(["--data", fashionMNIST, "--limit", "300", "--epochs", "1", "--batch", "37",
                                     "--threads", "2"])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        #expect(!run.output.contains("runtime error"), "\(run.output.suffix(3000))")
        #expect(!run.output.contains("AddressSanitizer"), "\(run.output.suffix(3000))")
    }
}
