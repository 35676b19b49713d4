import Foundation
import Testing
@testable import CNNC

/// The tuner's candidates: for every conv and dense group of the examples and of the gradient-test nets, the
/// standard schedule first, no two candidates of a half alike, each one a schedule the rules make under some budget
/// variant, and each within the invariants the printers rely on.
@Suite struct TuneCandidateTests {
    static func example(_ name: String) throws -> KernelPlan {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path).plan
    }

    static let examples = ["mnist002", "lenet5", "resnet8", "fashion", "digits004", "inception", "residual",
                           "batchnorm", "fashion_bn"]

    /// Every plan the tests look at: the examples and the gradient-test nets.
    static func plans() throws -> [(name: String, plan: KernelPlan)] {
        try examples.map { ($0, try example($0)) }
            + CPUGradientTests.nets.map { ($0.name, try Compilation(source: Array($0.source.utf8), file: "\($0.name).cnn").plan) }
    }

    @Test func standardFirstDistinctAndMadeByTheRules() throws {
        for (name, plan) in try Self.plans() {
            for c in TuneCandidates.all(plan) {
                let g = plan.groups[c.group], standard = Schedule.cpu(g)
                #expect(c.forward.first == standard && c.backward.first == standard, "\(name) \(g.name)")
                #expect(Set(c.forward.map { "\($0)" }).count == c.forward.count, "\(name) \(g.name): forward twice")
                #expect(Set(c.backward.map { "\($0)" }).count == c.backward.count, "\(name) \(g.name): backward twice")
                #expect(c.forward.count <= TuneCandidates.limit && c.backward.count <= TuneCandidates.limit)
                let made = TuneCandidates.variants.map { Schedule.cpu(g, budget: $0) }
                for f in c.forward {
                    #expect(made.contains { standard.joining(forwardOf: $0) == f }, "\(name) \(g.name): \(f)")
                    #expect(f.joining(backwardOf: standard) == f, "\(name) \(g.name): a forward candidate's backward half")
                }
                for b in c.backward {
                    #expect(made.contains { standard.joining(backwardOf: $0) == b }, "\(name) \(g.name): \(b)")
                    #expect(b.joining(forwardOf: standard) == b, "\(name) \(g.name): a backward candidate's forward half")
                }
                for s in c.forward + c.backward { Self.expectValid(s, g, "\(name) \(g.name)") }
            }
        }
    }

    /// The invariants of each form: row blocks that tile the row, a weight-gradient block whose channels divide C and
    /// whose sums stay within the accumulation bound, dense tiles and chunks that cover the outputs.
    static func expectValid(_ s: CPUGroupSchedule, _ g: FusedGroup, _ label: String) {
        let bound = CPUBudget.standard.accumulationBound
        switch (s, g.op) {
        case let (.conv(forward, backward), .conv(oc, w)):
            if case let .rows(blocks, cv, _, _) = forward {
                #expect(blocks.map(\.start) == blocks.indices.map { i in blocks[..<i].reduce(0) { $0 + $1.count } }
                        && blocks.reduce(0) { $0 + $1.count } == g.output.w, "\(label): \(blocks)")
                #expect(w.stride.x == 1 && oc % (16 * cv) == 0, "\(label): rows on \(oc) filters, stride \(w.stride)")
            }
            if case let .taps(outputs) = forward { #expect(outputs >= 1, "\(label)") }
            switch backward {
            case let .singlePass(taps):
                #expect(!g.needsInputGradient && taps == w.kernel.y * w.kernel.x * g.input.c, "\(label)")
            case let .perSample(ig, wg):
                #expect(g.input.c % wg.channels == 0 && wg.positions >= 1 && wg.samples >= 1, "\(label): \(wg)")
                #expect(wg.samples == 1 || wg.samples * g.output.h * g.output.w <= bound, "\(label): \(wg)")
                #expect((ig == .none) == !g.needsInputGradient, "\(label): \(ig)")
                if case let .rows(blocks, cv) = ig {
                    // The row is cut greedily into these sizes, largest first, and must be covered exactly.
                    let covered = Schedule.rowPartition(width: g.output.w, sizes: blocks).reduce(0) { $0 + $1.count }
                    #expect(w.stride.x == 1 && g.input.c % (16 * cv) == 0 && covered == g.output.w, "\(label): \(ig)")
                }
                if case let .blocked(blocks) = ig { #expect(blocks.last == 1, "\(label): \(ig)") }
            }
        case let (.dense(forward, backward), .dense(units)):
            #expect(forward.tiles.first?.start == 0 && forward.tiles.reduce(0) { $0 + $1.width } == units
                    && zip(forward.tiles, forward.tiles.dropFirst()).allSatisfy { $0.start + $0.width == $1.start },
                    "\(label): \(forward.tiles)")
            #expect(forward.tiles.prefix(forward.looped).allSatisfy { $0.width == forward.tile } && forward.samples >= 1)
            if case let .batchWide(wide) = backward {
                #expect(wide.chunks.reduce(0) { $0 + $1.width } == units && wide.rows >= 1
                        && wide.inputGradientWidths.last == 1, "\(label): \(wide)")
            }
        default:
            Issue.record("\(label): a \(s) schedule for \(g.op)")
        }
    }

    /// The examples give the tuner something to choose: more than one candidate of some forward and some backward
    /// half, and between forms, not only blockings (the direct form against the tap form, the per-thread against
    /// the batch-wide dense weight gradient).
    @Test func examplesHaveChoices() throws {
        let all = try Self.plans().flatMap { TuneCandidates.all($0.plan) }
        #expect(all.contains { $0.forward.count > 1 } && all.contains { $0.backward.count > 1 })
        let forms = Set(all.flatMap { ($0.forward + $0.backward).flatMap(FormKind.kinds) })
        for kind in [FormKind.direct, .taps, .rows, .singlePass, .blocked, .dotProducts, .inputRows,
                     .densePerSample, .denseBatchWide] {
            #expect(forms.contains(kind), "no candidate of form \(kind)")
        }
    }

    /// Variant v takes each group's candidate v, or the standard one where the group has fewer.
    @Test func overridesTakeTheVariantOrTheStandard() throws {
        let plan = try Self.example("mnist002")
        let candidates = TuneCandidates.all(plan)
        let count = TuneCandidates.variantCount(candidates)
        #expect(count == candidates.map { max($0.forward.count, $0.backward.count) }.max())
        for v in 0..<count {
            let o = TuneCandidates.overrides(candidates, variant: v)
            for c in candidates {
                let f = v < c.forward.count ? c.forward[v] : c.standard
                let b = v < c.backward.count ? c.backward[v] : c.standard
                #expect(o[c.group] == f.joining(backwardOf: b))
            }
        }
        #expect(TuneCandidates.overrides(candidates, variant: 0).allSatisfy { $0.value == Schedule.cpu(plan.groups[$0.key]) })
    }
}

/// A schedule's form, without its blocking: what the gradient tests must cover.
enum FormKind: Hashable {
    case rows, direct, taps, singlePass, none, inputRows, blocked, dotProducts, denseForward, densePerSample,
         denseBatchWide, fixed

    /// Every kind a schedule has: its forward form, then its backward form (the input gradient's, for a conv).
    static func kinds(_ s: CPUGroupSchedule) -> [FormKind] {
        switch s {
        case let .conv(forward, backward):
            let f: FormKind
            switch forward {
            case .rows: f = .rows
            case .direct: f = .direct
            case .taps: f = .taps
            }
            switch backward {
            case .singlePass: return [f, .singlePass]
            case let .perSample(ig, _):
                switch ig {
                case .none: return [f, .none]
                case .rows: return [f, .inputRows]
                case .blocked: return [f, .blocked]
                case .dotProducts: return [f, .dotProducts]
                }
            }
        case let .dense(_, backward):
            if case .batchWide = backward { return [.denseForward, .denseBatchWide] }
            return [.denseForward, .densePerSample]
        case .fixed: return [.fixed]
        }
    }
}
