// The command line: hand-written parsing of `--name VALUE` / `--name=VALUE` options, checks, --help and
// --version. Every error it finds is a UsageError (exit status 64, CommandLineConventions.swift).
import Foundation

struct Options {
    var dataPath: String? = nil
    var testDataPath: String? = nil
    var testSplit: Double? = nil
    var limit: Int? = nil
    var epochs: Int
    var batch: Int
    var learningRate: Float
    /// The optimizer (`train` statement, or --optimizer/--momentum/--beta1/--beta2/--eps/--weight-decay).
    var optimizer: OptimizerSettings
    /// --optimizer and its values as given, resolved against the defaults at the end of parsing.
    var optimizerFlags = OptimizerFlags()
    var seed: UInt64
    /// The learning-rate schedule and warm-up steps (`train` statement, or --schedule/--step-size/--gamma/--warmup).
    var schedule: TrainerSchedule
    var warmup: Int
    var augmentation: Augmentation
    /// --schedule, --step-size and --gamma as given, resolved against the defaults at the end of parsing.
    var scheduleName: String? = nil
    var stepSize: Int? = nil
    var gamma: Double? = nil
    var steps: Int? = nil
    var shuffle = true
    var threads = ProcessInfo.processInfo.activeProcessorCount
    /// --chunks: each batch's gradient as this many chunks added in order (DataParallel.swift); nil: one, or one
    /// per MPI rank.
    var chunks: Int? = nil
    var loadPath: String? = nil
    var savePath: String? = nil
    var metricsPath: String? = nil
    /// --checkpoint-dir (CheckpointFolder.swift) and --resume (Resume.swift); --resume alone implies the first.
    var checkpointDir: String? = nil
    var resumePath: String? = nil
    var plotPath: String? = nil
    var profile = false
    var dumpGradientsPath: String? = nil
    var device: Int? = nil
    var listDevices = false
    var followSymlinks = false
    var saveOnNaN = false
    var help = false
    var version = false

    /// No options given: the network's training defaults.
    init(defaults: TrainingDefaults) {
        epochs = defaults.epochs
        batch = defaults.batch
        learningRate = defaults.learningRate
        optimizer = defaults.optimizer
        seed = defaults.seed
        schedule = defaults.schedule
        warmup = defaults.warmup
        augmentation = defaults.augmentation
    }
}

/// One of train's options (CommandLineOptions.swift).
private typealias OptionDefinition = CommandLineOption<Options>

func wholeNumber(_ option: String, _ text: String, atLeast minimum: Int, atMost maximum: Int = Int.max) throws -> Int {
    guard let n = Int(text) else { throw RuntimeError("\(option) \(text): not a whole number") }
    guard n >= minimum else { throw RuntimeError("\(option) \(text): must be at least \(minimum)") }
    guard n <= maximum else { throw RuntimeError("\(option) \(text): must be at most \(maximum)") }
    return n
}

private func realNumber(_ option: String, _ text: String) throws -> Double {
    guard let x = Double(text), x.isFinite else { throw RuntimeError("\(option) \(text): not a finite number") }
    return x
}

/// A momentum or decay rate: at least 0 and below 1 as a 32-bit float.
private func fraction(_ option: String, _ text: String) throws -> Float {
    let x = try realNumber(option, text)
    guard x >= 0, Float(x) < 1 else { throw RuntimeError("\(option) \(text): must be at least 0 and below 1") }
    return Float(x)
}

/// The optimizer flags as given; nil: not given.
struct OptimizerFlags {
    var kind: OptimizerKind? = nil
    var momentum: Float? = nil
    var beta1: Float? = nil
    var beta2: Float? = nil
    var eps: Float? = nil
    var weightDecay: Float? = nil
}

/// The optimizer from the flags over the network's: a value of another optimizer (--momentum with adam, --beta1
/// with sgd) is an error, not ignored. A change of kind keeps the network's values of the new kind.
private func resolveOptimizer(_ options: inout Options, defaults: TrainingDefaults) throws {
    let flags = options.optimizerFlags
    var o = defaults.optimizer
    if let kind = flags.kind, kind != o.kind {
        o.kind = kind
        if defaults.optimizer.weightDecay == nil || (kind == .adamw) != (defaults.optimizer.kind == .adamw) {
            o.weightDecay = nil  // the new kind's default: adamw's 0.01 is not adam's 0
        }
    }
    let sgdOnly = [("--momentum", flags.momentum != nil)]
    let adamOnly = [("--beta1", flags.beta1 != nil), ("--beta2", flags.beta2 != nil), ("--eps", flags.eps != nil)]
    for (name, given) in o.kind == .sgd ? adamOnly : sgdOnly where given {
        throw RuntimeError("\(name) does not apply to the \(o.kind.rawValue) optimizer"
                           + (o.kind == .sgd ? " (it is adam's and adamw's)" : " (it is sgd's)"))
    }
    if let x = flags.momentum { o.momentum = x }
    if let x = flags.beta1 { o.beta1 = x }
    if let x = flags.beta2 { o.beta2 = x }
    if let x = flags.eps { o.eps = x }
    if let x = flags.weightDecay { o.weightDecay = x }
    options.optimizer = o
}

/// As `Limits.maxBatch` in cnnc: the generated code's size arithmetic was checked for batches up to this.
let maximumBatch = 1_000_000
let maximumThreads = 1024

/// Every option, its help naming the network's `defaults`.
private func optionDefinitions(_ defaults: TrainingDefaults) -> [OptionDefinition] { [
    OptionDefinition(name: "--data", value: "PATH", help: "training data: a folder of MNIST-style IDX files, "
                     + "a folder of class subfolders of PNG images, "
                     + "a CIFAR-10 binary folder (data_batch_N.bin, test_batch.bin) or .bin file, or a CSV file "
                     + "(values in H,W,C order, then the label); any file optionally .gz") {
        $0.dataPath = $1
    },
    OptionDefinition(name: "--test-data", value: "PATH", help: "separate test set (CSV file or IDX folder)") {
        $0.testDataPath = $1
    },
    OptionDefinition(name: "--test-split", value: "F",
                     help: "hold out the last fraction F (0 < F < 1) of the training data as the test set") {
        let f = try realNumber("--test-split", $1)
        guard f > 0, f < 1 else { throw RuntimeError("--test-split \($1): must be between 0 and 1 (exclusive)") }
        $0.testSplit = f
    },
    OptionDefinition(name: "--limit", value: "N", help: "use only the first N training samples (default: all)") {
        $0.limit = try wholeNumber("--limit", $1, atLeast: 1, atMost: 1 << 40)
    },
    OptionDefinition(name: "--epochs", value: "N",
                     help: "passes over the training data (default \(defaults.epochs); 0: evaluate only)") {
        $0.epochs = try wholeNumber("--epochs", $1, atLeast: 0, atMost: 1_000_000)
    },
    OptionDefinition(name: "--batch", value: "N", help: "samples per optimizer step (default \(defaults.batch))") {
        $0.batch = try wholeNumber("--batch", $1, atLeast: 1, atMost: maximumBatch)
    },
    OptionDefinition(name: "--lr", value: "X", help: "learning rate (default \(defaults.learningRate))") {
        let x = try realNumber("--lr", $1)
        let rate = Float(x)
        guard x > 0, rate > 0, rate.isFinite else {
            throw RuntimeError("--lr \($1): must be a positive number that a 32-bit float can hold")
        }
        $0.learningRate = rate
    },
    OptionDefinition(name: "--optimizer", value: "NAME",
                     help: "sgd, adam or adamw, as PyTorch's (default \(defaults.optimizer.kind.rawValue))") {
        guard let kind = OptimizerKind(rawValue: $1) else {
            throw RuntimeError("--optimizer \($1): must be sgd, adam or adamw")
        }
        $0.optimizerFlags.kind = kind
    },
    OptionDefinition(name: "--momentum", value: "X",
                     help: "sgd's momentum, at least 0 and below 1 (default \(defaults.optimizer.momentum))") {
        $0.optimizerFlags.momentum = try fraction("--momentum", $1)
    },
    OptionDefinition(name: "--beta1", value: "X",
                     help: "adam's first-moment decay, in [0, 1) (default \(defaults.optimizer.beta1))") {
        $0.optimizerFlags.beta1 = try fraction("--beta1", $1)
    },
    OptionDefinition(name: "--beta2", value: "X",
                     help: "adam's second-moment decay, in [0, 1) (default \(defaults.optimizer.beta2))") {
        $0.optimizerFlags.beta2 = try fraction("--beta2", $1)
    },
    OptionDefinition(name: "--eps", value: "X", help: "adam's denominator term (default \(defaults.optimizer.eps))") {
        let x = try realNumber("--eps", $1)
        guard x > 0, Float(x).isNormal else { throw RuntimeError("--eps \($1): must be a positive normal 32-bit float") }
        $0.optimizerFlags.eps = Float(x)
    },
    OptionDefinition(name: "--weight-decay", value: "X",
                     help: "weight decay of every trainable parameter (default \(defaults.optimizer.effectiveWeightDecay);"
                        + " adamw's 0.01)") {
        let x = try realNumber("--weight-decay", $1)
        guard x >= 0, Float(x).isFinite else { throw RuntimeError("--weight-decay \($1): must be at least 0") }
        $0.optimizerFlags.weightDecay = Float(x)
    },
    OptionDefinition(name: "--seed", value: "N",
                     help: "random seed for initial weights and shuffling (default \(defaults.seed))") {
        guard let seed = UInt64($1) else { throw RuntimeError("--seed \($1): not a whole number in 0...\(UInt64.max)") }
        $0.seed = seed
    },
    OptionDefinition(name: "--schedule", value: "NAME",
                     help: "learning rate after warm-up: constant, step or cosine (default \(defaults.schedule.description))") {
        guard ["constant", "step", "cosine"].contains($1) else {
            throw RuntimeError("--schedule \($1): must be constant, step or cosine")
        }
        $0.scheduleName = $1
    },
    OptionDefinition(name: "--warmup", value: "N",
                     help: "optimizer steps of linear warm-up to --lr (default \(defaults.warmup))") {
        $0.warmup = try wholeNumber("--warmup", $1, atLeast: 0, atMost: 1 << 40)
    },
    OptionDefinition(name: "--step-size", value: "E", help: "with --schedule step: epochs between decays") {
        $0.stepSize = try wholeNumber("--step-size", $1, atLeast: 1, atMost: 1_000_000)
    },
    OptionDefinition(name: "--gamma", value: "X", help: "with --schedule step: the decay factor (default 0.1)") {
        let x = try realNumber("--gamma", $1)
        guard x > 0, x <= 1, Float(x).isNormal else { throw RuntimeError("--gamma \($1): must be in (0, 1]") }
        $0.gamma = x
    },
    OptionDefinition(name: "--augment", value: "SPEC",
                     help: "change training samples: none, or hflip and/or crop=P, comma-separated "
                         + "(default \(defaults.augmentation.description))") {
        $0.augmentation = try Augmentation(parsing: $1, maximumCrop: 1 << 16)
    },
    OptionDefinition(name: "--steps", value: "N", help: "stop after N optimizer steps in total (default: no limit)") {
        $0.steps = try wholeNumber("--steps", $1, atLeast: 1, atMost: 1 << 40)
    },
    OptionDefinition(name: "--no-shuffle", value: nil,
                     help: "train on the samples in file order (default: shuffle every epoch)") { o, _ in
        o.shuffle = false
    },
    OptionDefinition(name: "--threads", value: "N", help: "worker threads (default: the active processor count, "
                     + "here \(ProcessInfo.processInfo.activeProcessorCount))") {
        $0.threads = try wholeNumber("--threads", $1, atLeast: 1, atMost: maximumThreads)
    },
    OptionDefinition(name: "--chunks", value: "K",
                     help: "compute each batch's gradient as K equal chunks added in order (cpu target; default: 1, "
                         + "or the number of MPI ranks); the weights depend on K, not on how many ranks share the "
                         + "chunks, so mpirun -np 1, 2 or 4 with the same K give the same bits; K must divide --batch") {
        $0.chunks = try wholeNumber("--chunks", $1, atLeast: 1, atMost: 1 << 16)
    },
    OptionDefinition(name: "--load", value: "FILE",
                     help: "start from saved weights (safetensors; default: initialise from the seed)") {
        $0.loadPath = $1
    },
    OptionDefinition(name: "--save", value: "FILE", help: "write the weights after training (safetensors, PyTorch layout)") {
        $0.savePath = $1
    },
    OptionDefinition(name: "--checkpoint-dir", value: "DIR",
                     help: "after every epoch write last.safetensors (weights), last.optim.safetensors (momentum), "
                         + "last.json (epoch, shuffling, metrics) and, when the test accuracy improves, "
                         + "best.safetensors to DIR (created if missing)") {
        $0.checkpointDir = $1
    },
    OptionDefinition(name: "--resume", value: "DIR",
                     help: "continue the run checkpointed in DIR exactly where its last epoch ended (same --seed, "
                         + "--batch, data); --epochs counts all epochs, so a finished run is only evaluated; "
                         + "checkpoints go on to DIR unless --checkpoint-dir says otherwise") {
        $0.resumePath = $1
    },
    OptionDefinition(name: "--metrics", value: "FILE",
                     help: "write per-epoch and final metrics as JSON (rewritten after every epoch)") {
        $0.metricsPath = $1
    },
    OptionDefinition(name: "--plot", value: "FILE.svg",
                     help: "draw train/test loss and accuracy per epoch as SVG (rewritten after every epoch)") {
        $0.plotPath = $1
    },
    OptionDefinition(name: "--follow-symlinks", value: nil,
                     help: "write an output that is a symbolic link to its target (default: refuse)") { o, _ in
        o.followSymlinks = true
    },
    OptionDefinition(name: "--save-on-nan", value: nil,
                     help: "save the weights even when the loss became nan or inf (default: save nothing)") { o, _ in
        o.saveOnNaN = true
    },
    OptionDefinition(name: "--profile", value: nil, help: "time the network's kernels and print a report after training") {
        o, _ in o.profile = true
    },
    OptionDefinition(name: "--dump-gradients", value: "FILE",
                     help: "write the gradients of the first batch (file order) as safetensors and exit") {
        $0.dumpGradientsPath = $1
    },
    OptionDefinition(name: "--device", value: "N", help: "run on device N of --list-devices (default: the best one)") {
        $0.device = try wholeNumber("--device", $1, atLeast: 0)
    },
    OptionDefinition(name: "--list-devices", value: nil, help: "list the devices this trainer can run on and exit") { o, _ in
        o.listDevices = true
    },
    OptionDefinition(name: "--help", value: nil, help: "show this help") { o, _ in o.help = true },
    OptionDefinition(name: "--version", value: nil, help: "print the network's name and the cnnc that generated it") {
        o, _ in o.version = true
    },
] }

/// The --help text.
func usageText(_ info: NetworkInfo) -> String {
    var lines = [
        "usage: train --data PATH [options]",
        "Trains the network \(info.name) (\(info.source), target \(info.target)): input "
            + "\(info.sampleLayout.inputDescription), \(info.classes) classes, \(info.parameterCount) parameters.",
        "",
        "options:",
    ]
    lines += optionHelpLines(optionDefinitions(info.defaults))
    return lines.joined(separator: "\n") + "\n\n" + ExitStatus.helpText(interruptible: true)
}

/// The schedule from --schedule/--step-size/--gamma over the network's default: a step size or gamma given for
/// another schedule is an error, not ignored.
private func resolveSchedule(_ options: inout Options, defaults: TrainingDefaults) throws {
    var every: Int? = nil, gamma = 0.1
    if case let .step(e, g) = defaults.schedule { every = e; gamma = g }
    let name = options.scheduleName ?? {
        switch defaults.schedule {
        case .constant: return "constant"
        case .step: return "step"
        case .cosine: return "cosine"
        }
    }()
    guard name == "step" else {
        if options.stepSize != nil || options.gamma != nil {
            throw RuntimeError("--\(options.stepSize != nil ? "step-size" : "gamma") applies only to --schedule step "
                + "(the schedule is \(name))")
        }
        options.schedule = name == "cosine" ? .cosine : .constant
        return
    }
    guard let size = options.stepSize ?? every else {
        throw RuntimeError("--schedule step needs --step-size E, the epochs between decays")
    }
    options.schedule = .step(every: size, gamma: options.gamma ?? gamma)
}

/// Parses the arguments (without the program name) and checks combinations; what is not given is `defaults`.
/// Every error is a `UsageError`: the command line cannot be run as written (unknown option, missing or bad
/// value, options that exclude each other, no --data).
func parseOptions(_ arguments: [String], defaults: TrainingDefaults) throws -> Options {
    do {
        return try parseTrainOptions(arguments, defaults: defaults)
    } catch let error as RuntimeError {
        throw UsageError(error.message)
    }
}

private func parseTrainOptions(_ arguments: [String], defaults: TrainingDefaults) throws -> Options {
    let optionDefinitions = optionDefinitions(defaults)
    var options = Options(defaults: defaults)
    try parseCommandLine(arguments, into: &options, table: optionDefinitions) { _, argument in
        throw RuntimeError("unexpected argument '\(argument)' (options start with --; see --help)")
    }
    if options.help || options.version || options.listDevices { return options }
    try resolveSchedule(&options, defaults: defaults)
    try resolveOptimizer(&options, defaults: defaults)
    guard options.dataPath != nil else { throw RuntimeError("no training data: give --data PATH (see --help)") }
    if options.resumePath != nil && options.loadPath != nil {
        throw RuntimeError("--resume and --load both give the starting weights; use one")
    }
    if options.dumpGradientsPath != nil, let option = options.resumePath != nil ? "--resume" :
        options.checkpointDir != nil ? "--checkpoint-dir" : nil {
        throw RuntimeError("\(option) applies to training, not to --dump-gradients")
    }
    if options.checkpointDir == nil { options.checkpointDir = options.resumePath }
    if options.testSplit != nil && options.testDataPath != nil {
        throw RuntimeError("--test-split and --test-data both give a test set; use one")
    }
    return options
}
