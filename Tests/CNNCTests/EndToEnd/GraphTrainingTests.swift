import Foundation
import Testing
@testable import CNNC

/// The graph examples train on real Fashion-MNIST images on the CPU: a few hundred steps lower the loss well below
/// chance's (ln 10 = 2.30) and the test accuracy clearly beats chance.
@Suite("graph examples train", .serialized)
struct GraphTrainingTests {
    @Test("residual and inception learn Fashion-MNIST", arguments: ["residual", "inception"])
    func learns(_ name: String) throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/\(name).cnn"), encoding: .utf8)
        let trainer = try GeneratedTrainer.build(source, name: name)
        let metrics = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-metrics.json")
        let run = try trainer.train(["--data", fashionMNIST, "--limit", "12800", "--epochs", "2", "--batch", "64",
                                     "--threads", "2", "--metrics", metrics.path])
        #expect(run.status == 0, "\(run.output)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let epochs = try #require(root["epochs"] as? [[String: Any]])
        let losses = epochs.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 2 && losses[1] < losses[0] && losses[1] < 1.2, "loss should fall: \(losses)")
        let accuracy = try #require((root["final"] as? [String: Any])?["test_accuracy"] as? Double)
        #expect(accuracy > 0.6, "test accuracy \(accuracy)")
        print("\(name): losses \(losses), test accuracy \(accuracy)")
    }
}
