// The progress line on stderr while an epoch runs: rewritten in place (about twice a second) on a terminal,
// plain lines (about every 5 s) otherwise.

struct ProgressLine {
    private let terminal = Console.stderrIsTerminal
    private let interval: Double
    private var last: Double
    private var shown = false

    init() {
        interval = Console.stderrIsTerminal ? 0.5 : 5.0
        last = monotonicSeconds()
    }

    /// Starts timing a new epoch.
    mutating func start() {
        last = monotonicSeconds()
    }

    /// Shows the line if enough time has passed since the last one. Cheap enough to call after every batch.
    mutating func update(epoch: Int, batch: Int, batches: Int, meanLoss: Double, samples: Int, elapsed: Double) {
        let now = monotonicSeconds()
        guard now - last >= interval else { return }
        last = now
        let rate = elapsed > 0 ? Double(samples) / elapsed : 0
        let text = "epoch \(epoch)  batch \(batch)/\(batches)  loss \(fixed(meanLoss, 4))  \(fixed(rate, 0)) img/s"
        if terminal {
            Console.err("\r" + text + "\u{1B}[K")
            shown = true
        } else {
            Console.err(text + "\n")
        }
    }

    /// Clears the in-place line (before the epoch summary is printed).
    mutating func clear() {
        if shown {
            Console.err("\r\u{1B}[K")
            shown = false
        }
    }
}
