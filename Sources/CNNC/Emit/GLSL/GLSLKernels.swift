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

/// The activation's gradient inside the backward shaders of a conv or dense group: where nothing else reads dz (a
/// residual's gradient is dz, left in place) and its readers read each element of it at most
/// `fusedActivationReads` times in all, the input-gradient, weight-gradient and bias-gradient shaders read dy and
/// the saved output and apply the derivative as they load (dz = dy * act'(y)), so no pass writes dz first.
/// Otherwise a pass writes dz in place (dy and y loaded and dz stored once per element, and one barrier), which
/// costs less than loading y again at every read: a conv's readers read each element taps x channel blocks times.
extension GLSLProgram {
    /// Reads of each dz element at most for which its readers apply the derivative themselves: the loads of dy and
    /// y and the store of dz that a pass of its own costs.
    static let fusedActivationReads = 3

    func fusesActivationGradient(_ g: FusedGroup) -> Bool {
        g.activation != nil && g.residualInputs.isEmpty && dzReads(g) <= Self.fusedActivationReads
    }

    /// How many times the backward shaders of a conv or dense group read each element of dz (about, for a strided
    /// conv's input gradient): once per bias, and once per block of the other operand each gradient sums over.
    func dzReads(_ g: FusedGroup) -> Int {
        switch g.op {
        case let .conv(oc, w):
            let s = Schedule.gpuConv(g, filters: oc, window: w)
            let taps = w.kernel.y * w.kernel.x
            let dx = g.needsInputGradient
                ? max(1, taps * (g.input.c / s.inputGradient.channels) / (w.stride.y * w.stride.x)) : 0
            return g.biases.count + taps * (g.input.c / s.weightGradient.inputs) + dx
        case let .dense(units):
            let s = Schedule.gpuDense(g, units: units)
            let n = g.input.count
            return g.biases.count + n / s.weightGradient.inputs + (g.needsInputGradient ? n / s.inputs : 0)
        default:
            return Int.max
        }
    }

    /// The bindings a backward shader reads dz through: dy as `dz`, and the saved output as `y` where fused.
    func dzBindings(_ k: Kernel, _ g: FusedGroup) -> [GLSLBinding] {
        [bind(k.operands.outputGradient!, as: "dz", .read)]
            + (fusesActivationGradient(g) ? [bind(k.operands.savedOutput!, as: "y", .read)] : [])
    }

    /// dz at `index` (of the group's output, printed).
    func dz(_ g: FusedGroup, _ index: String) -> String {
        guard fusesActivationGradient(g) else { return "dz[\(index)]" }
        let e = Lowering.activationGradient(.load("dz", .name(index)), output: .load("y", .name(index)), g.activation)
        return "(" + KernelPrinter(lang: lang) { "\($0)[\($1)]" }.expr(e) + ")"
    }

    /// `n` values of dz from `index`, as one value of type vec(n) (GLSLText.load's shape).
    func dzVector(_ g: FusedGroup, _ index: String, _ n: Int) -> String {
        guard fusesActivationGradient(g) else { return GLSLText.load("dz", index, n) }
        guard n > 1 else { return dz(g, index) }
        return "vec\(n)(" + (0..<n).map { dz(g, $0 == 0 ? index : "\(index) + \($0)") }.joined(separator: ", ") + ")"
    }
}
