/// What the GLSL shaders share: the fused epilogue (biases, then the activation, spelled by KernelLanguage.glsl).
/// Conv shaders are in GLSLConv.swift, dense ones in GLSLDense.swift.
extension GLSLProgram {
    var lang: KernelLanguage { .glsl }

    /// The epilogue on `v`: biases (read from `params` at their offsets), then the activation. `channel` and
    /// `element` index a bias before its offset is added.
    func epilogue(_ g: FusedGroup, channel: String, element: String) -> [String] {
        let biases = g.biases.map { b in
            (kind: b.kind, pointer: "params", comment: "\(b.parameter.name) (\(b.kind.rawValue)) at \(offset(b.parameter))")
        }
        var lines: [String] = []
        for (b, spelled) in zip(g.biases, biases) {
            let at = offset(b.parameter)
            lines += lang.epilogue("v", biases: [spelled], activation: nil, channel: "\(at) + \(channel)", element: "\(at) + \(element)")
        }
        return lines + lang.epilogue("v", biases: [], activation: g.activation, channel: channel, element: element)
    }
}
