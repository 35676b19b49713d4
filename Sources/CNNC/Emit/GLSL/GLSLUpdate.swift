/// The GLSL frame of the SGD update, whose step is Lowering.sgdStep (pooling and the loss are lowered whole:
/// Lower/LoweringPool.swift, LoweringLoss.swift).
extension GLSLProgram {
    func sgdUpdate(_ ki: Int) -> GLSLShader {
        let n = plan.parameterCount
        return shader("sgd_update", kernel: ki, group: nil, what: [
            "SGD with momentum (PyTorch's): v = mu * v + g; w -= lr * v, over all \(n) parameters.",
            "One invocation per parameter; lr and mu are push constants.",
        ], bindings: [
            GLSLBinding(storage: "params", array: "params", access: .readWrite, comment: "(\(n)) parameters"),
            GLSLBinding(storage: "momentum", array: "momentum", access: .readWrite, comment: "(\(n)) momentum"),
            GLSLBinding(storage: "grads", array: "grads", access: .read, comment: "(\(n)) mean gradients of the last batch"),
        ], threads: .fixed(n)) { c in
            for v in [StepValue.lr, .mu] { c.line("float \(v.rawValue) = \(Self.pushConstant(v));") }
            KernelPrinter(lang: lang) { "\($0)[\($1)]" }.print(Lowering.sgdStep(gradient: .load("grads", "t"), at: "t"), into: &c)
        }
    }
}
