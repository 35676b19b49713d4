// The predict tool's command line: `predict --load W.safetensors [--data PATH | IMAGE ...] [--top K] [--format F]`.
// A wrong command line is a `UsageError` (exit status 64, CommandLineConventions.swift); everything else a
// RuntimeError (exit status 1).

/// How predictions are printed.
enum PredictFormat: String, CaseIterable {
    /// `INPUT: CLASS PROBABILITY ...` per input, then `accuracy ...` when the data has labels.
    case text
    /// One JSON document: the inputs' predictions, then the accuracy.
    case json
    /// One header row and one row per input; the accuracy line goes to stderr.
    case csv
}

struct PredictOptions {
    var loadPath: String? = nil
    var dataPath: String? = nil
    /// Image files (.png, .pgm) given as arguments.
    var images: [String] = []
    var top: Int? = nil
    var format = PredictFormat.text
    var batch = 64
    var threads = 1
    var device: Int? = nil
    var help = false
    var version = false
}

/// The options predict takes, for a network of `classes` classes (CommandLineOptions.swift).
private func predictOptionTable(classes: Int) -> [CommandLineOption<PredictOptions>] { [
    CommandLineOption(name: "--load", value: "FILE",
                      help: "the weights: a safetensors checkpoint of train --save, or a PyTorch state_dict (required)") {
        $0.loadPath = $1
    },
    CommandLineOption(name: "--data", value: "PATH",
                      help: "a labelled data set as train reads it: an MNIST-style IDX folder (its t10k test files, "
                          + "else its train files), a CIFAR-10 folder or .bin file, a CSV file, or a folder of class "
                          + "subfolders of PNG images; prints the accuracy too") {
        $0.dataPath = $1
    },
    CommandLineOption(name: "--top", value: "K",
                      help: "print the K most likely classes per input (default: 5, or all when fewer)") {
        $0.top = try wholeNumber("--top", $1, atLeast: 1, atMost: classes)
    },
    CommandLineOption(name: "--format", value: "F", help: "text (default), json or csv") {
        guard let format = PredictFormat(rawValue: $1) else {
            throw RuntimeError("--format \($1): expected one of "
                + PredictFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        $0.format = format
    },
    CommandLineOption(name: "--batch", value: "N", help: "images per forward pass (default 64)") {
        $0.batch = try wholeNumber("--batch", $1, atLeast: 1, atMost: maximumBatch)
    },
    CommandLineOption(name: "--threads", value: "N", help: "worker threads (default 1)") {
        $0.threads = try wholeNumber("--threads", $1, atLeast: 1, atMost: maximumThreads)
    },
    CommandLineOption(name: "--device", value: "N",
                      help: "run on device N of train --list-devices (default: the best one)") {
        $0.device = try wholeNumber("--device", $1, atLeast: 0)
    },
    CommandLineOption(name: "--version", value: nil, help: "print the network's name and the cnnc that generated it") {
        o, _ in o.version = true
    },
    CommandLineOption(name: "--help", value: nil, help: "show this help") { o, _ in o.help = true },
] }

/// The --help text.
func predictUsageText(_ info: NetworkInfo) -> String {
    var lines = [
        "usage: predict --load W.safetensors (--data PATH | IMAGE.png|IMAGE.pgm ...) [options]",
        "Classifies images with the network \(info.name) (\(info.source), target \(info.target)): input "
            + "\(info.sampleLayout.inputDescription), \(info.classes) classes. Images must have the input's size; "
            + "PNG and PGM (P5 or P2, 8-bit) files are converted to its channels as train converts PNG images.",
        "",
        "options:",
    ]
    lines += optionHelpLines(predictOptionTable(classes: info.classes))
    return lines.joined(separator: "\n") + "\n\n" + ExitStatus.helpText(interruptible: false)
}

/// Parses predict's arguments (without the program name) for a network of `classes` classes.
func parsePredictOptions(_ arguments: [String], classes: Int) throws -> PredictOptions {
    var options = PredictOptions()
    do {
        try parseCommandLine(arguments, into: &options, table: predictOptionTable(classes: classes)) { options, argument in
            guard !argument.hasPrefix("-") || argument == "-" else {
                throw RuntimeError("unknown option \(argument); see --help")
            }
            options.images.append(argument)
        }
    } catch let error as RuntimeError {
        throw UsageError(error.message)
    }
    if options.help || options.version { return options }
    guard options.loadPath != nil else { throw UsageError("no weights: give --load W.safetensors (see --help)") }
    if options.dataPath != nil && !options.images.isEmpty {
        throw UsageError("give either --data PATH or image files, not both")
    }
    guard options.dataPath != nil || !options.images.isEmpty else {
        throw UsageError("nothing to classify: give --data PATH or image files (see --help)")
    }
    return options
}
