import Foundation
import Testing
@testable import CNNC

/// Dropout end to end, in the generated trainers built as a user builds them. The reference interpreter gets the
/// masks of the dumped step from the test's own implementation of the generator (`DropoutMasks`), so matching it
/// means the C and GLSL kernels drew exactly those masks (on a spatial tensor, a flat one and after a dense
/// layer), forward and backward. Then training from one checkpoint: the CPU trainer at 1 and 2 threads and the
/// Vulkan trainer end with the same parameters, which they cannot unless every step drew the same masks; another
/// --seed, as a control, ends elsewhere.
@Suite("dropout in the generated trainers", .serialized)
struct DropoutTrainingTests {
    static let name = "drop_a"
    /// The seed's high half is not zero, so the fold of --seed to 32 bits is exercised.
    static let seed: UInt64 = 0x1234_5678_9ABC_DEF0
    static let source = """
        net drop_a
        input 6x5x2
        scale 0.5
        conv 4 3x3 pad=same relu
        dropout 0.3
        maxpool 2x2 stride=2 pad=same
        conv 5 3x3 pad=same tanh
        flatten
        dropout 0.5 name=flatdrop
        dense 6 relu
        dropout 0.2
        dense 3
        softmax
        train seed=\(seed)
        """

    func referenceCase(_ trainer: GeneratedTrainer) throws -> ReferenceCase {
        let net = trainer.compilation.network
        #expect(net.train.seed == Self.seed)
        // The dump is the trainer's first training step: step 0.
        return try ReferenceCase(trainer, name: Self.name, index: 40, batch: 7,
                                 masks: DropoutMasks.masks(net, batch: 7, seed: Self.seed, step: 0))
    }

    @Test("CPU: the reference with the generator's masks, at 3 threads and 1")
    func cpuMatchesReference() throws {
        let trainer = try GeneratedTrainer.build(Self.source, name: Self.name)
        let test = try referenceCase(trainer)
        for threads in ["3", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(Self.name)-dump-\(threads).safetensors")
            let run = try trainer.train(test.arguments(dump: dump) + ["--threads", threads])
            #expect(run.status == 0, "\(run.output)")
            print(try test.check(dump, label: "\(Self.name), \(threads) thread(s)"))
        }
    }

    @Test("Vulkan: the reference with the generator's masks, validation clean",
          .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage))
    func vulkanMatchesReference() throws {
        let trainer = try GeneratedTrainer.build(Self.source, name: Self.name, target: "vulkan")
        let test = try referenceCase(trainer)
        for staging in ["0", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(Self.name)-vk-dump-\(staging).safetensors")
            let run = try trainer.train(test.arguments(dump: dump),
                                        environment: ["CNNC_VALIDATION": "1", "CNNC_VULKAN_STAGING": staging])
            #expect(run.status == 0, "\(run.output)")
            #expect(!run.output.contains("vulkan validation"), "validation messages:\n\(run.output.prefix(3000))")
            print(try test.check(dump, label: "\(Self.name) (Vulkan\(staging == "1" ? ", staging" : ""))"))
        }
    }

    @Test("evaluation is the identity: the test loss is the reference's without masks, on both targets")
    func evaluationIsTheIdentity() throws {
        var targets = ["cpu"]
        if VulkanProbe.available { targets.append("vulkan") }
        for target in targets {
            let trainer = try GeneratedTrainer.build(Self.source, name: Self.name, target: target)
            let test = try referenceCase(trainer)
            let plain = Reference.run(test.net, parameters: test.parameters, images: test.images, labels: test.labels)
            // The control: the masks of a training step change the loss, so equality below means no mask.
            #expect(abs(plain.loss - test.reference.loss) > 1e-3 * plain.loss)
            let metrics = GeneratedTrainer.workRoot.appendingPathComponent("\(Self.name)-\(target)-eval.json")
            let run = try trainer.train(["--data", test.data.path, "--test-data", test.data.path, "--load",
                                         test.weights.path, "--batch", "7", "--epochs", "0", "--metrics", metrics.path])
            #expect(run.status == 0, "\(target): \(run.output)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any]
            let final = try #require(json?["final"] as? [String: Any])
            let loss = try #require(final["test_loss"] as? Double)
            #expect(abs(loss - plain.loss) < 1e-5 * plain.loss, "\(target): test loss \(loss), reference \(plain.loss)")
        }
    }

    /// Six steps (two epochs of 7 samples in batches of 3) from the case's weights; the saved parameters.
    func trained(_ trainer: GeneratedTrainer, _ test: ReferenceCase, tag: String, extra: [String] = [],
                 environment: [String: String] = [:]) throws -> [String: SafeTensorsFile.Tensor] {
        let saved = GeneratedTrainer.workRoot.appendingPathComponent("\(Self.name)-trained-\(tag).safetensors")
        try? FileManager.default.removeItem(at: saved)
        let run = try trainer.train(["--data", test.data.path, "--load", test.weights.path, "--batch", "3",
                                     "--epochs", "2", "--lr", "0.1", "--no-shuffle", "--save", saved.path] + extra,
                                    environment: environment)
        #expect(run.status == 0, "\(tag): \(run.output)")
        return try SafeTensorsFile.read(saved)
    }

    /// The largest relative difference over the parameter tensors.
    func difference(_ a: [String: SafeTensorsFile.Tensor], _ b: [String: SafeTensorsFile.Tensor],
                    _ net: Network) -> Double {
        net.parameters.map { p in
            guard let x = a[p.name], let y = b[p.name] else { return .infinity }
            return ReferenceCase.relativeError(x.values, y.values.map(Double.init))
        }.max() ?? .infinity
    }

    @Test("training from one checkpoint: the same parameters at 1 and 2 threads and on Vulkan; not with another seed")
    func sameMasksOnEveryTarget() throws {
        let cpu = try GeneratedTrainer.build(Self.source, name: Self.name)
        let test = try referenceCase(cpu)
        let net = cpu.compilation.network
        let one = try trained(cpu, test, tag: "cpu1", extra: ["--threads", "1"])
        let two = try trained(cpu, test, tag: "cpu2", extra: ["--threads", "2"])
        let threads = difference(two, one, net)
        #expect(threads < 1e-4, "1 and 2 threads differ by \(threads)")
        let reseeded = try trained(cpu, test, tag: "cpu-seed", extra: ["--threads", "1", "--seed", "99"])
        let control = difference(reseeded, one, net)
        #expect(control > 1e-3, "another seed should draw other masks, but the parameters differ by only \(control)")
        print("\(Self.name): 1 vs 2 threads \(threads), another seed \(control)")
        guard VulkanProbe.available else { return }
        let vulkan = try GeneratedTrainer.build(Self.source, name: Self.name, target: "vulkan")
        let device = try trained(vulkan, test, tag: "vulkan")
        let targets = difference(device, one, net)
        #expect(targets < 1e-4, "CPU and Vulkan differ by \(targets)")
        print("\(Self.name): CPU vs Vulkan \(targets)")
    }
}
