/// The loss, written once for both targets: per sample, the cross-entropy of the logits against the label, whether
/// the logits' arg max is the label, and (when training) the gradient that seeds the backward pass. A target that
/// sums per thread (`GradientSums.perThread`) adds the loss and the hits into totals its caller reads; the others
/// store a hit flag per sample, which the host adds up.
extension Lowering {
    /// loss = log(sum(exp(x - m))) + m - x[label] with m the largest logit (stable), and dx = (p - onehot(label)) /
    /// batch, p the softmax of x: the softmax layer's output where the network ends in one, computed here otherwise.
    /// On an invocation grid the loss computes that softmax itself and stores it (`softmaxInLoss`: the softmax
    /// layer has no pass of its own there, one barrier fewer).
    static func crossEntropy(_ plan: KernelPlan, _ ki: Int, _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands
        let classes = plan.buffer(o.input!)!.shape.count
        let x: (Expr) -> Expr = { .load("x", "b" + $0) }
        let p: (Expr) -> Expr = o.probabilities != nil ? { .load("p", "b" + $0) } : { .call(.exp, [x($0) - "m"]) / "s" }
        let storesSoftmax = o.probabilities != nil && softmaxInLoss(target)
        var arrays = o.probabilities.map { [buffer(plan, $0, as: "p", storesSoftmax ? .readWrite : .read)] } ?? []
        arrays += [buffer(plan, o.input!, as: "x", .read), buffer(plan, o.labels!, as: "labels", .read),
                   buffer(plan, o.loss!, as: "loss", .write)]
        let hit: Expr = .select(.equal("best", "label"), 1, 0)
        var body: [Stmt] = [
            .constant("b", .index, .wide("n") * .int(classes)),
            .constant("label", .int, .load("labels", "n")),
            .variable("m", .float, x(0)),
            .variable("best", .int, 0),
            .loop("j", from: 1, to: .int(classes), [.when(x("j") > "m", [.assign("m", x("j")), .assign("best", "j")])]),
            .variable("s", .float, .float(0)),
            .loop("j", from: 0, to: .int(classes), [.addAssign("s", .call(.exp, [x("j") - "m"]))]),
            .constant("l", .float, .call(.log, ["s"]) + "m" - x("label")),
        ]
        if storesSoftmax {  // the softmax layer's arithmetic (softmaxForward), on the max and sum found above
            body += [
                .constant("rs", .float, .float(1) / "s"),
                .loop("j", from: 0, to: .int(classes), [.store("p", "b" + "j", .call(.exp, [x("j") - "m"]) * "rs")]),
            ]
        }
        body += [
            .store("loss", "n", "l"),
        ]
        var totals: [Total] = []
        if target.gradientSums == .perThread {
            totals = [Total(name: "loss_sum", type: .float), Total(name: "correct", type: .int)]
            body += [.addAssign("loss_sum", "l"), .addAssign("correct", hit)]
        } else {
            arrays.append(LoweredArray(name: "hits", source: .hostOutput("hits"), type: .int, access: .write,
                                       comment: "(N) hit flags"))
            body.append(.store("hits", "n", hit))
        }
        var values: [StepValue] = []
        if let dx = o.inputGradient {
            arrays.append(buffer(plan, dx, as: "dx", .write))
            values = [.batch, .training]
            let onehot: Expr = .select(.equal("j", "label"), .float(1), .float(0))
            body.append(.when(.notEqual("training", 0), [
                .constant("inv", .float, .float(1) / .toFloat("batch")),
                .loop("j", from: 0, to: .int(classes), [
                    .store("dx", .wide("n") * .int(stride(plan, dx, target)) + "j", (p("j") - onehot) * "inv"),
                ]),
            ]))
        }
        let of = o.probabilities != nil ? "the softmax" : "the logits"
        return LoweredKernel(name: k.name, kernel: ki, group: k.group,
                             summary: ["\(k.name): cross-entropy of \(of), loss = log(sum(exp(x - m))) + m - x[label]",
                                       "dx = (p - onehot(label)) / batch when training"],
                             arrays: arrays, grid: .perSample(), stepValues: values, totals: totals,
                             body: body).withAccessFromBody()
    }

    /// Whether the loss computes and stores the softmax of a network that ends in one, instead of a pass of the
    /// softmax layer before it: on an invocation grid (where each pass costs a barrier).
    public static func softmaxInLoss(_ target: LoweringTarget) -> Bool { target.gradientSums == .reductionKernels }
}
