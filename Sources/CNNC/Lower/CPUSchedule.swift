/// The CPU target's scheduling rules: one function per decision, each a pure function of the group's shapes and
/// the budget, so that a test can check a decision for a concrete shape.
extension Schedule {
    /// The CPU schedule of a whole plan: every group's forms, the backward stages and the parameter ranges.
    public static func cpu(_ plan: KernelPlan, budget b: CPUBudget = .standard) -> CPUSchedule {
        let groups = plan.groups.map { cpu($0, budget: b) }
        var s = CPUSchedule(budget: b, groups: groups, backwardStages: [], parameterRanges: [])
        s.backwardStages = backwardStages(plan, s)
        s.forwardStages = stages(plan, phase: .forward)
        s.parameterRanges = parameterRanges(plan, s)
        return s
    }

    public static func cpu(_ g: FusedGroup, budget b: CPUBudget = .standard) -> CPUGroupSchedule {
        switch g.op {
        case let .conv(oc, w):
            return .conv(forward: convForward(g, filters: oc, window: w, b),
                         backward: convBackward(g, filters: oc, window: w, b))
        case let .dense(units):
            return .dense(forward: denseForward(units: units, b), backward: denseBackward(g, units: units, b))
        default:
            return .fixed
        }
    }

    // MARK: conv

    /// The row form where the shapes allow it (stride 1 along x, whole vectors of filters, rows and kernels narrow
    /// enough, and the filter groups few enough to unroll or whole pairs of vectors to loop over); else the direct
    /// form for few input channels, else tap by tap.
    static func convForward(_ g: FusedGroup, filters oc: Int, window w: Window, _ b: CPUBudget) -> ConvForwardForm {
        let cv = pairOfVectors(oc, b)
        let rows = w.stride.x == 1 && oc % b.lanes == 0 && w.kernel.x <= b.maxRowKernelWidth
            && g.output.w <= b.maxRowWidth
            && (oc <= b.lanes * cv * b.maxUnrolledBlocks || oc % (2 * b.lanes) == 0)
        if rows {
            let k = w.kernel.x
            let blocks = rowPartition(width: g.output.w,
                                      sizes: blockSizes(width: g.output.w, limit: (b.rowRegisters - k * cv) / cv, b))
            return .rows(blocks: blocks, filterVectors: cv, loopedFilters: oc / (b.lanes * cv) > b.maxUnrolledBlocks,
                         epilogueInRegisters: g.activation == nil || g.activation == .relu)
        }
        if g.input.c < b.directInputChannels { return .direct }
        return .taps(outputs: max(1, min(b.maxUnrolled, b.tapAccumulators / b.vectors(oc))))
    }

    /// One pass per sample when no input gradient is needed and the whole weight gradient fits in `accumulators`;
    /// else the input gradient's form and the weight gradient's blocking.
    static func convBackward(_ g: FusedGroup, filters oc: Int, window w: Window, _ b: CPUBudget) -> ConvBackwardForm {
        let taps = w.kernel.y * w.kernel.x * g.input.c
        if !g.needsInputGradient && taps * b.vectors(oc) <= b.accumulators { return .singlePass(taps: taps) }
        return .perSample(inputGradient: convInputGradient(g, filters: oc, window: w, b),
                          weightGradient: convWeightGradient(g, filters: oc, window: w, b))
    }

    /// Transposed weights when they fit on the stack; then a row at a time where stride 1 along x and whole vectors
    /// of input channels allow it, else blocked tap by tap; dot products on the weights as they are otherwise.
    static func convInputGradient(_ g: FusedGroup, filters oc: Int, window w: Window,
                                  _ b: CPUBudget) -> ConvInputGradientForm {
        guard g.needsInputGradient else { return .none }
        let i = g.input, o = g.output, k = w.kernel.x
        guard w.kernel.y * k * i.c * oc <= b.maxTransposedWeights else { return .dotProducts }
        guard w.stride.x == 1 && i.c % b.lanes == 0 else {
            return .blocked(blocks: blockSizes(width: o.w, limit: b.accumulators / b.vectors(i.c), b))
        }
        let cv = pairOfVectors(i.c, b)
        // The row always starts at 0 and ends at o.w, so only the block sizes its partition uses are kept.
        let sizes = blockSizes(width: o.w, limit: (b.rowRegisters - k * cv) / cv - (k - 1), b)
        let used = rowPartition(width: o.w, sizes: sizes).map(\.count)
        return .rows(blocks: sizes.filter(used.contains), channelVectors: cv)
    }

    /// A row at a time where stride 1 along x and whole vectors of filters allow it and it loads fewer values per
    /// FMA than tap by tap: tap by tap, each FMA of `channels` x `vectors` needs a broadcast input value or a dz
    /// vector, (channels + vectors) loads per channels x vectors FMAs (about one per FMA with 16 filters); a row at
    /// a time, each input value broadcast feeds all kw taps, (channels + kw x vectors) loads per channels x kw x
    /// vectors FMAs. `channels` (a divisor of C) x kw x vectors fill at most `accumulators`.
    static func convWeightGradient(_ g: FusedGroup, filters oc: Int, window w: Window,
                                   _ b: CPUBudget) -> ConvWeightGradientBlocking {
        let taps = tapWeightGradient(g, filters: oc, b)
        let k = w.kernel.x, vectors = b.vectors(oc), channels = g.input.c
        guard w.stride.x == 1, oc % b.lanes == 0, k > 1, k <= b.maxRowWeightGradientKernel,
              k * vectors <= b.accumulators else { return taps }
        let fit = b.accumulators / (k * vectors)
        let cb = (1...min(channels, fit)).last { channels % $0 == 0 } ?? 1
        let rowLoads = Double(cb + k * vectors) / Double(cb * k * vectors)
        let tapLoads = Double(taps.channels + vectors) / Double(taps.channels * vectors)
        guard rowLoads < tapLoads else { return taps }
        return ConvWeightGradientBlocking(channels: cb, positions: 1, samples: taps.samples, sharedTaps: k)
    }

    /// Tap by tap: `channels` (a divisor of C) and `positions` fill about `weightGradientAccumulators` vectors of
    /// filters; `samples` keeps each accumulator's sum within the accumulation bound (every sample for large outputs).
    static func tapWeightGradient(_ g: FusedGroup, filters oc: Int, _ b: CPUBudget) -> ConvWeightGradientBlocking {
        let channels = g.input.c, vectors = b.vectors(oc)
        let fit = max(1, b.weightGradientAccumulators / vectors)
        let cb = (1...max(1, min(channels, fit))).last { channels % $0 == 0 } ?? 1
        return ConvWeightGradientBlocking(
            channels: cb, positions: max(1, min(b.maxUnrolled, b.weightGradientAccumulators / (cb * vectors))),
            samples: max(1, b.accumulationBound / max(1, g.output.h * g.output.w)))
    }

    /// Vectors of channels a row kernel takes at a time: two where the channels are an even number of vectors, else
    /// one; a pair over 3 vectors (48 channels) would run past the last channel.
    static func pairOfVectors(_ channels: Int, _ b: CPUBudget) -> Int {
        channels >= 2 * b.lanes && channels / b.lanes % 2 == 0 ? 2 : 1
    }

    /// Output positions per register block along a row of `width`, largest first: at most `maxRowBlock` and at most
    /// `limit` (what fits in registers), preferring a block that divides the row; smaller blocks (4, 2, 1) take the
    /// rest. One rule for every row kernel, so that they all split a row alike.
    static func blockSizes(width: Int, limit: Int, _ b: CPUBudget) -> [Int] {
        let most = max(1, min(b.maxRowBlock, width, limit))
        let first = (max(1, most / 2 + 1)...most).reversed().first { width % $0 == 0 } ?? most
        return [first] + [4, 2, 1].filter { $0 < first }
    }

    /// A row of `width` cut greedily into blocks of `sizes` (largest first, ending with 1).
    static func rowPartition(width: Int, sizes: [Int]) -> [RowBlock] {
        var blocks: [RowBlock] = []
        var x = 0
        for size in sizes {
            while x + size <= width { blocks.append(RowBlock(x, size)); x += size }
        }
        return blocks
    }

    // MARK: dense

    /// Tiles of `denseForwardTile` outputs; a remainder under one vector's width joins the last tile (the
    /// samples x 3 vectors still fit in registers) rather than costing a pass over the weight of its own. Many
    /// tiles run as a loop; the last, which may be wider, stays on its own.
    static func denseForward(units: Int, _ b: CPUBudget) -> DenseForwardSchedule {
        let tile = b.denseForwardTile
        var tiles = stride(from: 0, to: units, by: tile).map { DenseTile($0, min(tile, units - $0)) }
        if tiles.count > 1, let last = tiles.last, last.width < b.lanes {
            tiles.removeLast()
            tiles[tiles.count - 1].width += last.width
        }
        let looped = tiles.count > b.maxUnrolledBlocks ? tiles.count - 1 : 0
        return DenseForwardSchedule(samples: b.denseForwardSamples, tile: tile, tiles: tiles, looped: looped)
    }

    /// A batch-wide stage when the weight is large enough (each gradient row is then written once, from registers,
    /// and no thread keeps, zeroes or sums a copy of it; its sums run over the samples in order, so they are the
    /// same bits for any thread count); per-thread sums otherwise.
    static func denseBackward(_ g: FusedGroup, units: Int, _ b: CPUBudget) -> DenseBackwardForm {
        guard g.input.count * units >= b.batchWideWeights else { return .perSample(samples: b.denseBackwardSamples) }
        let width = b.denseWeightGradientChunkVectors * b.lanes
        let chunks = stride(from: 0, to: units, by: width).map { DenseTile($0, min(width, units - $0)) }
        let rows = max(1, min(b.maxUnrolled, b.accumulators / b.vectors(chunks[0].width)))
        let samples = b.denseInputGradientSamples
        // The input gradient's accumulators: `accumulators` vectors over its samples, then one vector, then one.
        let widest = b.accumulators / samples * b.lanes
        return .batchWide(BatchWideDenseSchedule(
            rows: rows, chunks: chunks, looped: chunks.count > b.maxUnrolledBlocks ? chunks.count - 1 : 0,
            transposeRows: b.denseTransposeRows, inputGradientSamples: samples,
            inputGradientWidths: [widest, b.lanes, 1]))
    }

    // MARK: stages

    /// The backward kernels cut into stages around each batch-wide weight gradient: it needs every sample's dz, and
    /// the kernels after it may overwrite that gradient slot. Its input gradient runs in the same stage, on the
    /// same rows of the weight.
    static func backwardStages(_ plan: KernelPlan, _ s: CPUSchedule) -> [CPUBackwardStage] {
        var stages: [CPUBackwardStage] = []
        var current: [Int] = []
        for (ki, k) in plan.kernels.enumerated() where k.phase == .backward {
            if k.overBatch {
                stages += [.samples(current), overBatch(plan, ki)]
                current = []
                continue
            }
            current.append(ki)
            guard let gi = k.group, case let .dense(_, .batchWide(wide)) = s.groups[gi] else { continue }
            stages.append(.samples(current))
            stages.append(.batchWide(kernel: ki, rows: plan.groups[gi].input.count, block: wide.rows))
            current = []
        }
        if !current.isEmpty || stages.isEmpty { stages.append(.samples(current)) }
        return stages
    }

    /// The kernels of `phase` cut into stages around each kernel over the whole batch.
    static func stages(_ plan: KernelPlan, phase: Phase) -> [CPUBackwardStage] {
        var stages: [CPUBackwardStage] = []
        var current: [Int] = []
        for (ki, k) in plan.kernels.enumerated() where k.phase == phase {
            guard k.overBatch else { current.append(ki); continue }
            stages += [.samples(current), overBatch(plan, ki)]
            current = []
        }
        return stages + [.samples(current)]
    }

    /// A kernel over the batch as a stage: its items are its lowered grid's, shared out in whole vectors of lanes.
    static func overBatch(_ plan: KernelPlan, _ ki: Int) -> CPUBackwardStage {
        let grid = Lowering.lower(plan, kernel: ki)?.grid
        return .overBatch(kernel: ki, items: grid?.count ?? 1, block: grid?.items.first?.lanes ?? 1)
    }

    /// The parameter array cut into ranges, each marked whether its gradient is accumulated per thread.
    static func parameterRanges(_ plan: KernelPlan, _ s: CPUSchedule) -> [ParameterRange] {
        var wide: [Range<Int>] = []
        for (gi, g) in plan.groups.enumerated() where s.isBatchWide(gi) {
            let w = g.weight!, at = plan.parameterOffsets[w.name]!
            wide.append(at..<(at + w.count))
        }
        // A kernel over the batch writes whole parameter gradients too.
        for k in plan.kernels where k.overBatch {
            for name in k.parameterGradients {
                let at = plan.parameterOffsets[name]!, count = plan.parameters.first { $0.name == name }!.count
                wide.append(at..<(at + count))
            }
        }
        wide.sort { $0.lowerBound < $1.lowerBound }
        var out: [ParameterRange] = []
        var at = 0
        for r in wide {
            if r.lowerBound > at { out.append(ParameterRange(range: at..<r.lowerBound, accumulated: true)) }
            out.append(ParameterRange(range: r, accumulated: false))
            at = r.upperBound
        }
        if at < plan.parameterCount || out.isEmpty {
            out.append(ParameterRange(range: at..<plan.parameterCount, accumulated: true))
        }
        return out
    }
}
