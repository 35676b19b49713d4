/// The lowering rules: plan kernels to the target-neutral form of LoopIR.swift, written once for both targets.
/// Each rule states the arithmetic of one kernel kind as loops over its NHWC indices; the C and GLSL printers
/// spell the result without deciding anything. Kernels without a rule here still have a form of their own in
/// each printer (the convolutions and dense layers, whose register-blocked forms differ by target).
public enum Lowering {
    /// The lowered form of plan kernel `ki`, or nil where the kernel has no rule yet.
    public static func lower(_ plan: KernelPlan, kernel ki: Int) -> LoweredKernel? {
        let k = plan.kernels[ki]
        guard let gi = k.group else {
            return k.phase == .forward && k.name == "input_scale" ? inputScale(plan, ki).withAccessFromBody() : nil
        }
        let g = plan.groups[gi]
        switch (k.phase, g.op) {
        case (.forward, .elementwise): return elementwiseForward(plan, ki, g).withAccessFromBody()
        case (.forward, .softmax): return softmaxForward(plan, ki, g).withAccessFromBody()
        default: return nil
        }
    }

    // MARK: the shared arithmetic

    /// The activation of `x`.
    public static func activate(_ x: Expr, _ a: Activation) -> Expr {
        switch a {
        case .relu: return .select(x > .float(0), x, .float(0))
        case .sigmoid: return .float(1) / (.float(1) + .call(.exp, [.negate(x)]))
        case .tanh: return .call(.tanh, [x])
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
                         comment: "\(b.parameter.name) (\(b.parameter.layout.internalShape.map(String.init).joined(separator: ",")))")
        }
    }

    /// The row-major offset of the coordinates (outermost first) within their extents; a coordinate of extent 1 is
    /// absent from a `Grid` and from the offset.
    static func flatIndex(_ coordinates: (String, Int)...) -> Expr {
        coordinates.filter { $0.1 > 1 }.reduce(Expr.int(0)) { $0 * .int($1.1) + .name($1.0) }
    }

    /// `(N,28,28,16)`, or `(N,100)` for a flat tensor.
    static func describe(_ s: Shape) -> String { s.flat ? "(N,\(s.count))" : "(N,\(s.h),\(s.w),\(s.c))" }

    // MARK: rules

    /// The scaled input: y = x * scale, element by element.
    static func inputScale(_ plan: KernelPlan, _ ki: Int) -> LoweredKernel {
        let net = plan.network, count = net.input.count
        let k = plan.kernels[ki]
        let at: Expr = .wide("n") * .int(count) + "i"
        return LoweredKernel(
            name: k.name, kernel: ki, group: nil,
            summary: ["\(k.name): y = x * \(net.scaleText ?? "\(net.scale)")  [scale]"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read), buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("i", count)),
            body: [.store("y", at, .load("x", at) * .float(net.scale))])
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
}
