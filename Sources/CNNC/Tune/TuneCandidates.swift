/// The schedules the tuner times for one conv or dense group: the distinct forward halves and the distinct backward
/// halves that the schedule rules (`Schedule.cpu(group, budget:)`) decide under a list of budget variants, the
/// standard budget's first. The rules only ever produce forms the printers spell correctly (a weight-gradient
/// block's channels divide C, a row form needs stride 1 and whole vectors of filters...), so every candidate is a
/// valid schedule; a variant only moves the blocking or the choice between forms. The forward and backward halves
/// are independent (no printer of one half reads the other's form), so they are chosen separately.
public struct TuneCandidates: Sendable, Equatable {
    /// The group's index in the plan.
    public var group: Int
    /// Schedules that differ in their forward half (each with the standard backward half), the standard one first.
    public var forward: [CPUGroupSchedule]
    /// Schedules that differ in their backward half (each with the standard forward half), the standard one first.
    public var backward: [CPUGroupSchedule]

    /// The standard schedule (candidate 0 of both halves).
    public var standard: CPUGroupSchedule { forward[0] }

    /// The schedule of forward candidate `f` and backward candidate `b`.
    public func schedule(forward f: Int, backward b: Int) -> CPUGroupSchedule {
        forward[f].joining(backwardOf: backward[b])
    }

    /// Candidates per half at most: each is a build of the whole kernel file to time.
    public static let limit = 8

    /// The budget variants, in order of preference (the standard budget first): other row blocks, register
    /// budgets, weight-gradient accumulators, unrolled positions, the direct form for more or fewer input channels,
    /// no row forms, dot-product input gradients, other dense blockings. None loosens `accumulationBound`, the
    /// rounding bound on a float sum. None moves a dense weight gradient between the per-thread and the batch-wide
    /// form: what decides between them (the per-thread copies' zeroing and summing, the stage's barrier) grows
    /// with the thread count, which a one-thread timing cannot see.
    public static let variants: [CPUBudget] = {
        let edits: [(inout CPUBudget) -> Void] = [
            { _ in },
            { $0.maxRowBlock = 6 }, { $0.maxRowBlock = 4 }, { $0.rowRegisters = 24 },
            { $0.weightGradientAccumulators = 12 }, { $0.weightGradientAccumulators = 8 },
            { $0.weightGradientAccumulators = 24 },
            { $0.maxUnrolled = 2 }, { $0.maxUnrolled = 6 },
            { $0.tapAccumulators = 8 }, { $0.tapAccumulators = 24 }, { $0.accumulators = 16 },
            { $0.directInputChannels = 0 }, { $0.directInputChannels = 8 },
            { $0.maxRowWidth = 0 }, { $0.maxTransposedWeights = 0 },
            { $0.denseForwardSamples = 4 }, { $0.denseForwardSamples = 12 },
            { $0.denseForwardTile = 16 }, { $0.denseForwardTile = 64 },
            { $0.denseBackwardSamples = 2 }, { $0.denseBackwardSamples = 8 },
            { $0.denseInputGradientSamples = 2 }, { $0.denseInputGradientSamples = 8 },
            { $0.denseWeightGradientChunkVectors = 4 }, { $0.denseTransposeRows = 64 },
        ]
        return edits.map { edit in
            var b = CPUBudget.standard
            edit(&b)
            return b
        }
    }()

    /// The candidates of every conv and dense group of `plan` that has a backward or forward form to choose, in
    /// plan order.
    public static func all(_ plan: KernelPlan) -> [TuneCandidates] {
        plan.groups.indices.compactMap { of(plan, group: $0) }
    }

    /// Group `gi`'s candidates; nil for a group with nothing to decide.
    public static func of(_ plan: KernelPlan, group gi: Int) -> TuneCandidates? {
        let g = plan.groups[gi]
        let standard = Schedule.cpu(g, budget: .standard)
        if standard == .fixed { return nil }
        var forward = [standard], backward = [standard]
        for budget in variants.dropFirst() {
            let s = Schedule.cpu(g, budget: budget)
            let f = standard.joining(forwardOf: s), b = standard.joining(backwardOf: s)
            if forward.count < limit && !forward.contains(f) { forward.append(f) }
            // A group without a backward pass (none learns before it) has one backward half that nothing runs.
            if g.needsBackward && backward.count < limit && !backward.contains(b) { backward.append(b) }
        }
        return TuneCandidates(group: gi, forward: forward, backward: backward)
    }

    /// The overrides of a timing build: each group takes its forward and backward candidate `variant`, or its
    /// standard one where it has fewer.
    public static func overrides(_ candidates: [TuneCandidates], variant v: Int) -> [Int: CPUGroupSchedule] {
        Dictionary(uniqueKeysWithValues: candidates.map { c in
            (c.group, c.schedule(forward: v < c.forward.count ? v : 0, backward: v < c.backward.count ? v : 0))
        })
    }

    /// Timing builds needed to time every candidate: the most candidates of any half.
    public static func variantCount(_ candidates: [TuneCandidates]) -> Int {
        candidates.map { max($0.forward.count, $0.backward.count) }.max() ?? 1
    }
}

extension CPUGroupSchedule {
    /// This schedule with `other`'s forward half (both of one kind; else this one).
    func joining(forwardOf other: CPUGroupSchedule) -> CPUGroupSchedule {
        other.joining(backwardOf: self)
    }

    /// This schedule with `other`'s backward half (both of one kind; else this one).
    func joining(backwardOf other: CPUGroupSchedule) -> CPUGroupSchedule {
        switch (self, other) {
        case let (.conv(forward, _), .conv(_, backward)): return .conv(forward: forward, backward: backward)
        case let (.dense(forward, _), .dense(_, backward)): return .dense(forward: forward, backward: backward)
        default: return self
        }
    }
}
