import Foundation
import Testing
@testable import CNNC

/// batchnorm end to end, on both targets, against the reference interpreter: a training step's probabilities,
/// loss and every gradient (the scale's and shift's included); then two SGD steps with an evaluation between and
/// after them, whose saved checkpoint must hold the reference's weights and running statistics (an evaluation that
/// updated them would show) and whose final test loss must be the reference's with the running statistics.
/// bn_a has batchnorm after a conv without bias (alone, and with relu and its own eps and momentum) and after a
/// dense layer (1-D, with relu); bn_b normalises the network input itself (no input gradient) and a flattened
/// tensor (1-D, features in C,H,W order).
enum BatchNormNets {
    static let nets: [(name: String, source: String)] = [
        ("bn_a", """
         net bn_a
         input 6x5x2
         conv 4 3x3 pad=1 bias=none
         batchnorm
         relu
         maxpool 2x2 pad=same
         conv 3 2x2 bias=none
         batchnorm eps=0.001 momentum=0.3 relu
         flatten
         dense 5 bias=none
         batchnorm relu
         dense 3
         softmax
         """),
        ("bn_b", """
         net bn_b
         input 4x3x3
         scale 0.5
         batchnorm
         conv 2 3x3 pad=same relu
         flatten
         batchnorm momentum=0.5
         dense 4 bias=none tanh
         dense 3
         softmax
         """),
    ]

    /// The trainer's arguments for two SGD steps on the case's batch (one per epoch), evaluating on the same batch
    /// after each, saving the checkpoint and the metrics.
    static func twoSteps(_ test: ReferenceCase, save: URL, metrics: URL) -> [String] {
        ["--data", test.data.path, "--test-data", test.data.path, "--load", test.weights.path, "--batch", "\(test.batch)",
         "--epochs", "2", "--no-shuffle", "--lr", "0.05", "--momentum", "0.5", "--save", save.path,
         "--metrics", metrics.path]
    }

    /// The reference's state after two SGD steps (lr 0.05, momentum 0.5) with the running statistics each
    /// training forward pass leaves, and its evaluation loss then.
    static func reference(_ test: ReferenceCase) -> (state: [String: [Double]], evaluationLoss: Double) {
        var state = test.state
        var velocity: [String: [Double]] = [:]
        for _ in 0..<2 {
            let r = Reference.run(test.net, parameters: state, images: test.images, labels: test.labels)
            state.merge(r.buffers) { $1 }
            for p in test.net.parameters {
                let g = r.gradients[p.name]!
                let v = zip(velocity[p.name] ?? [Double](repeating: 0, count: p.count), g).map { 0.5 * $0 + $1 }
                velocity[p.name] = v
                state[p.name] = zip(state[p.name]!, v).map { $0 - 0.05 * $1 }
            }
        }
        return (state, Reference.loss(test.net, parameters: state, images: test.images, labels: test.labels,
                                      training: false))
    }

    /// Every gradient of the case is far from 0: one zero throughout would compare equal without proving anything.
    static func checkGradientsAreAlive(_ test: ReferenceCase) {
        for p in test.net.parameters {
            let largest = test.reference.gradients[p.name]!.map(abs).max() ?? 0
            #expect(largest > 1e-3, "\(test.name): \(p.name)'s reference gradient is (nearly) 0: \(largest)")
        }
    }

    /// Compares the saved checkpoint and the final test loss with `reference`; returns a line of the differences.
    static func checkTwoSteps(_ test: ReferenceCase, save: URL, metrics: URL, label: String) throws -> String {
        let (want, evaluationLoss) = reference(test)
        let saved = try SafeTensorsFile.read(save)
        var report = "\(label) after two steps: max relative difference"
        for p in test.net.state {
            let got = try #require(saved[p.name], "\(label): no \(p.name) in the checkpoint")
            #expect(got.shape == p.layout.torchShape && got.integer == (p.layout == .counter), "\(label): \(p.name)")
            let e = ReferenceCase.relativeError(got.values, want[p.name]!)
            report += ", \(p.name) \(e)"
            #expect(e < 1e-4, "\(label): \(p.name) differs by \(e)")
        }
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let loss = try #require((root["final"] as? [String: Any])?["test_loss"] as? Double)
        let e = abs(loss - evaluationLoss) / max(1e-6, abs(evaluationLoss))
        #expect(e < 1e-4, "\(label): evaluation loss \(loss), reference \(evaluationLoss)")
        // Evaluating with the batch's statistics instead would give another loss.
        let batchLoss = Reference.loss(test.net, parameters: want, images: test.images, labels: test.labels)
        #expect(abs(batchLoss - evaluationLoss) > 1e-3, "\(label): the test cannot tell the two statistics apart")
        return report + ", evaluation loss \(e)"
    }
}

extension BatchNormNets {
    /// A checkpoint whose batch counter is an F32, or an I64 past what a float counts exactly, is refused by name
    /// with status 1.
    static func checkCounterErrors(_ trainer: GeneratedTrainer, _ test: ReferenceCase) throws {
        let name = test.net.state.first { $0.layout == .counter }!.name
        for (integer, value, message) in [(false, Float(3), "has dtype F32, expected I64"),
                                          (true, Float(1 << 24 + 2), "expected a count in 0...16777216")] {
            var tensors = try SafeTensorsFile.read(test.weights)
            tensors[name] = .init(shape: [], values: [value], integer: integer)
            let bad = GeneratedTrainer.workRoot.appendingPathComponent("\(test.name)-bad-counter.safetensors")
            try SafeTensorsFile.write(tensors, to: bad)
            let run = try trainer.train(["--data", test.data.path, "--load", bad.path, "--epochs", "1"])
            #expect(run.status == 1 && run.output.contains("\(name) \(integer ? "holds" : "")"), "\(run.output)")
            #expect(run.output.contains(message), "\(run.output)")
        }
    }
}

@Suite("batchnorm: generated C matches the reference", .serialized)
struct CPUBatchNormTests {
    @Test("a training step's gradients; two steps' weights, running statistics and evaluation",
          arguments: 0..<BatchNormNets.nets.count)
    func matchesReference(_ index: Int) throws {
        let (name, source) = BatchNormNets.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name)
        let test = try ReferenceCase(trainer, name: name, index: 40 + index)
        BatchNormNets.checkGradientsAreAlive(test)
        // Three threads (the statistics' channels split across them) and one.
        for threads in ["3", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-dump-\(threads).safetensors")
            let run = try trainer.train(test.arguments(dump: dump) + ["--threads", threads])
            #expect(run.status == 0, "\(run.output)")
            print(try test.check(dump, label: "\(name), \(threads) thread(s)"))
            let save = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-two-\(threads).safetensors")
            let metrics = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-two-\(threads).json")
            let steps = try trainer.train(BatchNormNets.twoSteps(test, save: save, metrics: metrics) + ["--threads", threads])
            #expect(steps.status == 0, "\(steps.output)")
            print(try BatchNormNets.checkTwoSteps(test, save: save, metrics: metrics, label: "\(name), \(threads) thread(s)"))
        }
        try BatchNormNets.checkCounterErrors(trainer, test)
    }
}

/// The batchnorm example trains on real Fashion-MNIST images on the CPU: the loss falls well below chance's
/// (ln 10 = 2.30), and the test accuracy, evaluated with the running statistics, clearly beats chance.
@Suite("batchnorm example trains", .serialized)
struct BatchNormTrainingTests {
    @Test func learnsFashionMNIST() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/batchnorm.cnn"), encoding: .utf8)
        let trainer = try GeneratedTrainer.build(source, name: "batchnorm")
        let metrics = GeneratedTrainer.workRoot.appendingPathComponent("batchnorm-metrics.json")
        let run = try trainer.train(["--data", fashionMNIST, "--limit", "6400", "--epochs", "2", "--batch", "64",
                                     "--threads", "2", "--metrics", metrics.path])
        #expect(run.status == 0, "\(run.output)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let epochs = try #require(root["epochs"] as? [[String: Any]])
        let losses = epochs.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 2 && losses[1] < losses[0] && losses[1] < 1.0, "loss should fall: \(losses)")
        let accuracy = try #require((root["final"] as? [String: Any])?["test_accuracy"] as? Double)
        #expect(accuracy > 0.65, "test accuracy \(accuracy)")
        print("batchnorm: losses \(losses), test accuracy \(accuracy)")
    }
}

@Suite("batchnorm: generated Vulkan matches the reference", .serialized,
       .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage))
struct VulkanBatchNormTests {
    @Test("a training step's gradients; two steps' weights, running statistics and evaluation; validation clean",
          arguments: 0..<BatchNormNets.nets.count)
    func matchesReference(_ index: Int) throws {
        let (name, source) = BatchNormNets.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name, target: "vulkan")
        let test = try ReferenceCase(trainer, name: name, index: 40 + index)
        BatchNormNets.checkGradientsAreAlive(test)
        let environment = ["CNNC_VALIDATION": "1"]
        let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-vk-dump.safetensors")
        let run = try trainer.train(test.arguments(dump: dump), environment: environment)
        #expect(run.status == 0, "\(run.output)")
        #expect(!run.output.contains("vulkan validation"), "validation messages:\n\(run.output.prefix(3000))")
        print(try test.check(dump, label: "\(name) (Vulkan)"))
        let save = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-vk-two.safetensors")
        let metrics = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-vk-two.json")
        let steps = try trainer.train(BatchNormNets.twoSteps(test, save: save, metrics: metrics), environment: environment)
        #expect(steps.status == 0, "\(steps.output)")
        #expect(!steps.output.contains("vulkan validation"), "validation messages:\n\(steps.output.prefix(3000))")
        print(try BatchNormNets.checkTwoSteps(test, save: save, metrics: metrics, label: "\(name) (Vulkan)"))
    }
}
