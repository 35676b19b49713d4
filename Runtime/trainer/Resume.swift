// --resume DIR: continue the run whose checkpoint DIR holds (CheckpointFolder.swift), exactly: the weights, the
// network's training state (the optimizer's moments, dropout's mask step), the epoch and step, the shuffler (replayed over the
// done epochs and checked against the saved position) and the metrics so far are restored, so that 2 epochs and
// then 1 more give the bits of 3 uninterrupted epochs (same thread count). Everything is checked before
// training starts, each mismatch a one-line error.
import Foundation

/// What last.json records about a checkpoint.
struct ResumePoint {
    /// Complete epochs and optimizer steps taken.
    var epoch: Int
    var steps: Int
    /// The shuffler's position after the last epoch's shuffle (TrainerRandom.state).
    var shuffler: [UInt64]
    /// The best test accuracy so far (nil without a test set).
    var bestAccuracy: Double?
    var settings: [RunSetting]
    var epochs: [EpochMetrics]

    /// last.json's text (CheckpointFolder.format).
    func json(_ info: NetworkInfo, stateNames: (arrays: [String], counters: [String])) -> String {
        let names = { (list: [String]) in "[" + list.map(jsonString).joined(separator: ", ") + "]" }
        let settingsText = settings.map { jsonString($0.name) + ": " + jsonString($0.value) }.joined(separator: ", ")
        let epochsText = epochs.isEmpty ? "[]" : "[\n" + epochs.map { "    " + $0.json }.joined(separator: ",\n") + "\n  ]"
        return """
            {
              "format": \(jsonString(CheckpointFolder.format)),
              "version": 1,
              "network": \(jsonString(info.name)),
              "source": \(jsonString(info.source)),
              "target": \(jsonString(info.target)),
              "table_hash": \(jsonString(parameterTableHash(info))),
              "epoch": \(epoch),
              "step": \(steps),
              "files": {"weights": \(jsonString(CheckpointFolder.weightsName)), \
            "optimizer": \(jsonString(CheckpointFolder.optimizerName))},
              "training_state": {"arrays": \(names(stateNames.arrays)), "counters": \(names(stateNames.counters))},
              "shuffler": [\(shuffler.map { jsonString(String($0, radix: 16)) }.joined(separator: ", "))],
              "best_test_accuracy": \(jsonNumber(bestAccuracy)),
              "settings": {\(settingsText)},
              "epochs": \(epochsText)
            }

            """
    }
}

/// A setting that fixes the course of a run. `exact`: a resumed run must use the same (the data order, the masks
/// and the steps depend on it); otherwise a change is allowed with a warning (the run is no longer the
/// continuation of the original, bit for bit).
struct RunSetting: Equatable {
    let name: String
    let value: String
    let exact: Bool

    /// The settings of this run; `trainSamples` is the training set's size.
    static func of(_ options: Options, trainSamples: Int) -> [RunSetting] {
        [RunSetting(name: "seed", value: String(options.seed), exact: true),
         RunSetting(name: "batch", value: String(options.batch), exact: true),
         RunSetting(name: "shuffle", value: options.shuffle ? "yes" : "no", exact: true),
         RunSetting(name: "augment", value: options.augmentation.description, exact: true),
         RunSetting(name: "train_samples", value: String(trainSamples), exact: true),
         RunSetting(name: "lr", value: "\(options.learningRate)", exact: false),
         RunSetting(name: "optimizer", value: options.optimizer.kind.rawValue, exact: true),
         RunSetting(name: "momentum", value: "\(options.optimizer.momentum)", exact: false),
         RunSetting(name: "beta1", value: "\(options.optimizer.beta1)", exact: false),
         RunSetting(name: "beta2", value: "\(options.optimizer.beta2)", exact: false),
         RunSetting(name: "eps", value: "\(options.optimizer.eps)", exact: false),
         RunSetting(name: "weight_decay", value: "\(options.optimizer.effectiveWeightDecay)", exact: false),
         RunSetting(name: "schedule", value: options.schedule.description, exact: false),
         RunSetting(name: "warmup", value: String(options.warmup), exact: false),
         RunSetting(name: "threads", value: String(options.threads), exact: false)]
    }

    /// How the user gives it (`--batch 16`), for messages.
    var asOption: String {
        switch name {
        case "shuffle": return value == "yes" ? "shuffling" : "--no-shuffle"
        case "train_samples": return "\(value) training samples"
        default: return "--\(name) \(value)"
        }
    }
}

/// FNV-1a over the parameter table (names, offsets, shapes, buffer flags): a checkpoint of another network
/// with the same name, or of an edited one, does not match.
func parameterTableHash(_ info: NetworkInfo) -> String {
    var text = "\(info.parameterCount);"
    for spec in info.parameters {
        text += "\(spec.name):\(spec.offset):\(spec.layout.cnncShape):\(spec.layout.torchShape):\(spec.buffer);"
    }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return String(hash, radix: 16)
}

/// A checkpoint to resume from: its last.json read and checked against the network and the options, and its two
/// safetensors files opened, their headers and steps checked (their tensors are read when the network exists).
struct Resume {
    let folder: CheckpointFolder
    let point: ResumePoint
    let weights: SafetensorsReader
    private let optimizer: SafetensorsReader
    private let stateNames: (arrays: [String], counters: [String])

    init(folder path: String, info: NetworkInfo, options: Options) throws {
        let folder = CheckpointFolder(path: path)  // the nested functions below may not capture self
        self.folder = folder
        let option = "--resume \(path)"
        guard isDirectory(path) else { throw RuntimeError("\(option): no such folder") }
        let stateFile = folder.file(CheckpointFolder.stateName)
        guard FileManager.default.fileExists(atPath: stateFile) else {
            throw RuntimeError("\(option): holds no checkpoint (\(stateFile): no such file)")
        }
        let json: JSONValue
        do {
            json = try parseJSON(try CheckpointFolder.readStateFile(stateFile)[...])
        } catch let error as JSONParseError {
            throw RuntimeError("\(stateFile): invalid JSON: \(error.message) at byte \(error.offset)")
        }
        func bad(_ what: String) -> RuntimeError { RuntimeError("\(stateFile): \(what)") }
        func string(_ key: String, in value: JSONValue? = nil) throws -> String {
            guard case .string(let s)? = (value ?? json)[key] else { throw bad("missing or invalid \"\(key)\"") }
            return s
        }
        func count(_ key: String) throws -> Int {
            guard case .number(let x)? = json[key], let n = Int(exactly: x), n >= 0 else {
                throw bad("missing or invalid \"\(key)\"")
            }
            return n
        }
        func names(_ key: String, in value: JSONValue?) throws -> [String] {
            guard case .array(let items)? = value?[key] else { throw bad("missing or invalid \"training_state\"") }
            return try items.map { item in
                guard case .string(let s) = item else { throw bad("missing or invalid \"training_state\"") }
                return s
            }
        }
        guard try string("format") == CheckpointFolder.format, try count("version") == 1 else {
            throw bad("not a checkpoint of this trainer (format \(CheckpointFolder.format), version 1)")
        }
        let network = try string("network")
        guard network == info.name, try string("table_hash") == parameterTableHash(info) else {
            throw bad(network == info.name ? "a checkpoint of another version of network \(network) (its parameter "
                        + "table differs)" : "a checkpoint of network \(network), not of \(info.name)")
        }
        let epoch = try count("epoch"), steps = try count("step")
        guard epoch >= 1, steps >= 1 else { throw bad("epoch \(epoch) and step \(steps): expected at least 1") }
        guard epoch <= options.epochs else {
            throw RuntimeError("\(option): the checkpoint was taken after epoch \(epoch), beyond --epochs "
                + "\(options.epochs); give --epochs \(epoch) or more")
        }
        let files = json["files"]
        guard try string("weights", in: files) == CheckpointFolder.weightsName,
              try string("optimizer", in: files) == CheckpointFolder.optimizerName else {
            throw bad("\"files\" names other files than \(CheckpointFolder.weightsName) and \(CheckpointFolder.optimizerName)")
        }
        stateNames = (try names("arrays", in: json["training_state"]), try names("counters", in: json["training_state"]))
        guard case .array(let words)? = json["shuffler"], words.count == 4 else { throw bad("missing or invalid \"shuffler\"") }
        let shuffler = try words.map { word -> UInt64 in
            guard case .string(let hex) = word, let value = UInt64(hex, radix: 16) else { throw bad("invalid \"shuffler\"") }
            return value
        }
        var bestAccuracy: Double? = nil
        switch json["best_test_accuracy"] {
        case .number(let x)?: bestAccuracy = x
        case .null?: break
        default: throw bad("missing or invalid \"best_test_accuracy\"")
        }
        guard case .object(let members)? = json["settings"] else { throw bad("missing or invalid \"settings\"") }
        let now = RunSetting.of(options, trainSamples: 0)
        var settings: [RunSetting] = []
        for setting in now {
            guard case .string(let value)? = members.first(where: { $0.key == setting.name })?.value else {
                throw bad("missing or invalid setting \"\(setting.name)\"")
            }
            settings.append(RunSetting(name: setting.name, value: value, exact: setting.exact))
        }
        guard case .array(let epochItems)? = json["epochs"] else { throw bad("missing or invalid \"epochs\"") }
        let epochs = try epochItems.map { try Self.epochMetrics($0, bad) }
        guard epochs.map(\.epoch) == Array(1...epoch) else { throw bad("\"epochs\" does not list epochs 1 to \(epoch)") }
        point = ResumePoint(epoch: epoch, steps: steps, shuffler: shuffler, bestAccuracy: bestAccuracy,
                            settings: settings, epochs: epochs)
        try Self.compare(settings, now, option: option, samples: false)

        // The files it names: complete (SafetensorsReader checks the header), ours, and of the same step.
        func open(_ name: String, _ marker: String) throws -> SafetensorsReader {
            let file = folder.file(name)
            guard FileManager.default.fileExists(atPath: file) else { throw RuntimeError("\(file): no such file") }
            let reader = try SafetensorsReader(path: file)
            guard reader.metadata[CheckpointFolder.markerKey] == marker else {
                throw RuntimeError("\(file): not a checkpoint file of this trainer (no \(CheckpointFolder.markerKey) "
                    + "\(marker) in its metadata)")
            }
            guard reader.metadata["step"] == String(steps) else {
                throw RuntimeError("\(option): \(file) is from step \(reader.metadata["step"] ?? "?") but \(stateFile) "
                    + "from step \(steps): the trainer was stopped while writing this checkpoint; start from its weights "
                    + "with --load \(folder.file(CheckpointFolder.weightsName)) (a fresh optimizer)")
            }
            return reader
        }
        optimizer = try open(CheckpointFolder.optimizerName, "optimizer")
        weights = try open(CheckpointFolder.weightsName, "last")
    }

    /// An epoch of last.json's "epochs" (EpochMetrics.json).
    private static func epochMetrics(_ value: JSONValue, _ bad: (String) -> RuntimeError) throws -> EpochMetrics {
        func number(_ key: String, optional: Bool = false) throws -> Double? {
            switch value[key] {
            case .number(let x)?: return x
            case .null? where optional: return nil
            default: throw bad("an epoch's \"\(key)\" is missing or invalid")
            }
        }
        guard let epoch = Int(exactly: try number("epoch")!) else { throw bad("an epoch's \"epoch\" is invalid") }
        return EpochMetrics(epoch: epoch, loss: try number("loss")!, trainAccuracy: try number("train_accuracy")!,
                            testAccuracy: try number("test_accuracy", optional: true),
                            testLoss: try number("test_loss", optional: true), seconds: try number("seconds")!,
                            imagesPerSecond: try number("images_per_second")!, learningRate: try number("lr")!)
    }

    /// Refuses a setting that must match (`samples`: only the training set's size, known once the data is read;
    /// otherwise all others) and warns about one that may change.
    private static func compare(_ saved: [RunSetting], _ now: [RunSetting], option: String, samples: Bool) throws {
        for (was, new) in zip(saved, now) where (was.name == "train_samples") == samples && was.value != new.value {
            guard !was.exact else {
                throw RuntimeError("\(option): the checkpoint was trained with \(was.asOption), this run has "
                    + "\(new.asOption); give the same to continue it")
            }
            Console.err("warning: \(option): the checkpoint was trained with \(was.asOption), this run has "
                + "\(new.asOption): it continues, but not as the uninterrupted run would have\n")
        }
    }

    /// Checks the training set's size (the shuffles and the steps per epoch depend on it) once the data is read.
    func checkData(trainSamples: Int, options: Options) throws {
        try Self.compare(point.settings, RunSetting.of(options, trainSamples: trainSamples),
                         option: "--resume \(folder.path)", samples: true)
    }

    /// The training state in the optimizer file, checked against the names and sizes `network` holds.
    func trainingState<N: TrainableNetwork>(for network: N) throws -> TrainingState {
        let expected = network.trainingStateNames
        let file = optimizer.path
        guard stateNames.arrays == expected.arrays, stateNames.counters == expected.counters else {
            throw RuntimeError("\(file): holds the training state \((stateNames.arrays + stateNames.counters).joined(separator: ", ")), "
                + "this trainer keeps \((expected.arrays + expected.counters).joined(separator: ", "))")
        }
        let n = N.info.trainableCount
        guard Set(optimizer.entries.keys) == Set(expected.arrays) else {
            throw RuntimeError("\(file): holds the tensors \(optimizer.entries.keys.sorted().joined(separator: ", ")), "
                + "expected \(expected.arrays.joined(separator: ", "))")
        }
        var state = TrainingState(arrays: [], counters: [])
        for name in expected.arrays {
            guard let entry = optimizer.entries[name], entry.dtype == "F32", entry.shape == [n] else {
                throw RuntimeError("\(file): tensor \(name) is not F32 of shape [\(n)]")
            }
            state.arrays.append((name, try optimizer.floats(name)))
        }
        for name in expected.counters {
            guard let text = optimizer.metadata["counter." + name], let value = Int64(text), value >= 0,
                  value <= Int64(UInt32.max) else {
                throw RuntimeError("\(file): missing or invalid counter \(name) in its metadata")
            }
            state.counters.append((name, value))
        }
        return state
    }
}
