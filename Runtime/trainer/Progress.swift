// The progress line on stderr while an epoch runs: epoch, batch, mean loss, images/s and the time left (of the
// epoch, and of the run once there is more than one epoch to go), rewritten in place about twice a second when
// stderr is a terminal, plain lines about every 5 s otherwise (logs, CI).
//
// Terminal mode follows stderr, the stream the line is written to, not stdout: the epoch summaries go to stdout,
// so `train > log.txt` keeps the summaries in the file and the live line on the terminal, and `train 2> log`
// gets plain lines without escape codes. A terminal whose TERM is "dumb" (an editor's shell) cannot erase a line,
// so it gets plain lines too.
import Foundation

struct ProgressLine {
    private let terminal: Bool
    private let interval: Double
    private var last: Double
    private var shown = false
    /// When the first epoch of this run started, and how many epochs have started since.
    private var runStarted: Double?
    private var epochsStarted = 0
    private var epochStarted = 0.0
    /// The batches the current epoch runs (fewer in the last epoch of a --steps run) and the epochs left after it.
    private var epochBatches = 0
    private var epochsAfter = 0

    init() {
        terminal = Self.rewritesInPlace(isTerminal: Console.stderrIsTerminal,
                                        term: ProcessInfo.processInfo.environment["TERM"])
        interval = terminal ? 0.5 : 5.0
        last = monotonicSeconds()
    }

    /// Whether the line is rewritten in place: on a terminal that can erase a line.
    static func rewritesInPlace(isTerminal: Bool, term: String?) -> Bool { isTerminal && term != "dumb" }

    /// Starts timing epoch `epoch` of a run of `totalSteps` steps of `batches` batches per epoch.
    mutating func start(epoch: Int, batches: Int, totalSteps: Int) {
        let now = monotonicSeconds()
        last = now
        if runStarted == nil { runStarted = now }
        epochsStarted += 1
        epochStarted = now
        (epochBatches, epochsAfter) = Self.remaining(epoch: epoch, batches: batches, totalSteps: totalSteps)
    }

    /// The batches epoch `epoch` runs and the epochs after it, in a run of `totalSteps` steps of `batches` per
    /// epoch from epoch 1 (the run ends in epoch ceil(totalSteps / batches), after fewer batches with --steps).
    static func remaining(epoch: Int, batches: Int, totalSteps: Int) -> (batches: Int, epochsAfter: Int) {
        let perEpoch = max(batches, 1)
        let lastEpoch = totalSteps / perEpoch + (totalSteps % perEpoch == 0 ? 0 : 1)
        let stepsBefore = (epoch - 1).multipliedReportingOverflow(by: perEpoch)
        let left = stepsBefore.overflow ? 0 : totalSteps - stepsBefore.partialValue
        return (max(1, min(perEpoch, left)), max(0, lastEpoch - epoch))
    }

    /// Shows the line if enough time has passed since the last one. Cheap enough to call after every batch.
    mutating func update(epoch: Int, batch: Int, batches: Int, meanLoss: Double, samples: Int, elapsed: Double) {
        let now = monotonicSeconds()
        guard now - last >= interval else { return }
        last = now
        let rate = elapsed > 0 ? Double(samples) / elapsed : 0
        var text = "epoch \(epoch)  batch \(batch)/\(batches)  loss \(fixed(meanLoss, 4))  \(fixed(rate, 0)) img/s"
        if let left = Self.epochSecondsLeft(elapsed: elapsed, batchesDone: batch, batches: epochBatches) {
            text += "  ETA " + Self.clock(left)
            // A whole epoch's wall time (its evaluation included) once one has ended, else this epoch's projection.
            let finished = epochsStarted - 1, runElapsed = epochStarted - (runStarted ?? epochStarted)
            let epochSeconds = finished > 0 ? runElapsed / Double(finished) : elapsed + left
            if epochsAfter > 0 {
                text += " (run " + Self.clock(Self.runSecondsLeft(epochLeft: left, epochSeconds: epochSeconds,
                                                                   epochsAfter: epochsAfter)) + ")"
            }
        }
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

    /// The seconds this epoch still needs at the pace so far: `elapsed` for `batchesDone` of `batches`; nil before
    /// the first batch has taken measurable time.
    static func epochSecondsLeft(elapsed: Double, batchesDone: Int, batches: Int) -> Double? {
        guard batchesDone > 0, elapsed > 0, elapsed.isFinite else { return nil }
        return elapsed / Double(batchesDone) * Double(max(batches - batchesDone, 0))
    }

    /// The seconds the run still needs: what is left of this epoch, then `epochsAfter` epochs of `epochSeconds`.
    static func runSecondsLeft(epochLeft: Double, epochSeconds: Double, epochsAfter: Int) -> Double {
        epochLeft + epochSeconds * Double(epochsAfter)
    }

    /// `0:07`, `1:23`, `59:59`, `1:00:00`, `27:46:40`: minutes and seconds, hours in front from one hour, rounded
    /// to the nearest second; `--:--` for a time too long or not a number.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 3_600_000 else { return "--:--" }
        let total = Int(max(seconds, 0).rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
    }
}
