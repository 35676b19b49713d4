/// The lowering rules: plan kernels to the target-neutral form of LoopIR.swift, written once for both targets.
/// Each rule states the arithmetic of one kernel kind as loops over its NHWC indices; the C and GLSL printers
/// spell the result without deciding anything. Kernels without a rule here still have a form of their own in
/// each printer (the convolutions and dense layers, whose register-blocked forms differ by target).
public enum Lowering {
    /// The lowered form of plan kernel `ki` for `target`: usually one kernel; a backward kernel whose parameter
    /// gradients a target sums in reduction kernels is followed by those. Nil where the kernel has no rule yet.
    public static func lower(_ plan: KernelPlan, kernel ki: Int, for target: LoweringTarget) -> [LoweredKernel]? {
        let k = plan.kernels[ki]
        if k.phase == .loss { return [crossEntropy(plan, ki, target)] }
        guard let gi = k.group else {
            return k.phase == .forward && k.name == "input_scale" ? [inputScale(plan, ki).withAccessFromBody()] : nil
        }
        let g = plan.groups[gi]
        switch (k.phase, g.op) {
        case (.backward, _) where k.operands.gradientTerm != nil: return [gradientSum(plan, ki, target).withAccessFromBody()]
        case (.forward, .add): return [addForward(plan, ki, g).withAccessFromBody()]
        case (.backward, .add): return [addBackward(plan, ki, g, target).withAccessFromBody()]
        case (.forward, .concat): return [concatForward(plan, ki, g).withAccessFromBody()]
        case (.backward, .concat): return [concatBackward(plan, ki, g, target).withAccessFromBody()]
        case (.forward, .globalAvgPool): return [globalAvgPoolForward(plan, ki, g).withAccessFromBody()]
        case (.backward, .globalAvgPool): return [globalAvgPoolBackward(plan, ki, g, target).withAccessFromBody()]
        case let (.forward, .dropout(p)): return [dropoutForward(plan, ki, g, p: p).withAccessFromBody()]
        case let (.backward, .dropout(p)): return [dropoutBackward(plan, ki, g, p: p, target).withAccessFromBody()]
        case (.forward, .batchnorm) where k.overBatch: return [batchNormStatistics(plan, ki, g, target).withAccessFromBody()]
        case (.forward, .batchnorm): return [batchNormForward(plan, ki, g, target).withAccessFromBody()]
        case (.backward, .batchnorm) where k.overBatch:
            return [batchNormBackwardSums(plan, ki, g, target).withAccessFromBody()]
        case (.backward, .batchnorm): return [batchNormBackward(plan, ki, g, target).withAccessFromBody()]
        case (.forward, .elementwise): return [elementwiseForward(plan, ki, g).withAccessFromBody()]
        case (.forward, .softmax): return [softmaxForward(plan, ki, g).withAccessFromBody()]
        case (.backward, .elementwise): return backwardPrologue(plan, ki, g, target, inputGradient: true)
        case let (.forward, .pool(kind, w)): return [poolForward(plan, ki, g, kind, w, target)]
        case let (.backward, .pool(kind, w)): return [poolBackward(plan, ki, g, kind, w, target)]
        default: return nil
        }
    }

    /// The one kernel a target runs for plan kernel `ki` (the rules of the forward pass lower to one).
    public static func lower(_ plan: KernelPlan, kernel ki: Int) -> LoweredKernel? {
        lower(plan, kernel: ki, for: .sampleRanges)?.first
    }

    // MARK: the shared arithmetic

    /// The activation of `x`.
    public static func activate(_ x: Expr, _ a: Activation) -> Expr {
        switch a {
        case .relu: return .select(x > .float(0), x, .float(0))
        case .sigmoid: return .float(1) / (.float(1) + .call(.exp, [.negate(x)]))
        case .tanh: return .call(.tanh, [x])
        case let .leakyrelu(slope): return .select(x > .float(0), x, .float(slope) * x)
        }
    }

    /// The gradient through an activation, from the gradient `dy` and the activation's output `y` (every
    /// activation of the language has a derivative expressible through its output).
    public static func activationGradient(_ dy: Expr, output y: Expr, _ a: Activation?) -> Expr {
        switch a {
        case nil: return dy
        case .relu: return .select(y > .float(0), dy, .float(0))
        case .sigmoid: return dy * y * (.float(1) - y)
        case .tanh: return dy * (.float(1) - y * y)
        // With slope >= 0 the output is positive exactly where the input is.
        case let .leakyrelu(slope): return .select(y > .float(0), dy, .float(slope) * dy)
        }
    }

    /// The fused epilogue on the local `v`: each bias (channel or element), then the activation.
    static func epilogue(_ g: FusedGroup, value v: String, channel: Expr, element: Expr) -> [Stmt] {
        var body: [Stmt] = []
        for (i, b) in g.biases.enumerated() {
            let index = b.kind == .channel ? channel : element
            body.append(.addAssign(v, .load("bias\(i)", index)))
        }
        if let a = g.activation { body.append(.assign(v, activate(.name(v), a))) }
        return body
    }

    // MARK: arrays

    static func buffer(_ plan: KernelPlan, _ name: String, as array: String, _ access: LoweredArray.Access)
        -> LoweredArray {
        let b = plan.buffer(name)!
        return LoweredArray(name: array, source: .buffer(name), type: b.isInteger ? .int : .float, access: access,
                            comment: "\(name) \(describe(b.shape))")
    }

    static func biases(_ g: FusedGroup) -> [LoweredArray] {
        g.biases.enumerated().map { i, b in
            LoweredArray(name: "bias\(i)", source: .parameter(b.parameter.name), type: .float, access: .read,
                         comment: "\(b.parameter.name) \(b.parameter.layout.shapeComment)")
        }
    }

    /// The row-major offset of the coordinates (outermost first) within their extents; a coordinate of extent 1 is
    /// absent from a `Grid` and from the offset.
    static func flatIndex(_ coordinates: (String, Int)...) -> Expr {
        coordinates.filter { $0.1 > 1 }.reduce(Expr.int(0)) { $0 * .int($1.1) + .name($1.0) }
    }

    /// Elements between consecutive samples of `buffer` on `target`.
    static func stride(_ plan: KernelPlan, _ buffer: String, _ target: LoweringTarget) -> Int {
        let b = plan.buffer(buffer)!
        guard b.role == .gradient, target.gradientStride == .slot else { return b.shape.count }
        return plan.gradientSlots.first { $0.name == b.storage }?.elements ?? b.shape.count
    }

    /// `(N,28,28,16)`, or `(N,100)` for a flat tensor.
    static func describe(_ s: Shape) -> String { s.flat ? "(N,\(s.count))" : "(N,\(s.h),\(s.w),\(s.c))" }

    // MARK: rules

    /// The scaled input: y = x * scale, element by element; with `normalize`, y = (x * scale - mean[c]) / std[c],
    /// in torchvision's order of operations (ToTensor's scaling, then Normalize's subtraction and division). Per
    /// channel values are constants of the loop body, one store per channel of each position.
    static func inputScale(_ plan: KernelPlan, _ ki: Int) -> LoweredKernel {
        let net = plan.network, count = net.input.count, channels = net.input.c
        let k = plan.kernels[ki]
        let scaleText = net.scaleText ?? "\(net.scale)"
        func value(_ at: Expr, channel c: Int) -> Expr {
            let scaled = net.scale == 1 ? Expr.load("x", at) : .load("x", at) * .float(net.scale)
            guard let norm = net.normalization else { return scaled }
            return (scaled - .float(norm.mean[c])) / .float(norm.std[c])
        }
        var summary = "\(k.name): y = x * \(scaleText)  [scale]"
        if let norm = net.normalization {
            let scaled = net.scale == 1 ? "x" : "x * \(scaleText)"
            // The values as written, unless too long for a comment line (they are in the loop body anyway).
            let values = norm.text.count <= 72 ? " " + norm.text : ", \(channels) channels"
            summary = "\(k.name): y = (\(scaled) - mean[c]) / std[c]  [normalize\(values)]"
        }
        let arrays = [buffer(plan, k.operands.input!, as: "x", .read),
                      buffer(plan, k.operands.output!, as: "y", .write)]
        guard let norm = net.normalization, !norm.isUniform else {
            let at: Expr = .wide("n") * .int(count) + "i"
            return LoweredKernel(name: k.name, kernel: ki, group: nil, summary: [summary], arrays: arrays,
                                 grid: .perSample(("i", count)), body: [.store("y", at, value(at, channel: 0))])
        }
        let position: Expr = .wide("n") * .int(count) + .name("p") * .int(channels)
        return LoweredKernel(
            name: k.name, kernel: ki, group: nil, summary: [summary], arrays: arrays,
            grid: .perSample(("p", net.input.h * net.input.w)),
            body: (0..<channels).map { c in .store("y", position + .int(c), value(position + .int(c), channel: c)) })
    }

    /// Stand-alone biases and/or an activation: y = act(x + biases).
    static func elementwiseForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup) -> LoweredKernel {
        let k = plan.kernels[ki], s = g.output
        let element = flatIndex(("p", s.h * s.w), ("ch", s.c))
        let at: Expr = .wide("n") * .int(s.count) + element
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = \(PlanPrinter.describe(g))(x)"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read)] + biases(g)
                + [buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("p", s.h * s.w), ("ch", s.c)),
            body: [.variable("v", .float, .load("x", at))]
                + epilogue(g, value: "v", channel: s.c > 1 ? "ch" : 0, element: element)
                + [.store("y", at, "v")])
    }

    /// y = exp(x - max) / sum(exp(x - max)), one sample at a time.
    static func softmaxForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup) -> LoweredKernel {
        let k = plan.kernels[ki], classes = g.output.count
        let x: (Expr) -> Expr = { .load("x", "b" + $0) }
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = exp(x - max) / sum(exp(x - max)) over each sample's \(classes) values"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read), buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(),
            body: [
                .constant("b", .index, .wide("n") * .int(classes)),
                .variable("m", .float, x(0)),
                .loop("j", from: 1, to: .int(classes), [.assign("m", .select(x("j") > "m", x("j"), "m"))]),
                .variable("s", .float, .float(0)),
                .loop("j", from: 0, to: .int(classes), [
                    .constant("e", .float, .call(.exp, [x("j") - "m"])),
                    .store("y", "b" + "j", "e"),
                    .addAssign("s", "e"),
                ]),
                .constant("inv", .float, .float(1) / "s"),
                .loop("j", from: 0, to: .int(classes), [.store("y", "b" + "j", .load("y", "b" + "j") * "inv")]),
            ])
    }

    /// The start of a group's backward pass: dz = dout * activation'(out), the gradients of its biases and, for a
    /// stand-alone bias or activation (`inputGradient`), din = dz. Per-thread targets add each bias's terms as they
    /// go; the others store dz in place (later kernels read it) and sum the bias gradients in reduction kernels, or
    /// with `activationInConsumers` (a conv or dense group whose every reader of dz applies the derivative itself)
    /// store nothing and sum the bias gradients of dy * act'(y).
    public static func backwardPrologue(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, _ target: LoweringTarget,
                                        inputGradient: Bool, activationInConsumers: Bool = false) -> [LoweredKernel] {
        let k = plan.kernels[ki], o = k.operands, s = g.output
        let element = flatIndex(("p", s.h * s.w), ("ch", s.c))
        let dyStride = stride(plan, o.outputGradient!, target)
        let atDy: Expr = .wide("n") * .int(dyStride) + element
        var arrays = [buffer(plan, o.outputGradient!, as: "dy", .read)]
        if g.activation != nil { arrays.append(buffer(plan, o.savedOutput!, as: "y", .read)) }
        let dz = activationGradient(.load("dy", atDy), output: .load("y", .wide("n") * .int(s.count) + element), g.activation)
        var body: [Stmt] = [.constant("dz", .float, dz)]
        let perThread = target.gradientSums == .perThread
        if !perThread && g.activation != nil { body.append(.store("dy", atDy, "dz")) }
        if perThread {
            for (i, b) in g.biases.enumerated() {
                arrays.append(LoweredArray(name: "dbias\(i)", source: .parameterGradient(b.parameter.name), type: .float,
                                           access: .readWrite, comment: "\(b.parameter.name)'s gradient"))
                body.append(.accumulate("dbias\(i)", b.kind == .channel ? (s.c > 1 ? "ch" : 0) : element, "dz"))
            }
        }
        let dx = inputGradient ? o.inputGradient : nil
        if let dx {
            arrays.append(buffer(plan, dx, as: "dx", .write))
            body.append(.store("dx", .wide("n") * .int(stride(plan, dx, target)) + element, "dz"))
        }
        var kernels: [LoweredKernel] = []
        let act = g.activation.map { "dz = dy * \($0.description)'(y)" } ?? "dz = dy"
        let fused = activationInConsumers && !perThread && dx == nil && g.activation != nil
        if !fused && (perThread || g.activation != nil || dx != nil) {
            let name = perThread ? k.name : k.name + (dx == nil ? "_dz" : "_dx")
            var what = act
            if !perThread && g.activation != nil { what += " in place" }
            if perThread && !g.biases.isEmpty { what += ", the bias gradients" }
            if dx != nil { what += ", dx = dz" }
            kernels.append(LoweredKernel(name: name, kernel: ki, group: k.group, summary: ["\(name): " + what],
                                         arrays: arrays, grid: .perSample(("p", s.h * s.w), ("ch", s.c)),
                                         body: body).withAccessFromBody())
        }
        if !perThread {
            for (i, b) in g.biases.enumerated() {
                kernels.append(biasReduction(plan, ki, g, bias: i, dz: o.outputGradient!, stride: dyStride, b,
                                             activationOf: fused ? o.savedOutput : nil))
            }
        }
        return kernels
    }

    /// A bias gradient as a reduction kernel: the sum of dz over the batch, and over the positions for a channel
    /// bias on a spatial tensor (a row of a sample is then one row of the image).
    /// With `activationOf` (the saved output), dz is dy * act'(y), read from dy (bound as `dz`) and y.
    static func biasReduction(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, bias i: Int, dz: String, stride: Int,
                              _ b: EpilogueBias, activationOf saved: String? = nil) -> LoweredKernel {
        let k = plan.kernels[ki], s = g.output
        let name = k.name + "_db" + (g.biases.count == 1 ? "" : String(i))
        let sample: Expr = .wide("n") * .int(stride)
        let perChannel = b.kind == .channel && !s.flat
        let row: Expr = s.h > 1 ? "row" : 0  // a reduction with one row per sample has no row coordinate
        // dz at an element of the sample from where the sample starts (y's samples are as long as its shape, dz's
        // as its stride).
        func term(_ at: (Expr) -> Expr) -> Expr {
            guard saved != nil else { return .load("dz", at(sample)) }
            return activationGradient(.load("dz", at(sample)), output: .load("y", at(.wide("n") * .int(s.count))),
                                      g.activation)
        }
        let body: [Stmt] = perChannel
            ? [.loop("x", from: 0, to: .int(s.w),
                     [.addAssign("acc", term { $0 + (row * .int(s.w) + "x") * .int(s.c) + "b" })])]
            : [.addAssign("acc", term { $0 + "b" })]
        let what = perChannel ? "\(b.parameter.name) gradient (channel): sum over n, y, x of dz[n,y,x,c]"
                              : "\(b.parameter.name) gradient (per element): sum over n of dz[n,e]"
        return LoweredKernel(name: name, kernel: ki, group: k.group, summary: ["\(name): " + what],
                             arrays: [buffer(plan, dz, as: "dz", .read)]
                                 + (saved.map { [buffer(plan, $0, as: "y", .read)] } ?? []),
                             grid: .perSample(),
                             reduction: Reduction(parameter: b.parameter.name, elements: b.parameter.count,
                                                  rowsPerSample: perChannel ? s.h : 1, what: what),
                             body: body)
    }
}
