// The predict tool: load a checkpoint into a `Model` (Model.swift), classify image files (PNG, PGM) or a labelled
// data set read by the trainer's own readers, and print each input's top classes, and the accuracy when the data has
// labels: the same count of right answers the trainer's test evaluation makes (TrainableNetwork.evaluate).
// Exit status (CommandLineConventions.swift): 0, 1 for an error (one `error: ...` line), 64 for a wrong command
// line. The generated predict
// main.swift calls `predictorMain(Network.self)` through Library.swift; this file names no generated type.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What predict classifies: the samples, the name of each, whether their labels are real, and the class names
/// when the data has them (a PNG class folder).
struct PredictInputs {
    let data: Dataset
    let labelled: Bool
    let names: [String]
    var classNames: [String]? = nil
}

/// The samples of `options` (--data or image files), checked against the network's `layout`; they may take
/// `budget` bytes.
func loadPredictInputs(_ options: PredictOptions, layout: SampleLayout, budget: Int) throws -> PredictInputs {
    guard let path = options.dataPath else { return try readImageFiles(options.images, layout: layout, budget: budget) }
    guard FileManager.default.fileExists(atPath: path) else { throw RuntimeError("--data \(path): no such file or folder") }
    func indexed(_ set: Dataset) -> PredictInputs {
        PredictInputs(data: set, labelled: true, names: (0..<set.count).map { "\(set.source)[\($0)]" })
    }
    let folder = isDirectory(path)
    if folder && isCIFARFolder(path) {
        let test = findIDXFile(path, CIFARNames.test) != nil
        return indexed(try readCIFAR(try cifarFiles(path, test: test), layout: layout, limit: nil, budget: budget))
    }
    if !folder && isCIFARFile(path) { return indexed(try readCIFAR([path], layout: layout, limit: nil, budget: budget)) }
    if folder && isPNGClassFolder(path) {
        let classes = try pngClasses(path, layout: layout)
        let set = try readPNGFolder(path, classes: classes, layout: layout, limit: nil, budget: budget)
        let files = pngSampleOrder(path, classes: classes).map(\.file)
        return PredictInputs(data: set, labelled: true, names: files, classNames: classes)
    }
    if folder {
        return indexed(try loadIDXFolder(path, layout: layout, test: true, fallBackToTrain: true, budget: budget))
    }
    return indexed(try loadCSV(path, layout: layout, limit: nil, budget: budget))
}

/// PNG and PGM files (told apart by their first bytes), each of the network's input size, converted to its
/// channels as the PNG class folder reader converts them.
func readImageFiles(_ files: [String], layout: SampleLayout, budget: Int) throws -> PredictInputs {
    try checkMemory(need: saturatingProduct(files.count, layout.sampleSize), available: budget,
                    what: "\(files.count) images of \(layout.inputDescription)", hint: "give fewer images at a time")
    var values: [UInt8] = []
    values.reserveCapacity(files.count * layout.sampleSize)
    for file in files {
        guard (1...4).contains(layout.channels) else {
            throw RuntimeError("\(file): an image has 1 to 4 channels but the network \(layout.network) expects "
                + layout.inputDescription)
        }
        let bytes = try readBoundedFile(file, limit: imageFileLimit(layout))
        let rgba: [UInt8]
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            rgba = try decodePNG(bytes, path: file, width: layout.width, height: layout.height)
        } else if bytes.starts(with: [0x50, 0x35]) || bytes.starts(with: [0x50, 0x32]) {
            rgba = try decodePGM(bytes, path: file, width: layout.width, height: layout.height)
        } else {
            throw RuntimeError("\(file): not a PNG or PGM image")
        }
        appendPixels(rgba, channels: layout.channels, to: &values)
    }
    let set = Dataset(source: "images", sampleSize: layout.sampleSize, storage: .bytes(values),
                      labels: [Int32](repeating: 0, count: files.count))
    return PredictInputs(data: set, labelled: false, names: files)
}

/// The `k` most likely classes of one input, most likely first (the lower class first among equals).
func topClasses(_ probabilities: UnsafeBufferPointer<Float>, _ k: Int) -> [(index: Int, probability: Float)] {
    let ranked = probabilities.indices.sorted { a, b in
        probabilities[a] != probabilities[b] ? probabilities[a] > probabilities[b] : a < b
    }
    return ranked.prefix(k).map { ($0, probabilities[$0]) }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Prints predictions in one of the formats, input by input.
struct PredictionPrinter {
    let format: PredictFormat
    let top: Int
    let labelled: Bool

    func header(network: String, checkpoint: String, classNames: [String]?) -> String {
        switch format {
        case .text:
            guard let classNames else { return "" }
            return "classes: " + classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", ") + "\n"
        case .json:
            var text = "{\"network\": \(jsonString(network)), \"checkpoint\": \(jsonString(checkpoint)), "
            if let classNames { text += "\"classes\": [" + classNames.map(jsonString).joined(separator: ", ") + "], " }
            return text + "\"predictions\": ["
        case .csv:
            return (["input", "label"] + (1...top).flatMap { ["class\($0)", "probability\($0)"] }).joined(separator: ",") + "\n"
        }
    }

    func row(_ index: Int, name: String, label: Int32?, _ probabilities: UnsafeBufferPointer<Float>) -> String {
        let best = topClasses(probabilities, top)
        switch format {
        case .text:
            let classes = best.map { "\($0.index) " + String(format: "%.6f", Double($0.probability)) }
            return name + (label.map { " (label \($0))" } ?? "") + ": " + classes.joined(separator: ", ") + "\n"
        case .json:
            let classes = best.map { "{\"class\": \($0.index), \"probability\": \(jsonNumber(Double($0.probability)))}" }
            return (index == 0 ? "\n" : ",\n") + "  {\"input\": \(jsonString(name)), "
                + (label.map { "\"label\": \($0), " } ?? "") + "\"top\": [" + classes.joined(separator: ", ") + "]}"
        case .csv:
            let fields = [csvField(name), label.map(String.init) ?? ""] + best.flatMap { ["\($0.index)", "\($0.probability)"] }
            return fields.joined(separator: ",") + "\n"
        }
    }

    /// The end: the accuracy (when labelled) and, for JSON, the closing brackets.
    func footer(correct: Int, count: Int) -> (out: String, err: String) {
        let accuracy = Double(correct) / Double(count)
        let line = labelled ? "accuracy \(fixed(accuracy, 4)) (\(correct) of \(count))\n" : ""
        switch format {
        case .text: return (line, "")
        case .json:
            let result = labelled ? ", \"accuracy\": \(jsonNumber(accuracy)), \"correct\": \(correct), \"count\": \(count)" : ""
            return ("\n]\(result)}\n", "")
        case .csv: return ("", line)
        }
    }
}

/// Runs the predict tool of network `N` with `arguments` (without the program name); returns the exit status.
func runPredictor<N: TrainableNetwork>(_: N.Type, _ arguments: [String]) -> Int32 {
    let info = N.info
    do {
        let options = try parsePredictOptions(arguments, classes: info.classes)
        if let status = answerHelpOrVersion(help: options.help, version: options.version, tool: "predict",
                                            usage: { predictUsageText(info) }, info) {
            return status
        }
        // The checkpoint's header is checked before the inputs are read, its tensors after (as train does).
        let load = options.loadPath!
        let checkpoint = try openCheckpoint(load, option: "--load")
        let layout = info.sampleLayout
        let available = availableMemoryBytes()
        let networkNeed = saturatingSum([N.memoryBytes(maxBatch: options.batch, threads: options.threads),
                                         saturatingProduct(options.batch, layout.sampleSize + 1, 4)])
        let inputs = try loadPredictInputs(options, layout: layout,
                                           budget: available == Int.max ? Int.max : max(0, available - networkNeed))
        let count = inputs.data.count
        guard count > 0 else { throw RuntimeError("\(options.dataPath ?? "the input"): no samples") }
        let model = try Model(N.self, checkpoint: checkpoint, batch: min(options.batch, count), threads: options.threads,
                              device: options.device)
        let printer = PredictionPrinter(format: options.format, top: options.top ?? min(5, info.classes),
                                        labelled: inputs.labelled)
        Console.out(printer.header(network: info.name, checkpoint: load, classNames: inputs.classNames))
        let staging = StagingBuffer(capacity: model.batch, sampleSize: layout.sampleSize)
        var correct = 0, start = 0
        while start < count {
            let n = min(model.batch, count - start)
            staging.gatherInOrder(inputs.data, start: start, count: n)
            var text = "", i = start
            let right = model.evaluate(staging.images, labels: inputs.labelled ? staging.labels : nil, count: n) { p in
                text += printer.row(i, name: inputs.names[i], label: inputs.labelled ? inputs.data.labels[i] : nil, p)
                i += 1
            }
            correct += right
            Console.out(text)
            start += n
        }
        let (out, err) = printer.footer(correct: correct, count: count)
        Console.out(out)
        Console.err(err)
        return ExitStatus.success
    } catch {
        return failureStatus(error)
    }
}

/// The predict process: runs network `N` with the command line's arguments and exits with its status.
func predictorMain<N: TrainableNetwork>(_ network: N.Type) -> Never {
    signal(SIGPIPE, SIG_IGN)  // a closed stdout (`| head`) ends the output, not the process with a signal
    exit(runPredictor(network, Array(CommandLine.arguments.dropFirst())))
}
