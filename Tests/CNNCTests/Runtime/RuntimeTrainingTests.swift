import Foundation
import Testing
@testable import TrainerRuntime
import enum CNNC.Limits

/// The runtime driven through `TrainableNetwork` by a network written in the test (SoftmaxRegression), in process:
/// the training loop, checkpoints, initialisation and the whole command line, without any generated code.
@Suite("Trainer runtime through TrainableNetwork")
struct RuntimeTrainingTests {
    typealias Net = SoftmaxRegression
    typealias F = RuntimeTestFiles

    /// `count` samples of four Gaussian blobs (class k: mean 2 on features k, k+4, k+8), labels cycling 0...3.
    static func blobs(_ count: Int, stream: UInt64) -> Dataset {
        var random = TrainerRandom(seed: 11, stream: stream)
        var values: [Float] = [], labels: [Int32] = []
        for n in 0..<count {
            let label = n % Net.classes
            for i in 0..<Net.inputs { values.append(Float(random.normal()) + (i % Net.classes == label ? 2 : 0)) }
            labels.append(Int32(label))
        }
        return Dataset(source: "blobs", sampleSize: Net.inputs, storage: .floats(values), labels: labels)
    }

    /// `count` blobs (stream `stream`) as a CSV file `name` in `folder`: twelve values, then the label, per row.
    static func blobsCSV(_ count: Int, stream: UInt64, in folder: URL, name: String = "blobs.csv") throws -> String {
        let path = folder.appendingPathComponent(name).path
        let data = blobs(count, stream: stream)
        guard case .floats(let values) = data.storage else { preconditionFailure("blobs are floats") }
        let rows = (0..<data.count).map { n in
            (values[n * 12..<(n + 1) * 12].map { String($0) } + [String(data.labels[n])]).joined(separator: ",")
        }
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The mean loss of `net` on `data` (all samples in one call), in Double.
    static func meanLoss(_ net: Net, _ data: Dataset, _ staging: StagingBuffer) -> Double {
        staging.gatherInOrder(data, start: 0, count: data.count)
        return net.evaluate(images: staging.images, labels: staging.labels, count: data.count).lossSum / Double(data.count)
    }

    @Test("the test network's gradient agrees with central finite differences (it is a real network)")
    func gradient() throws {
        let data = Self.blobs(6, stream: 2)
        let net = try Net(maxBatch: 6, threads: 1, device: nil)
        initializeParameters(of: net, seed: 5)
        for i in 0..<4 { net.parameters[Net.biasOffset + i] = 0.1 * Float(i) - 0.15 }  // not all zero
        let staging = StagingBuffer(capacity: 6, sampleSize: Net.inputs)
        staging.gatherInOrder(data, start: 0, count: 6)
        _ = net.computeGradients(images: staging.images, labels: staging.labels, count: 6)
        let analytic = Array(UnsafeBufferPointer(start: net.gradients, count: Net.info.parameterCount))
        var worst = 0.0
        for spec in Net.info.parameters {
            for i in spec.offset..<spec.offset + spec.count {
                let saved = net.parameters[i], step: Float = 1e-2
                net.parameters[i] = saved + step
                let up = Self.meanLoss(net, data, staging)
                net.parameters[i] = saved - step
                let down = Self.meanLoss(net, data, staging)
                net.parameters[i] = saved
                let numeric = (up - down) / Double(2 * step)
                worst = max(worst, abs(numeric - Double(analytic[i])) / max(1e-2, abs(numeric)))
            }
        }
        #expect(worst < 1e-3, "largest relative gradient error \(worst)")
        for i in [12, 13, 14, 15, 68, 69] { #expect(analytic[i] == 0, "float \(i) lies outside the parameter table") }
    }

    @Test("Trainer.run takes every step of every epoch, resets the optimizer and lowers the loss")
    func trainingLowersTheLoss() throws {
        let train = Self.blobs(200, stream: 3), test = Self.blobs(100, stream: 4)
        let options = try parseOptions(["--data", "blobs", "--epochs", "4", "--batch", "16", "--lr", "0.2"],
                                       defaults: Net.info.defaults)
        #expect(options.optimizer.momentum == 0.5 && options.seed == 3, "the network's defaults fill what is not given")
        let net = try Net(maxBatch: 16, threads: 1, device: nil)
        initializeParameters(of: net, seed: options.seed)
        let staging = StagingBuffer(capacity: 16, sampleSize: Net.inputs)
        let trainer = Trainer(network: net, options: options, data: DataSets(train: train, test: test), staging: staging)
        let before = trainer.evaluate(test)
        #expect(try trainer.run() == .finished)
        let after = trainer.evaluate(test)
        #expect(net.steps == 4 * 13 && net.updates == 4 * 13, "200 samples in batches of 16: 13 steps per epoch")
        #expect(net.optimizerResets == 1)
        #expect(after.loss < 0.5 * before.loss, "test loss \(before.loss) -> \(after.loss)")
        #expect(after.accuracy > 0.9, "test accuracy \(before.accuracy) -> \(after.accuracy)")
    }

    @Test("initialisation follows the parameter table: its stream in table and cnnc order, zeros and gaps")
    func initialization() throws {
        let net = try Net(maxBatch: 1, threads: 1, device: nil)
        for i in 0..<Net.info.parameterCount { net.parameters[i] = 9 }  // stale values everywhere
        initializeParameters(of: net, seed: 42)
        #expect(net.changes == 1, "the network is told its parameters changed")
        var random = TrainerRandom(seed: 42, stream: 0)
        let shift = (0..<12).map { _ in Float(random.normal() * (2.0 / 50).squareRoot()) }
        let limit = Float((6.0 / 16).squareRoot())
        let weight = (0..<48).map { _ in random.uniform(limit: limit) }
        let values = Array(UnsafeBufferPointer(start: net.parameters, count: Net.info.parameterCount))
        #expect(Array(values[0..<12]) == shift)
        #expect(Array(values[16..<64]) == weight)
        #expect(weight.allSatisfy { abs($0) <= limit } && Set(weight).count == 48)
        #expect(Array(values[64..<68]) == [0, 0, 0, 0], "dense.bias is zeros")
        #expect(Array(values[12..<16]) + Array(values[68..<70]) == [0, 0, 0, 0, 0, 0], "the gaps are zero")
    }

    @Test("a checkpoint holds PyTorch layouts and round-trips; a wrong shape is refused by name")
    func checkpoint() throws {
        let dir = try F.folder("protocol-checkpoint")
        let path = dir.appendingPathComponent("w.safetensors").path
        let saved = try Net(maxBatch: 1, threads: 1, device: nil)
        initializeParameters(of: saved, seed: 8)
        for i in 0..<4 { saved.parameters[Net.biasOffset + i] = Float(i) + 0.5 }
        try saveCheckpoint(saved, to: path)
        #expect(saved.synchronizations == 1)

        let file = try SafetensorsReader(path: path)
        #expect(file.entries["shift.bias"]?.shape == [3, 2, 2])
        #expect(file.entries["dense.weight"]?.shape == [4, 12])
        #expect(file.entries["dense.bias"]?.shape == [4])
        let torchWeight = try file.floats("dense.weight"), torchShift = try file.floats("shift.bias")
        for (o, ci, y, x) in [(0, 0, 0, 0), (3, 2, 1, 1), (1, 2, 0, 1), (2, 1, 1, 0)] {
            let cnnc = (y * 2 + x) * 3 + ci  // [h][w][c]
            #expect(torchWeight[o * 12 + ci * 4 + y * 2 + x] == saved.parameters[Net.weightOffset + cnnc * 4 + o])
            #expect(torchShift[ci * 4 + y * 2 + x] == saved.parameters[Net.shiftOffset + cnnc])
        }
        #expect(try file.floats("dense.bias") == [0.5, 1.5, 2.5, 3.5])

        let loaded = try Net(maxBatch: 1, threads: 1, device: nil)
        for i in 0..<Net.info.parameterCount { loaded.parameters[i] = 7 }
        try loadCheckpoint(loaded, from: file)
        #expect(loaded.changes == 1)
        for i in 0..<Net.info.parameterCount { #expect(loaded.parameters[i] == saved.parameters[i], "float \(i)") }

        var tensors = parameterTensors(saved.parameters, Net.info)
        tensors[1] = NamedTensor(name: "dense.weight", shape: [12, 4], values: tensors[1].values)
        let wrong = dir.appendingPathComponent("wrong.safetensors").path
        try writeFileAtomically(safetensorsBytes(tensors, metadata: []), to: wrong)
        let message = F.errorMessage { try loadCheckpoint(loaded, from: try SafetensorsReader(path: wrong)) }
        #expect(message == "\(wrong): tensor dense.weight has shape [12, 4], expected [4, 12]")
    }

    @Test("runTrainer: train, save and reload a CSV data set; bad options are one error and status 1")
    func wholeTrainer() throws {
        let dir = try F.folder("protocol-trainer")
        let csv = try Self.blobsCSV(240, stream: 5, in: dir)
        let weights = dir.appendingPathComponent("w.safetensors").path
        let metrics = dir.appendingPathComponent("m.json").path
        let trained = runTrainer(Net.self, ["--data", csv, "--test-split", "0.25", "--epochs", "5", "--lr", "0.2",
                                            "--save", weights, "--metrics", metrics, "--threads", "1"])
        #expect(trained == 0)
        let file = try SafetensorsReader(path: weights)
        #expect(Set(file.entries.keys) == ["shift.bias", "dense.weight", "dense.bias"])
        let reloaded = dir.appendingPathComponent("m2.json").path
        #expect(runTrainer(Net.self, ["--data", csv, "--test-split", "0.25", "--load", weights, "--epochs", "0",
                                      "--threads", "1", "--metrics", reloaded]) == 0)
        func final(_ path: String) throws -> [String: Any] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            return (json as? [String: Any])?["final"] as? [String: Any] ?? [:]
        }
        let first = try final(metrics), second = try final(reloaded)
        #expect((first["test_accuracy"] as? Double ?? 0) > 0.85, "\(first)")
        #expect(first["test_loss"] as? Double != nil && first["test_loss"] as? Double == second["test_loss"] as? Double,
                "the reloaded weights evaluate the same: \(first) \(second)")
        #expect(runTrainer(Net.self, ["--data", csv, "--device", "1", "--threads", "1"]) == 1)
        #expect(runTrainer(Net.self, ["--data", csv, "--bacth", "4"]) == ExitStatus.usage)
    }

    /// --batch took up to 2^20 while cnnc checks the generated code's sizes for batches up to Limits.maxBatch.
    @Test("--batch is bounded by the batch cnnc checked the generated code for")
    func batchLimitIsTheCompilersLimit() throws {
        let defaults = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1)
        let largest = try parseOptions(["--data", "d", "--batch", "\(Limits.maxBatch)"], defaults: defaults)
        #expect(largest.batch == Limits.maxBatch)
        #expect(throws: UsageError.self) {
            _ = try parseOptions(["--data", "d", "--batch", "\(Limits.maxBatch + 1)"], defaults: defaults)
        }
    }
}
