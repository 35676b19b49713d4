// The contract between this runtime and a network (Docs/generated-package.md): a static description of the
// network (`NetworkInfo`) and the calls of one training step (`TrainableNetwork`). The runtime is generic over it
// and never names a generated type: the generated package's main.swift is its only binding, and cnnc's own tests
// run the runtime on a network they write by hand.

/// The defaults of the network's `train` and `augment` statements, overridden by --epochs, --batch, --lr,
/// --optimizer, --momentum, --beta1, --beta2, --eps, --weight-decay, --seed, --schedule, --warmup, --step-size,
/// --gamma and --augment.
struct TrainingDefaults: Sendable {
    let epochs: Int
    let batch: Int
    let learningRate: Float
    var optimizer = OptimizerSettings()
    let seed: UInt64
    var schedule: TrainerSchedule = .constant
    var warmup: Int = 0
    var augmentation = Augmentation()
}

/// The 64-bit --seed folded to the 32 bits of the masks' key (both halves count).
func maskSeed(_ seed: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: seed ^ (seed >> 32)) }

/// What a network is before any instance of it exists: its provenance, what it reads and predicts, its
/// parameter table (names, layouts, offsets, initializers) and its training defaults.
struct NetworkInfo: Sendable {
    /// The `net` name (`"mnist002"`), the source file's name (`"mnist002.cnn"`), the target (`"cpu"`, `"vulkan"`).
    let name: String
    let source: String
    let target: String
    /// The version of the cnnc that generated the network (`CNNCVersion.current`), for `--version`.
    let cnncVersion: String
    /// One sample: `inputH * inputW * inputC` raw values in H,W,C order (the network applies `scale` and `normalize`).
    let inputH: Int, inputW: Int, inputC: Int
    /// Labels lie in `0..<classes`; the probabilities are `[count][classes]`.
    let classes: Int
    /// Floats in `parameters` (and in `gradients`); every `ParamSpec` lies inside, anything else stays zero.
    let parameterCount: Int
    /// Every learnable tensor in source (= checkpoint) order, with its offset in the network's `parameters`.
    let parameters: [ParamSpec]
    let defaults: TrainingDefaults

    /// The trainable parameters are the first `trainableCount` floats of `parameters` (the optimizer's range);
    /// buffers (batchnorm's running statistics) lie after them.
    var trainableCount: Int { parameters.filter { !$0.buffer }.map { $0.offset + $0.count }.max() ?? 0 }

    /// What the data readers check every data set against.
    var sampleLayout: SampleLayout {
        SampleLayout(height: inputH, width: inputW, channels: inputC, classes: classes, network: name)
    }
}

/// The state of training held by a network besides its parameters, by name: arrays of `info.parameterCount`
/// floats in cnnc layout (the optimizer's: SGD's momentum; Adam would add its two moments here) and counters
/// (dropout's mask step: the training steps its masks are keyed by; Adam would add its step count t).
struct TrainingState {
    var arrays: [(name: String, values: [Float])]
    var counters: [(name: String, value: Int64)]
}

/// A network the runtime can train: one instance holds the buffers for batches of up to `maxBatch` samples.
/// The generated `Network` of each target conforms (CPU: Network.swift; Vulkan: `VulkanNetwork<NetInfo>`).
protocol TrainableNetwork: AnyObject {
    static var info: NetworkInfo { get }
    /// `--list-devices`: the devices this target can run on, numbered as `--device` takes them.
    static func deviceList() throws -> String
    /// The bytes `init` allocates for `maxBatch` and `threads`; the trainer compares it with the available memory
    /// before it reads any data.
    static func memoryBytes(maxBatch: Int, threads: Int) -> Int

    /// `device`: --device N, nil for the default. Fails with a `RuntimeError` (no such device, batch too large).
    init(maxBatch: Int, threads: Int, device: Int?) throws

    /// `info.parameterCount` floats each, in cnnc layout at the offsets of `info.parameters`.
    var parameters: UnsafeMutablePointer<Float> { get }
    /// The mean-over-batch gradient of the last `computeGradients` (valid after `synchronizeParameters`).
    var gradients: UnsafeMutablePointer<Float> { get }
    /// `[count][classes]`: the softmax output of the last forward pass.
    var probabilities: UnsafeMutablePointer<Float> { get }
    /// Whether steps are timed for `profileReport`.
    var profilingEnabled: Bool { get set }

    /// Forward, loss and backward on `count` samples (1...maxBatch): `images` holds `count` samples as
    /// `info` describes them, `labels` `count` labels in `0..<classes`. Returns the summed loss and hits.
    func computeGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult
    /// Forward and loss only.
    func evaluate(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult
    /// One step of optimizer `kind` on the last gradients, with this step's `values` (OptimizerSettings.values):
    /// PyTorch's SGD, Adam or AdamW over the trainable parameters.
    func applyUpdate(_ values: OptimizerValues, kind: OptimizerKind)
    /// Keys the masks of `dropout` layers: those of the s-th `computeGradients` after this call (s from 0) are a
    /// function of (seed, s) and the element alone, the same on every target and thread count. The trainer calls it
    /// with `maskSeed(--seed)` before the first step; `evaluate` neither draws masks nor counts a step.
    func seedMasks(_ seed: UInt32)
    /// Zeroes the optimizer's state (a fresh optimizer).
    func resetOptimizer()
    /// The names of the arrays and counters `trainingState()` returns (fixed for an instance): the optimizer's
    /// `["moment1", "moment2"]` (sgd's momentum buffer and zeros; adam's exp_avg and exp_avg_sq) and dropout's
    /// `["mask_step"]`. Checkpoints (Resume.swift) store them under these names.
    var trainingStateNames: (arrays: [String], counters: [String]) { get }
    /// Everything besides `parameters` that the next steps depend on (after any deferred update took effect):
    /// the optimizer's arrays and the step counters. Writing it back with `restoreTrainingState` after loading
    /// the parameters continues training exactly where it was read (--checkpoint-dir, --resume). Adam's step count
    /// is the trainer's (its steps so far), saved with the checkpoint's position.
    func trainingState() -> TrainingState
    /// Replaces the optimizer's arrays and the counters; `state` holds exactly `trainingStateNames`, each array
    /// `info.trainableCount` floats (the caller checked both).
    func restoreTrainingState(_ state: TrainingState)
    /// Called after `parameters` was written from outside (initialisation, checkpoint load).
    func parametersChanged()
    /// Called before `parameters` or `gradients` is read from outside (save, gradient dump).
    func synchronizeParameters()
    /// Per-kernel times of the profiled steps (empty when there is nothing to report).
    func profileReport() -> String
}
