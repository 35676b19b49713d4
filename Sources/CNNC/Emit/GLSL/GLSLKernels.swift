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
