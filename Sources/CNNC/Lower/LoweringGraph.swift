/// The lowering rules of the graph layers, written once for both targets: `add` (with its activation), `concat`,
/// `globalavgpool`, and the sum kernels the planner inserts where a tensor is read by several layers. None needs
/// a parameter gradient, so the rules do not depend on how a target sums over the batch; gradient buffers are
/// indexed with the target's stride (`Lowering.stride`).
extension Lowering {
    /// The arrays of a group's inputs: `x` for the first, `x1`, `x2`, ... for the others.
    static func inputArrays(_ plan: KernelPlan, _ k: Kernel) -> [LoweredArray] {
        let names = [k.operands.input!] + k.operands.otherInputs
        return names.enumerated().map { i, b in buffer(plan, b, as: i == 0 ? "x" : "x\(i)", .read) }
    }

    /// The input gradients a backward kernel writes, with the index of the input each belongs to (`dx`, `dx1`, ...).
    static func inputGradientArrays(_ plan: KernelPlan, _ k: Kernel) -> [(input: Int, array: LoweredArray)] {
        let o = k.operands
        return ([o.inputGradient] + o.otherInputGradients).enumerated().compactMap { i, b in
            b.map { (i, buffer(plan, $0, as: i == 0 ? "dx" : "dx\(i)", .write)) }
        }
    }

    /// y = act(x + x1 + ...), element by element.
    static func addForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup) -> LoweredKernel {
        let k = plan.kernels[ki], s = g.output
        // Element by element over the flat sample: the activation has no channel, and one flat loop is what a C
        // compiler vectorizes well (a loop over positions around one over a few channels became gathers).
        let element = flatIndex(("i", s.count))
        let at: Expr = .wide("n") * .int(s.count) + element
        let inputs = inputArrays(plan, k)
        let sum = inputs.dropFirst().reduce(Expr.load(inputs[0].name, at)) { $0 + .load($1.name, at) }
        var body: [Stmt] = [.variable("v", .float, sum)]
        if let a = g.activation { body.append(.assign("v", activate("v", a))) }
        body.append(.store("y", at, "v"))
        let terms = inputs.map(\.name).joined(separator: " + ")
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = " + (g.activation.map { "\($0.description)(\(terms))" } ?? terms)],
            arrays: inputs + [buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("i", s.count)), body: body)
    }

    /// dz = dy * act'(y); every input's gradient is dz.
    static func addBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands, s = g.output
        let element = flatIndex(("i", s.count))  // flat, as the forward
        var arrays = [buffer(plan, o.outputGradient!, as: "dy", .read)]
        if g.activation != nil { arrays.append(buffer(plan, o.savedOutput!, as: "y", .read)) }
        let dy: Expr = .load("dy", .wide("n") * .int(stride(plan, o.outputGradient!, target)) + element)
        var body: [Stmt] = [.constant("dz", .float,
                                      activationGradient(dy, output: .load("y", .wide("n") * .int(s.count) + element),
                                                         g.activation))]
        let gradients = inputGradientArrays(plan, k)
        for (_, dx) in gradients {
            arrays.append(dx)
            body.append(.store(dx.name, .wide("n") * .int(stride(plan, dx.source.bufferName, target)) + element, "dz"))
        }
        let act = g.activation.map { "dz = dy * \($0.description)'(y)" } ?? "dz = dy"
        let stores = gradients.map { "\($0.array.name) = dz" }.joined(separator: ", ")
        return LoweredKernel(name: k.name, kernel: ki, group: k.group,
                             summary: ["\(k.name): \(act); " + stores],
                             arrays: arrays, grid: .perSample(("i", s.count)), body: body)
    }

    /// y[n, p, off_i + c] = x_i[n, p, c]: each input's channels at its offset (flat inputs: values at an offset).
    static func concatForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup) -> LoweredKernel {
        let k = plan.kernels[ki], s = g.output, positions = s.h * s.w
        let inputs = inputArrays(plan, k)
        var body: [Stmt] = []
        var offset = 0
        for (a, shape) in zip(inputs, plan.network.layers[g.layers[0]].inputShapes) {
            let c = shape.c
            let from: Expr = .wide("n") * .int(shape.count) + flatIndex(("p", positions), (c > 1 ? "ch" : "0", c))
            let to: Expr = .wide("n") * .int(s.count) + (positions > 1 ? "p" * .int(s.c) : 0) + .int(offset)
                + (c > 1 ? "ch" : 0)
            let copy: Stmt = .store("y", to, .load(a.name, from))
            body.append(c > 1 ? .loop("ch", from: 0, to: .int(c), [copy]) : copy)
            offset += c
        }
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = " + inputs.map(\.name).joined(separator: " | ") + " (channels one after another)"],
            arrays: inputs + [buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("p", positions)), body: body)
    }

    /// dx_i[n, p, c] = dy[n, p, off_i + c] for every input whose gradient is needed.
    static func concatBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup,
                               _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands, s = g.output, positions = s.h * s.w
        let shapes = plan.network.layers[g.layers[0]].inputShapes
        let gradients = inputGradientArrays(plan, k)
        let dyStride = stride(plan, o.outputGradient!, target)
        var body: [Stmt] = []
        for (i, dx) in gradients {
            let c = shapes[i].c, offset = shapes[..<i].reduce(0) { $0 + $1.c }
            let from: Expr = .wide("n") * .int(dyStride) + (positions > 1 ? "p" * .int(s.c) : 0) + .int(offset)
                + (c > 1 ? "ch" : 0)
            let to: Expr = .wide("n") * .int(stride(plan, dx.source.bufferName, target))
                + flatIndex(("p", positions), (c > 1 ? "ch" : "0", c))
            let copy: Stmt = .store(dx.name, to, .load("dy", from))
            body.append(c > 1 ? .loop("ch", from: 0, to: .int(c), [copy]) : copy)
        }
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): " + gradients.map { "\($0.array.name)" }.joined(separator: ", ")
                      + " = the slices of dy at their inputs' channel offsets"],
            arrays: [buffer(plan, o.outputGradient!, as: "dy", .read)] + gradients.map(\.array),
            grid: .perSample(("p", positions)), body: body)
    }

    /// y[n, c] = the mean of x[n, :, :, c].
    static func globalAvgPoolForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup) -> LoweredKernel {
        let k = plan.kernels[ki], s = g.input, positions = s.h * s.w
        let ch: Expr = s.c > 1 ? "ch" : 0
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y[c] = the mean of x over its \(s.h)x\(s.w) positions"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read), buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("ch", s.c)),
            body: [
                .variable("s", .float, .float(0)),
                .loop("p", from: 0, to: .int(positions), [.addAssign("s", .load("x", .wide("n") * .int(s.count)
                                                                                  + "p" * .int(s.c) + ch))]),
                .store("y", .wide("n") * .int(s.c) + ch, "s" * .float(1 / Double(positions))),
            ])
    }

    /// dx[n, p, c] = dy[n, c] / (H * W).
    static func globalAvgPoolBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, _ target: LoweringTarget)
        -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands, s = g.input, positions = s.h * s.w
        let ch: Expr = s.c > 1 ? "ch" : 0
        let dy: Expr = .load("dy", .wide("n") * .int(stride(plan, o.outputGradient!, target)) + ch)
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): dx[p, c] = dy[c] / \(positions)"],
            arrays: [buffer(plan, o.outputGradient!, as: "dy", .read), buffer(plan, o.inputGradient!, as: "dx", .write)],
            grid: .perSample(("p", positions), ("ch", s.c)),
            body: [.store("dx", .wide("n") * .int(stride(plan, o.inputGradient!, target))
                          + flatIndex(("p", positions), ("ch", s.c)), dy * .float(1 / Double(positions)))])
    }

    /// d[n, i] += term[n, i]: one more reader's share of a tensor's gradient.
    static func gradientSum(_ plan: KernelPlan, _ ki: Int, _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands
        let total = o.inputGradient!, term = o.gradientTerm!
        let count = plan.buffer(term)!.shape.count
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): \(total) += \(term) (a tensor read by several layers gets the sum of "
                      + "their gradients)"],
            arrays: [buffer(plan, term, as: "term", .read), buffer(plan, total, as: "d", .readWrite)],
            grid: .perSample(("i", count)),
            body: [.accumulate("d", .wide("n") * .int(stride(plan, total, target)) + flatIndex(("i", count)),
                               .load("term", .wide("n") * .int(stride(plan, term, target)) + flatIndex(("i", count))))])
    }
}

extension LoweredArray.Source {
    /// The plan buffer a source names (every array of the graph rules is a buffer).
    var bufferName: String {
        if case .buffer(let name) = self { return name }
        preconditionFailure("not a plan buffer")
    }
}
