import Testing
@testable import TrainerRuntime

/// The trainer's progress line (Runtime/trainer/Progress.swift): the `ETA` clock's format, the time left of an
/// epoch and of a run at the pace so far, and when the line is rewritten in place.
@Suite("progress line")
struct ProgressTests {
    @Test(arguments: [
        (0.0, "0:00"), (7.4, "0:07"), (7.5, "0:08"), (59.6, "1:00"), (83, "1:23"), (599, "9:59"), (3599.4, "59:59"),
        (3600, "1:00:00"), (3661, "1:01:01"), (100_000, "27:46:40"), (-3, "0:00"),
        (.infinity, "--:--"), (.nan, "--:--"), (1e12, "--:--"),
    ])
    func clock(_ seconds: Double, _ text: String) {
        #expect(ProgressLine.clock(seconds) == text)
    }

    @Test func epochTimeLeftAtThePaceSoFar() throws {
        // 25 of 100 batches in 10 s: 75 more take 30 s.
        #expect(ProgressLine.epochSecondsLeft(elapsed: 10, batchesDone: 25, batches: 100) == 30)
        #expect(ProgressLine.epochSecondsLeft(elapsed: 3, batchesDone: 7, batches: 7) == 0)
        #expect(ProgressLine.epochSecondsLeft(elapsed: 1, batchesDone: 9, batches: 7) == 0)
        // Nothing to extrapolate from yet.
        #expect(ProgressLine.epochSecondsLeft(elapsed: 5, batchesDone: 0, batches: 100) == nil)
        #expect(ProgressLine.epochSecondsLeft(elapsed: 0, batchesDone: 3, batches: 100) == nil)
        #expect(ProgressLine.epochSecondsLeft(elapsed: .infinity, batchesDone: 3, batches: 100) == nil)
    }

    @Test func batchesOfThisEpochAndEpochsAfterIt() {
        // 10 epochs of 100 batches.
        #expect(ProgressLine.remaining(epoch: 1, batches: 100, totalSteps: 1000) == (100, 9))
        #expect(ProgressLine.remaining(epoch: 10, batches: 100, totalSteps: 1000) == (100, 0))
        // --steps 250: the third epoch is the last, and runs 50 batches.
        #expect(ProgressLine.remaining(epoch: 1, batches: 100, totalSteps: 250) == (100, 2))
        #expect(ProgressLine.remaining(epoch: 3, batches: 100, totalSteps: 250) == (50, 0))
        // The steps of an (unlimited) run saturate at Int.max; an empty data set has no batches.
        #expect(ProgressLine.remaining(epoch: 2, batches: 100, totalSteps: Int.max).epochsAfter > 1 << 50)
        #expect(ProgressLine.remaining(epoch: 1, batches: 0, totalSteps: 0) == (1, 0))
    }

    @Test func runTimeLeftAddsTheEpochsAfterThisOne() {
        #expect(ProgressLine.runSecondsLeft(epochLeft: 30, epochSeconds: 45, epochsAfter: 2) == 120)
        #expect(ProgressLine.runSecondsLeft(epochLeft: 30, epochSeconds: 45, epochsAfter: 0) == 30)
        #expect(ProgressLine.clock(ProgressLine.runSecondsLeft(epochLeft: 12, epochSeconds: 3600, epochsAfter: 9))
                == "9:00:12")
    }

    @Test func inPlaceOnlyOnATerminalThatCanEraseALine() {
        #expect(ProgressLine.rewritesInPlace(isTerminal: true, term: "xterm-256color"))
        #expect(ProgressLine.rewritesInPlace(isTerminal: true, term: nil))
        #expect(!ProgressLine.rewritesInPlace(isTerminal: true, term: "dumb"))
        #expect(!ProgressLine.rewritesInPlace(isTerminal: false, term: "xterm-256color"))
    }
}
