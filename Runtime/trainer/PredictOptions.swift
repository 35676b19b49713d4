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

/// The options predict takes: name, value placeholder (nil for a flag) and help.
private let predictOptionTable: [(name: String, value: String?, help: String)] = [
    ("--load", "FILE", "the weights: a safetensors checkpoint of train --save, or a PyTorch state_dict (required)"),
    ("--data", "PATH", "a labelled data set as train reads it: an MNIST-style IDX folder (its t10k test files, "
        + "else its train files), a CIFAR-10 folder or .bin file, a CSV file, or a folder of class subfolders of "
        + "PNG images; prints the accuracy too"),
    ("--top", "K", "print the K most likely classes per input (default: 5, or all when fewer)"),
    ("--format", "F", "text (default), json or csv"),
    ("--batch", "N", "images per forward pass (default 64)"),
    ("--threads", "N", "worker threads (default 1)"),
    ("--device", "N", "run on device N of train --list-devices (default: the best one)"),
    ("--version", nil, "print the network's name and the cnnc that generated it"),
    ("--help", nil, "show this help"),
]

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
    let width = predictOptionTable.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
    for option in predictOptionTable {
        let left = option.name + (option.value.map { " " + $0 } ?? "")
        lines.append("  " + left.padding(toLength: width + 2, withPad: " ", startingAt: 0) + option.help)
    }
    return lines.joined(separator: "\n") + "\n\n" + ExitStatus.helpText(interruptible: false)
}

/// Parses predict's arguments (without the program name) for a network of `classes` classes.
func parsePredictOptions(_ arguments: [String], classes: Int) throws -> PredictOptions {
    var options = PredictOptions()
    func number(_ name: String, _ text: String, atMost maximum: Int, atLeast minimum: Int = 1) throws -> Int {
        do { return try wholeNumber(name, text, atLeast: minimum, atMost: maximum) } catch let e as RuntimeError {
            throw UsageError(e.message)
        }
    }
    var i = 0
    while i < arguments.count {
        let argument = arguments[i]
        i += 1
        if argument == "-h" { options.help = true; continue }
        guard argument.hasPrefix("--"), argument.count > 2 else {
            guard !argument.hasPrefix("-") || argument == "-" else {
                throw UsageError("unknown option \(argument); see --help")
            }
            options.images.append(argument)
            continue
        }
        var name = argument, inline: String? = nil
        if let equals = argument.firstIndex(of: "=") {
            name = String(argument[..<equals])
            inline = String(argument[argument.index(after: equals)...])
        }
        guard let option = predictOptionTable.first(where: { $0.name == name }) else {
            let nearest = predictOptionTable.min { editDistance($0.name, name) < editDistance($1.name, name) }!
            let close = editDistance(nearest.name, name) <= max(2, name.count / 3)
            throw UsageError("unknown option \(name)" + (close ? "; did you mean \(nearest.name)?" : "; see --help"))
        }
        guard let placeholder = option.value else {
            guard inline == nil else { throw UsageError("\(name) takes no value") }
            if name == "--version" { options.version = true } else { options.help = true }
            continue
        }
        let value: String
        if let inline {
            value = inline
        } else {
            guard i < arguments.count, !arguments[i].hasPrefix("--") else {
                throw UsageError("\(name) needs a value (\(name) \(placeholder))")
            }
            value = arguments[i]
            i += 1
        }
        guard !value.isEmpty else { throw UsageError("\(name) needs a non-empty value (\(name) \(placeholder))") }
        switch name {
        case "--load": options.loadPath = value
        case "--data": options.dataPath = value
        case "--top": options.top = try number(name, value, atMost: classes)
        case "--format":
            guard let format = PredictFormat(rawValue: value) else {
                throw UsageError("--format \(value): expected one of "
                    + PredictFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            options.format = format
        case "--batch": options.batch = try number(name, value, atMost: maximumBatch)
        case "--threads": options.threads = try number(name, value, atMost: maximumThreads)
        default: options.device = try number(name, value, atMost: Int.max, atLeast: 0)
        }
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
