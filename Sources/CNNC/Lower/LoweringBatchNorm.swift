/// The lowering rules of `batchnorm`, written once for both targets. Statistics need the whole batch, so the layer
/// is four kernels: two over the whole batch (`Kernel.overBatch`: one item per channel, each looping over the
/// batch's samples and positions in a fixed order, so the sums are the same bits for any split of the samples) and
/// two per sample that read what those stored in the layer's statistics buffer:
///
///     NAME_statistics       training: the batch's mean and 1/sqrt(var + eps), and the running statistics'
///                           update; evaluation: the same two from the running statistics
///     NAME_forward          y = act((x - mean) * inv * weight + bias)
///     NAME_backward_sums    s1 = sum dz, s2 = sum dz * xhat: the shift's and the scale's gradients
///     NAME_backward         dx = weight * inv * (dz - (s1 + xhat * s2) / M)
///
/// with M = N * H * W values per channel (N on a flat input, whose every value is a channel), dz the gradient
/// through the activation and xhat = (x - mean) * inv. On the CPU all four take 16 channels at a time in vector
/// lanes where the channels are a multiple of 16 (`channelGrid`, `elementGrid`).
extension Lowering {
    /// Where batchnorm's values lie: `channels` per position, `positions` per sample.
    struct BatchNormShape {
        var channels: Int
        var positions: Int
        init(_ s: Shape) {
            channels = s.flat ? s.count : s.c
            positions = s.flat ? 1 : s.h * s.w
        }
        /// The channel coordinate (absent from a grid where there is one channel).
        var ch: Expr { channels > 1 ? "ch" : 0 }
        /// Offset of (p, ch) in a sample.
        var element: Expr { flatIndex(("p", positions), ("ch", channels)) }
    }

    /// The statistics buffer's four parts, `channels` values each.
    enum BatchNormStatistic: Int { case mean, inverseDeviation, shiftGradient, scaleGradient }

    static func statistic(_ which: BatchNormStatistic, _ s: BatchNormShape) -> Expr {
        .int(which.rawValue * s.channels) + s.ch
    }

    /// The layer's parameters and buffers as arrays: `weight`, `bias`, `running_mean`, `running_var`, `count`.
    static func batchNormArray(_ plan: KernelPlan, _ g: FusedGroup, _ suffix: String, as name: String,
                               gradient: Bool = false) -> LoweredArray {
        let layer = plan.network.layers[g.layers[0]]
        let p = (layer.parameters + layer.buffers).first { $0.name == "\(g.name).\(suffix)" }!
        return LoweredArray(name: name, source: gradient ? .parameterGradient(p.name) : .parameter(p.name),
                            type: .float, access: .read, comment: gradient ? "\(p.name)'s gradient" : p.name)
    }

    static func batchNormSpec(_ g: FusedGroup) -> BatchNormSpec {
        guard case let .batchnorm(spec) = g.op else { preconditionFailure("not a batchnorm group") }
        return spec
    }

    /// `sum` += the sum over the batch's samples and positions of `term` (statements computing it may precede
    /// it in `prelude`), each sample's positions summed first; `n` and `p` are in scope.
    static func overBatch(_ s: BatchNormShape, sums: [(String, Expr)], prelude: [Stmt]) -> [Stmt] {
        let perPosition = sums.map { Stmt.addAssign("r_" + $0.0, $0.1) }
        let inner: [Stmt] = s.positions > 1
            ? sums.map { .variable("r_" + $0.0, .float, .float(0)) }
                + [.loop("p", from: 0, to: .int(s.positions), prelude + perPosition)]
                + sums.map { .addAssign($0.0, .name("r_" + $0.0)) }
            : prelude + sums.map { .addAssign($0.0, $0.1) }
        return sums.map { .variable($0.0, .float, .float(0)) } + [.loop("n", from: 0, to: "batch", inner)]
    }

    /// The grid of an element-by-element kernel: per sample, positions x channels, the channels in vectors of the
    /// target's width where they are a multiple of it (their loads of the statistics and parameters then are too).
    static func elementGrid(_ s: BatchNormShape, _ target: LoweringTarget) -> Grid {
        var grid = Grid.perSample(("p", s.positions), ("ch", s.channels))
        if s.channels > 1, target.vectorWidth > 1, s.channels % target.vectorWidth == 0 {
            grid.items[grid.items.count - 1].lanes = target.vectorWidth
        }
        return grid
    }

    /// The grid of a kernel over the batch: one item per channel; on a target with vectors, whole vectors of
    /// channels at a time where the channels are a multiple of the width, so that each pass reads the batch in
    /// cache lines of consecutive channels (one channel at a time reads one float of every row). Each lane still
    /// sums its own channel in the scalar form's order, so the sums are the same bits either way.
    static func channelGrid(_ s: BatchNormShape, _ target: LoweringTarget) -> Grid {
        let width = target.vectorWidth
        let lanes = width > 1 && s.channels % width == 0 ? width : 1
        return Grid(items: [Grid.Coordinate(name: "ch", count: s.channels, lanes: lanes)])
    }

    /// Training: mean, 1/sqrt(var + eps) of the batch (two passes), the running statistics' update with the
    /// unbiased variance, and the batch counter; evaluation: mean and 1/sqrt(var + eps) of the running statistics.
    static func batchNormStatistics(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup,
                                    _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], spec = batchNormSpec(g), s = BatchNormShape(g.input)
        let x: Expr = .load("x", .wide("n") * .int(g.input.count) + s.element)
        let m = spec.momentum, eps = Expr.float(spec.eps), ch = s.ch
        let values: Expr = .toFloat("batch" * .int(s.positions))
        var train = overBatch(s, sums: [("sum", x)], prelude: [])
        train.append(.constant("mean", .float, "sum" / values))
        train += overBatch(s, sums: [("sq", "d" * "d")], prelude: [.constant("d", .float, x - "mean")])
        train += [
            .store("stats", statistic(.mean, s), "mean"),
            .store("stats", statistic(.inverseDeviation, s), .float(1) / .call(.sqrt, ["sq" / values + eps])),
            .comment("running statistics: (1 - m) * old + m * new, with the unbiased variance"),
            .store("running_mean", ch, .float(1 - m) * .load("running_mean", ch) + .float(m) * "mean"),
            // One value per channel (N = 1 on a flat input) has no unbiased variance: its sum of squares (0) is kept.
            .store("running_var", ch, .float(1 - m) * .load("running_var", ch)
                   + .float(m) * ("sq" / .call(.max, [values - .float(1), .float(1)]))),
            .when(.equal(ch, 0), [.store("count", 0, .load("count", 0) + .float(1))]),
        ]
        let evaluate: [Stmt] = [
            .store("stats", statistic(.mean, s), .load("running_mean", ch)),
            .store("stats", statistic(.inverseDeviation, s),
                   .float(1) / .call(.sqrt, [.load("running_var", ch) + eps])),
        ]
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): per channel, the mean and 1/sqrt(var + eps) of x over the batch (training, which "
                      + "also updates the running statistics with momentum \(m)) or of the running statistics"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read),
                     LoweredArray(name: "stats", source: .buffer(k.operands.statistics!), type: .float, access: .write,
                                  comment: "\(k.operands.statistics!) (4,\(s.channels)): mean, inv, sums of dz, dz*xhat"),
                     batchNormArray(plan, g, "running_mean", as: "running_mean"),
                     batchNormArray(plan, g, "running_var", as: "running_var"),
                     batchNormArray(plan, g, "num_batches_tracked", as: "count")],
            grid: channelGrid(s, target), overBatch: true, stepValues: [.batch, .training],
            body: [.when(.notEqual("training", 0), train), .when(.equal("training", 0), evaluate)])
    }

    /// y = act((x - mean) * inv * weight + bias), element by element.
    static func batchNormForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup,
                                 _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], s = BatchNormShape(g.input), ch = s.ch
        let at: Expr = .wide("n") * .int(g.input.count) + s.element
        var body: [Stmt] = [
            .variable("v", .float, (.load("x", at) - .load("stats", statistic(.mean, s)))
                      * .load("stats", statistic(.inverseDeviation, s)) * .load("weight", ch) + .load("bias", ch)),
        ]
        if let a = g.activation { body.append(.assign("v", activate("v", a))) }
        body.append(.store("y", at, "v"))
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = \(g.activation.map { $0.description + " of " } ?? "")(x - mean) * inv * weight + bias"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read), statisticsArray(plan, k, s),
                     batchNormArray(plan, g, "weight", as: "weight"), batchNormArray(plan, g, "bias", as: "bias"),
                     buffer(plan, k.operands.output!, as: "y", .write)],
            grid: elementGrid(s, target), body: body)
    }

    static func statisticsArray(_ plan: KernelPlan, _ k: Kernel, _ s: BatchNormShape) -> LoweredArray {
        LoweredArray(name: "stats", source: .buffer(k.operands.statistics!), type: .float, access: .read,
                     comment: "\(k.operands.statistics!) (4,\(s.channels)): mean, inv, sums of dz, dz*xhat")
    }

    /// dz (through the activation) and xhat at (n, p, ch).
    static func batchNormGradientTerms(_ plan: KernelPlan, _ k: Kernel, _ g: FusedGroup, _ s: BatchNormShape,
                                       _ target: LoweringTarget) -> [Stmt] {
        let o = k.operands
        let dy: Expr = .load("dy", .wide("n") * .int(stride(plan, o.outputGradient!, target)) + s.element)
        let y: Expr = .load("y", .wide("n") * .int(g.output.count) + s.element)
        let x: Expr = .load("x", .wide("n") * .int(g.input.count) + s.element)
        return [.constant("dz", .float, activationGradient(dy, output: y, g.activation)),
                .constant("xhat", .float, (x - .load("stats", statistic(.mean, s)))
                          * .load("stats", statistic(.inverseDeviation, s)))]
    }

    static func batchNormBackwardArrays(_ plan: KernelPlan, _ k: Kernel, _ g: FusedGroup) -> [LoweredArray] {
        let o = k.operands
        return [buffer(plan, o.outputGradient!, as: "dy", .read), buffer(plan, o.input!, as: "x", .read)]
            + (g.activation == nil ? [] : [buffer(plan, o.savedOutput!, as: "y", .read)])
    }

    /// The sums over the batch the input gradient needs, which are also the gradients of the shift (sum of dz)
    /// and the scale (sum of dz * xhat): stored in the statistics buffer and as the parameters' gradients.
    static func batchNormBackwardSums(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup,
                                      _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], s = BatchNormShape(g.input), ch = s.ch
        var body = overBatch(s, sums: [("s1", "dz"), ("s2", "dz" * "xhat")],
                             prelude: batchNormGradientTerms(plan, k, g, s, target))
        body += [.store("stats", statistic(.shiftGradient, s), "s1"), .store("stats", statistic(.scaleGradient, s), "s2"),
                 .store("dbias", ch, "s1"), .store("dweight", ch, "s2")]
        var stats = statisticsArray(plan, k, s)
        stats.access = .readWrite
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): per channel over the batch, s1 = sum of dz (\(g.name).bias's gradient) and "
                      + "s2 = sum of dz * xhat (\(g.name).weight's)"],
            arrays: batchNormBackwardArrays(plan, k, g)
                + [stats, batchNormArray(plan, g, "weight", as: "dweight", gradient: true),
                   batchNormArray(plan, g, "bias", as: "dbias", gradient: true)],
            grid: channelGrid(s, target), overBatch: true, stepValues: [.batch], body: body)
    }

    /// dx = weight * inv * (dz - (s1 + xhat * s2) / M), element by element.
    static func batchNormBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup,
                                  _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], s = BatchNormShape(g.input), ch = s.ch, dx = k.operands.inputGradient!
        let values: Expr = .toFloat("batch" * .int(s.positions))
        let body = batchNormGradientTerms(plan, k, g, s, target) + [
            .store("dx", .wide("n") * .int(stride(plan, dx, target)) + s.element,
                   .load("weight", ch) * .load("stats", statistic(.inverseDeviation, s))
                   * ("dz" - (.load("stats", statistic(.shiftGradient, s))
                              + "xhat" * .load("stats", statistic(.scaleGradient, s))) / values)),
        ]
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): dx = weight * inv * (dz - (s1 + xhat * s2) / M), M = \(s.positions) x the batch"],
            arrays: batchNormBackwardArrays(plan, k, g)
                + [statisticsArray(plan, k, s), batchNormArray(plan, g, "weight", as: "weight"),
                   buffer(plan, dx, as: "dx", .write)],
            grid: elementGrid(s, target), stepValues: [.batch], body: body)
    }
}
