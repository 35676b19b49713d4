/// The GLSL form of the SGD update (pooling and the loss are lowered: Lower/LoweringPool.swift, LoweringLoss.swift).
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
            c.line("float v = pc.mu * momentum[t] + grads[t];")
            c.line("momentum[t] = v;")
            c.line("params[t] -= pc.lr * v;")
        }
    }
}
