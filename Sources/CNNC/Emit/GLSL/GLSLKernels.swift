/// What the GLSL shaders share: the fused epilogue (biases, residuals, then the activation, spelled by
/// KernelLanguage.glsl).
/// Conv shaders are in GLSLConv.swift, dense ones in GLSLDense.swift.
extension GLSLProgram {
    var lang: KernelLanguage { .glsl }

    /// The epilogue on `v`: biases (read from `params` at their offsets), the residuals (bound as `r0`, `r1`, ...,
    /// read at `at`, the output's own index), then the activation. `channel` and `element` index a bias before its
    /// offset is added.
    func epilogue(_ g: FusedGroup, channel: String, element: String, at: String) -> [String] {
        let biases = g.biases.map { b in
            (kind: b.kind, pointer: "params", comment: "\(b.parameter.name) (\(b.kind.rawValue)) at \(offset(b.parameter))")
        }
        var lines: [String] = []
        for (b, spelled) in zip(g.biases, biases) {
            let at = offset(b.parameter)
            lines += lang.epilogue("v", biases: [spelled], activation: nil, channel: "\(at) + \(channel)", element: "\(at) + \(element)")
        }
        let residuals = g.residualInputs.enumerated().map { r, tensor in
            (kind: BiasKind.element, pointer: "r\(r)", comment: "the residual \(tensor)")
        }
        return lines + lang.epilogue("v", biases: residuals, activation: g.activation, channel: channel, element: at)
    }
}

extension GLSLProgram {
    /// The bindings of a conv's or dense's residuals (`r0`, `r1`, ...): the kernel's inputs after the first.
    func residualBindings(_ k: Kernel) -> [GLSLBinding] {
        k.operands.otherInputs.enumerated().map { bind($1, as: "r\($0)", .read) }
    }
}

/// The activation's gradient inside the backward shaders of a conv or dense group, where the schedule fuses it
/// (`Schedule.gpuFusesActivationGradient`): they read dy (bound as `dz`) and the saved output and apply the
/// derivative as they load.
extension GLSLProgram {
    /// The bindings a backward shader reads dz through: dy as `dz`, and the saved output as `y` where fused.
    func dzBindings(_ k: Kernel, _ g: FusedGroup) -> [GLSLBinding] {
        [bind(k.operands.outputGradient!, as: "dz", .read)]
            + (Schedule.gpuFusesActivationGradient(g) ? [bind(k.operands.savedOutput!, as: "y", .read)] : [])
    }

    /// dz at `index` (of the group's output, printed).
    func dz(_ g: FusedGroup, _ index: String) -> String {
        guard Schedule.gpuFusesActivationGradient(g) else { return "dz[\(index)]" }
        let e = Lowering.activationGradient(.load("dz", .name(index)), output: .load("y", .name(index)), g.activation)
        return "(" + KernelPrinter(lang: lang) { "\($0)[\($1)]" }.expr(e) + ")"
    }

    /// `n` values of dz from `index`, as one value of type vec(n) (GLSLText.load's shape).
    func dzVector(_ g: FusedGroup, _ index: String, _ n: Int) -> String {
        guard Schedule.gpuFusesActivationGradient(g) else { return GLSLText.load("dz", index, n) }
        guard n > 1 else { return dz(g, index) }
        return "vec\(n)(" + (0..<n).map { dz(g, $0 == 0 ? index : "\(index) + \($0)") }.joined(separator: ", ") + ")"
    }
}
