// The --metrics file: per-epoch training statistics and the final test result as JSON, rewritten atomically
// after every epoch and at the end; and the --plot file, the same epochs drawn as curves (Plot.swift).

/// One finished (or, with --steps, partial) epoch.
struct EpochMetrics {
    let epoch: Int
    let loss: Double            // mean training loss over the epoch's samples
    let trainAccuracy: Double   // fraction of the epoch's samples classified correctly while training
    let testAccuracy: Double?   // nil without a test set
    let testLoss: Double?
    let seconds: Double         // training time of the epoch (evaluation excluded)
    let imagesPerSecond: Double // training throughput
    let learningRate: Double    // the learning rate of the epoch's last step
}

extension EpochMetrics {
    /// One epoch as a JSON object, in --metrics and in a checkpoint's last.json (which reads it back exactly:
    /// `jsonNumber` writes the shortest decimal that round-trips).
    var json: String {
        "{\"epoch\": \(epoch), \"loss\": \(jsonNumber(loss)), \"train_accuracy\": \(jsonNumber(trainAccuracy)), "
            + "\"test_accuracy\": \(jsonNumber(testAccuracy)), \"test_loss\": \(jsonNumber(testLoss)), "
            + "\"lr\": \(jsonNumber(learningRate)), \"seconds\": \(jsonNumber(seconds)), "
            + "\"images_per_second\": \(jsonNumber(imagesPerSecond))}"
    }
}

/// The test result after training (both nil without a test set, or when a signal stopped training).
struct FinalMetrics {
    let testAccuracy: Double?
    let testLoss: Double?
    /// Forward-only throughput of the final evaluation (batches of the training batch size).
    let inferenceImagesPerSecond: Double?
    /// `SIGINT` or `SIGTERM` when a signal stopped training early (no final evaluation then).
    var interruptedBy: String? = nil
    /// Optimizer steps taken in all.
    var steps: Int? = nil
}

/// Collects the metrics and writes them to `path` and the curves to `plotPath` (when given).
struct MetricsLog {
    let path: String?
    let plotPath: String?
    /// The network's name, the plot's title.
    let title: String
    private(set) var epochs: [EpochMetrics] = []
    private(set) var final: FinalMetrics? = nil

    init(path: String?, plotPath: String? = nil, title: String = "training") {
        self.path = path
        self.plotPath = plotPath
        self.title = title
    }

    /// The epochs of the run a checkpoint continues (--resume), recorded before this run's.
    mutating func restore(_ earlier: [EpochMetrics]) {
        epochs = earlier
    }

    mutating func record(_ epoch: EpochMetrics) throws {
        epochs.append(epoch)
        try write()
    }

    mutating func finish(_ result: FinalMetrics) throws {
        final = result
        try write()
    }

    /// The JSON text: `{"epochs": [...], "final": {...}}` (`final` is null until training ends).
    var json: String {
        let lines = epochs.map { "    " + $0.json }
        let epochsText = lines.isEmpty ? "[]" : "[\n" + lines.joined(separator: ",\n") + "\n  ]"
        let finalText = final.map {
            "{\"test_accuracy\": \(jsonNumber($0.testAccuracy)), \"test_loss\": \(jsonNumber($0.testLoss)), "
                + "\"inference_images_per_second\": \(jsonNumber($0.inferenceImagesPerSecond))"
                + ($0.interruptedBy.map { ", \"interrupted\": true, \"signal\": \(jsonString($0))" } ?? "")
                + ($0.steps.map { ", \"steps\": \($0)" } ?? "") + "}"
        }
            ?? "null"
        return "{\n  \"epochs\": \(epochsText),\n  \"final\": \(finalText)\n}\n"
    }

    func write() throws {
        if let path { try writeFileAtomically(Array(json.utf8), to: path) }
        if let plotPath { try writeFileAtomically(Array(curvesSVG(epochs, title: title).utf8), to: plotPath) }
    }
}
