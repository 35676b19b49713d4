import Foundation
@testable import TrainerRuntime

/// A small real network written by hand against the runtime's `TrainableNetwork`, so that the runtime (options,
/// training loop, checkpoints, initialisation) runs in process without generated code: softmax regression on a
/// 2x2x3 input with a learned input offset,
///
///     z = x + shift            shift: element bias [h][w][c]     (PyTorch [c, h, w])
///     logits = z . W + b       W: dense weight [(h*2+w)*3+c][o]  (PyTorch [o, c*4 + h*2 + w]); b: flat bias [4]
///     loss = -log softmax(logits)[label]
///
/// Its gradient is derived by hand and checked against finite differences (RuntimeTrainingTests). The parameter
/// table leaves gaps (floats 12..<16 and 68..<70) that must stay zero, and uses all three initializers.
final class SoftmaxRegression: TrainableNetwork {
    static let (h, w, c, classes) = (2, 2, 3, 4)
    static let inputs = h * w * c
    static let (shiftOffset, weightOffset, biasOffset) = (0, 16, 64)

    static let info = NetworkInfo(
        name: "softmax-regression", source: "SoftmaxRegression.swift", target: "test", cnncVersion: "0.0.0-test",
        inputH: h, inputW: w, inputC: c, classes: classes,
        parameterCount: 70,
        parameters: [
            ParamSpec(name: "shift.bias", offset: shiftOffset, layout: .elementBias(h: h, w: w, c: c),
                      initializer: .he(fanIn: 50)),
            ParamSpec(name: "dense.weight", offset: weightOffset, layout: .denseWeight(out: classes, inH: h, inW: w, inC: c),
                      initializer: .glorot(fanIn: inputs, fanOut: classes)),
            ParamSpec(name: "dense.bias", offset: biasOffset, layout: .flatBias(h: 1, w: 1, c: classes),
                      initializer: .zeros),
        ],
        defaults: TrainingDefaults(epochs: 2, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0.5), seed: 3))

    static func deviceList() throws -> String { "0: this process" }

    static func memoryBytes(maxBatch: Int, threads: Int) -> Int {
        4 * (3 * info.parameterCount + maxBatch * classes)
    }

    let maxBatch: Int
    let parameters: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    let probabilities: UnsafeMutablePointer<Float>
    private let velocity: UnsafeMutablePointer<Float>
    var profilingEnabled = false
    /// How often the runtime called each hook, for the tests.
    private(set) var steps = 0, updates = 0, changes = 0, synchronizations = 0, optimizerResets = 0

    init(maxBatch: Int, threads: Int, device: Int?) throws {
        if let device, device != 0 { throw RuntimeError("--device \(device): this network has one device, 0") }
        self.maxBatch = maxBatch
        let n = Self.info.parameterCount
        parameters = .allocate(capacity: n)
        gradients = .allocate(capacity: n)
        velocity = .allocate(capacity: n)
        probabilities = .allocate(capacity: maxBatch * Self.classes)
        for p in [parameters, gradients, velocity] { p.initialize(repeating: 0, count: n) }
        probabilities.initialize(repeating: 0, count: maxBatch * Self.classes)
    }

    deinit {
        for p in [parameters, gradients, velocity, probabilities] { p.deallocate() }
    }

    /// Forward (and, with `train`, backward: the mean gradient into `gradients`) over `count` samples.
    private func pass(_ images: UnsafePointer<Float>, _ labels: UnsafePointer<Int32>, _ count: Int, train: Bool) -> StepResult {
        precondition(count >= 1 && count <= maxBatch)
        let (k, m) = (Self.classes, Self.inputs)
        let shift = parameters + Self.shiftOffset, weight = parameters + Self.weightOffset, bias = parameters + Self.biasOffset
        if train { gradients.update(repeating: 0, count: Self.info.parameterCount) }
        var result = StepResult(lossSum: 0, correct: 0)
        for n in 0..<count {
            let z = (0..<m).map { Double(images[n * m + $0]) + Double(shift[$0]) }
            var logits = (0..<k).map { o in (0..<m).reduce(Double(bias[o])) { $0 + z[$1] * Double(weight[$1 * k + o]) } }
            let top = logits.max()!
            logits = logits.map { exp($0 - top) }
            let total = logits.reduce(0, +)
            let p = logits.map { $0 / total }
            let label = Int(labels[n])
            for o in 0..<k { probabilities[n * k + o] = Float(p[o]) }
            result.lossSum -= log(p[label])
            if p.indices.max(by: { p[$0] < p[$1] }) == label { result.correct += 1 }
            guard train else { continue }
            let dl = (0..<k).map { (p[$0] - ($0 == label ? 1 : 0)) / Double(count) }
            for o in 0..<k { gradients[Self.biasOffset + o] += Float(dl[o]) }
            for i in 0..<m {
                var dz = 0.0
                for o in 0..<k {
                    gradients[Self.weightOffset + i * k + o] += Float(z[i] * dl[o])
                    dz += Double(weight[i * k + o]) * dl[o]
                }
                gradients[Self.shiftOffset + i] += Float(dz)
            }
        }
        return result
    }

    func computeGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult {
        steps += 1
        return pass(images, labels, count, train: true)
    }

    func evaluate(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult {
        pass(images, labels, count, train: false)
    }

    /// SGD only (the runtime tests train with it): v = mu * v + g + wd * w; w -= lr * v.
    func applyUpdate(_ values: OptimizerValues, kind: OptimizerKind) {
        precondition(kind == .sgd, "SoftmaxRegression implements sgd only")
        updates += 1
        for i in 0..<Self.info.parameterCount {
            velocity[i] = values.mu * velocity[i] + gradients[i] + values.wd * parameters[i]
            parameters[i] -= values.lr * velocity[i]
        }
    }

    /// No dropout layer: nothing draws masks.
    func seedMasks(_ seed: UInt32) {}

    func resetOptimizer() {
        optimizerResets += 1
        velocity.update(repeating: 0, count: Self.info.parameterCount)
    }

    var trainingStateNames: (arrays: [String], counters: [String]) { (["momentum"], []) }

    /// The velocity of the trainable parameters (the table's gap after them has none).
    func trainingState() -> TrainingState {
        TrainingState(arrays: [("momentum", Array(UnsafeBufferPointer(start: velocity, count: Self.info.trainableCount)))],
                      counters: [])
    }

    func restoreTrainingState(_ state: TrainingState) {
        for (name, values) in state.arrays where name == "momentum" {
            velocity.update(from: values, count: Self.info.trainableCount)
        }
    }

    func parametersChanged() { changes += 1 }
    func synchronizeParameters() { synchronizations += 1 }
    func profileReport() -> String { "" }
}
