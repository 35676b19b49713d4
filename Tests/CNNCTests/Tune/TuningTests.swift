import Foundation
import Testing
@testable import CNNC

/// A tuning as data: the choice by median with the margin, tuning.json's round trip, the package it builds, and
/// the errors of a tuning that does not match the network. Then the tuner itself on a small net.
@Suite("tuning", .serialized)
struct TuningTests {
    static func compilation(_ name: String, edit: (String) -> String = { $0 }) throws -> Compilation {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/\(name).cnn"), encoding: .utf8)
        return try Compilation(source: Array(edit(source).utf8), file: "\(name).cnn")
    }

    /// A tuning of mnist002 from made-up times: every kernel 1 ms a step, except conv2's forward under variant 1
    /// (10% faster: chosen) and conv3's backward under variant 1 (2% faster: within the 3% margin, not chosen).
    static func madeUp(_ plan: KernelPlan) -> Tuning {
        let candidates = TuneCandidates.all(plan)
        let variants = TuneCandidates.variantCount(candidates)
        let conv2 = plan.kernels.firstIndex { $0.name == "conv2_forward" }!
        let conv3 = plan.kernels.firstIndex { $0.name == "conv3_backward" }!
        let timed = (0..<variants).map { v in
            (0..<5).map { step -> [Double] in
                var row = [Double](repeating: 1e-3, count: plan.kernels.count)
                if v == 1 { row[conv2] = 0.9e-3; row[conv3] = 0.98e-3 }
                row[0] += Double(step) * 1e-6  // a spread, so that the median is not every value
                return row
            }
        }
        return Tuning(network: plan.network.name, source: "mnist002.cnn", machine: "test", date: "2000-01-01T00:00:00Z",
                      batch: 64, seconds: 1, variants: variants, rounds: 1, margin: 0.03,
                      groups: candidates.map { Tuner.choose($0, plan, timed, margin: 0.03) })
    }

    @Test func choosesByMedianBeyondTheMargin() throws {
        let plan = try Self.compilation("mnist002").plan
        let tuning = Self.madeUp(plan)
        let conv2 = tuning.groups.first { $0.group == "conv2" }!, conv3 = tuning.groups.first { $0.group == "conv3" }!
        #expect(conv2.forward.chosen == 1 && conv2.forward.candidates[1].medianMs == 0.9)
        #expect(conv2.forward.candidates[0].medianMs == 1 && conv2.forward.candidates[0].steps == 5)
        #expect(conv3.backward?.chosen == 0 && conv3.forward.chosen == 0)
        let candidates = TuneCandidates.of(plan, group: plan.groups.firstIndex { $0.name == "conv2" }!)!
        #expect(conv2.schedule == candidates.schedule(forward: 1, backward: 0))
        #expect(conv2.forward.candidates.map(\.form)
                == candidates.forward.map { PlanPrinter.describe($0, .forward, plan.groups[candidates.group]) })
    }

    @Test func jsonRoundTripAndThePackage() throws {
        let c = try Self.compilation("mnist002")
        let tuning = Self.madeUp(c.plan)
        let text = tuning.json()
        #expect(try Tuning.decode(Array(text.utf8), file: "t.json") == tuning)
        let overrides = try tuning.overrides(c.plan, file: "t.json")
        let gi = c.plan.groups.firstIndex { $0.name == "conv2" }!
        #expect(overrides[gi] == TuneCandidates.of(c.plan, group: gi)!.schedule(forward: 1, backward: 0))

        let tuned = try CPUTarget.generate(c, tuning: tuning), plain = try CPUTarget.generate(c)
        #expect(tuned.files["tuning.json"] == text && plain.files["tuning.json"] == nil)
        let kernels = tuned.files["Sources/Kernels/kernels.c"]!
        #expect(kernels.contains("// Schedule tuned by cnnc --tune on test, 2000-01-01T00:00:00Z"))
        #expect(kernels.contains("//   conv2 forward: rows of"))
        #expect(!plain.files["Sources/Kernels/kernels.c"]!.contains("Schedule tuned"))
        // conv2's forward is printed with the chosen blocks; every other kernel as without the tuning.
        func function(_ text: String, _ name: String) -> String {
            guard let start = text.range(of: "static void \(name)(") else { return "" }
            let rest = text[start.upperBound...]
            return String(rest[..<(rest.range(of: "\nstatic ")?.lowerBound ?? rest.endIndex)])
        }
        #expect(function(kernels, "conv2_forward") != function(plain.files["Sources/Kernels/kernels.c"]!, "conv2_forward"))
        #expect(function(kernels, "conv3_backward") == function(plain.files["Sources/Kernels/kernels.c"]!, "conv3_backward"))
        // cnnc plan --tuning: the schedule printed is the tuned one.
        let printed = PlanPrinter.renderSchedule(c.plan, cpu: try tuning.schedule(c.plan, file: "t.json"))
        #expect(printed != PlanPrinter.renderSchedule(c.plan))
        #expect(printed.contains(PlanPrinter.describe({ if case let .conv(f, _) = overrides[gi]! { f } else { .direct } }())))
    }

    @Test func mismatchesAreErrors() throws {
        let c = try Self.compilation("mnist002")
        let tuning = Self.madeUp(c.plan)
        func error(_ t: Tuning, _ plan: KernelPlan? = nil) -> String {
            do { _ = try t.overrides(plan ?? c.plan, file: "t.json"); return "" } catch { return "\(error)" }
        }
        var other = tuning
        other.network = "lenet5"
        #expect(error(other) == "t.json: error: this is a tuning of network 'lenet5', not of 'mnist002'")
        // conv2 with 48 filters: the same names, another shape.
        let wider = try Self.compilation("mnist002") { $0.replacingOccurrences(of: "conv 32", with: "conv 48") }
        #expect(wider.plan.groups != c.plan.groups)
        #expect(error(tuning, wider.plan).hasPrefix("t.json: error: 'conv2' was tuned as conv 32 3x3"), "\(error(tuning, wider.plan))")
        var missing = tuning
        missing.groups.removeAll { $0.group == "dense1" }
        #expect(error(missing) == "t.json: error: the tuning has no entry for 'dense1' (tune it again)")
        var twice = tuning
        twice.groups.append(tuning.groups[0])
        #expect(error(twice) == "t.json: error: group 'conv1' is tuned twice")
        var unknown = tuning
        unknown.groups[0].group = "conv9"
        #expect(error(unknown) == "t.json: error: the network has no conv or dense layer 'conv9' (tune it again)")
        // A schedule edited into one the rules never make (3 channels do not divide conv2's 16): refused.
        var edited = tuning
        let i = edited.groups.firstIndex { $0.group == "conv2" }!
        guard case let .conv(f, .perSample(ig, wg)) = edited.groups[i].schedule else {
            Issue.record("conv2's backward is not per sample")
            return
        }
        var bad = wg
        bad.channels = 3
        edited.groups[i].schedule = .conv(forward: f, backward: .perSample(inputGradient: ig, weightGradient: bad))
        #expect(error(edited) == "t.json: error: 'conv2''s schedule is not one cnnc \(CNNCVersion.current) makes for its shape (tune it again)")
        var kind = tuning
        kind.groups[i].schedule = tuning.groups.first { $0.group == "dense1" }!.schedule
        #expect(error(kind).contains("'conv2''s schedule is not one"))
        // A chosen index outside its candidates (kernels.c's summary prints the chosen one): refused, not trapped on.
        for chosen in [-1, edited.groups[i].forward.candidates.count] {
            var out = tuning
            out.groups[i].forward.chosen = chosen
            #expect(error(out) == "t.json: error: 'conv2' forward: candidate \(chosen) chosen of "
                    + "\(tuning.groups[i].forward.candidates.count) (tune it again)")
            #expect(throws: CompileError.self) { try CPUTarget.generate(c, tuning: out) }
        }
        var format = tuning
        format.format = 2
        #expect(error(format).hasPrefix("t.json: error: tuning format 2 is not one this cnnc reads"))
        // Files that are not tunings.
        for (text, message) in [("{}", "t.json: error: not a tuning file: no 'format' at the top"),
                                ("[1", "t.json: error: not a tuning file: "), ("", "t.json: error: not a tuning file")] {
            do {
                _ = try Tuning.decode(Array(text.utf8), file: "t.json")
                Issue.record("\(text) read as a tuning")
            } catch { #expect("\(error)".hasPrefix(message), "\(error)") }
        }
        // A schedule of a form this cnnc does not have (as another version of cnnc may write).
        let renamed = tuning.json().replacingOccurrences(of: "\"singlePass\"", with: "\"onePass\"")
        #expect(renamed != tuning.json())
        do {
            _ = try Tuning.decode(Array(renamed.utf8), file: "t.json")
            Issue.record("an unknown form read as a schedule")
        } catch {
            #expect("\(error)".hasPrefix("t.json: error: a schedule this cnnc does not know (tuned by another version of cnnc? tune again)"), "\(error)")
        }
        do {
            _ = try Tuning.read("/nonexistent/t.json")
            Issue.record("a missing file read as a tuning")
        } catch {
            #expect("\(error)" == "/nonexistent/t.json: error: cannot read the tuning file: No such file or directory")
        }
    }

    /// The tuner on mix_c (a conv on 1 channel, one on 2, two dense layers): every candidate timed, the choices
    /// valid, and the result applies to the plan.
    @Test func tunerTimesEveryCandidate() throws {
        let net = CPUGradientTests.nets.first { $0.name == "mix_c" }!
        let c = try Compilation(source: Array(net.source.utf8), file: "mix_c.cnn")
        var options = Tuner.Options()
        options.seconds = 1
        var heard: [String] = []
        let tuning = try Tuner.tune(c, options: options) { heard.append($0) }
        let candidates = TuneCandidates.all(c.plan)
        #expect(tuning.groups.map(\.group) == candidates.map { c.plan.groups[$0.group].name })
        #expect(tuning.variants == TuneCandidates.variantCount(candidates) && tuning.rounds >= 1 && heard.count == 3)
        for (t, cand) in zip(tuning.groups, candidates) {
            #expect(t.forward.candidates.count == cand.forward.count)
            #expect(t.backward?.candidates.count == (c.plan.groups[cand.group].needsBackward ? cand.backward.count : nil))
            for half in [t.forward, t.backward].compactMap({ $0 }) {
                #expect(half.candidates.allSatisfy { $0.medianMs >= 0 && $0.fastestMs <= $0.medianMs && $0.steps >= 1 })
                #expect(half.candidates.indices.contains(half.chosen))
            }
        }
        let halves: [Tuning.Half] = tuning.groups.flatMap { [$0.forward] + ($0.backward.map { [$0] } ?? []) }
        let total: Double = halves.flatMap(\.candidates).map(\.medianMs).reduce(0, +)
        #expect(total > 0)
        #expect(try tuning.overrides(c.plan, file: "t.json").count == candidates.count)
        #expect(tuning.machine == Tuner.machine() && !tuning.machine.isEmpty)
    }
}
