/// The GLSL frame of the optimizer steps, whose bodies are Lowering.optimizerStep (pooling and the loss are lowered
/// whole: Lower/LoweringPool.swift, LoweringLoss.swift). The plan's one update kernel becomes two shaders, SGD's
/// and Adam's (AdamW is Adam with other values); the trainer dispatches the one its optimizer needs.
extension GLSLProgram {
    func updateShaders(_ ki: Int) -> [GLSLShader] {
        let n = plan.trainableCount
        return Optimizer.Kind.allCases.filter { $0 != .adamw }.map { kind in
            let what = kind == .sgd
                ? "SGD with momentum and weight decay (PyTorch's): v = mu * v + g + wd * w; w -= lr * v."
                : "Adam or AdamW (PyTorch's), as the trainer's values say: Lowering.optimizerStep."
            var bindings = [
                GLSLBinding(storage: "params", array: "params", access: .readWrite, comment: "(\(n)) trainable parameters"),
                GLSLBinding(storage: "grads", array: "grads", access: .read, comment: "(\(n)) mean gradients of the last batch"),
            ]
            for state in Lowering.stateArrays(kind) {
                bindings.append(GLSLBinding(storage: state, array: state, access: .readWrite, comment: "(\(n)) optimizer state"))
            }
            bindings.append(GLSLBinding(storage: Self.optimizerStorage, array: Self.optimizerStorage, access: .read,
                                        comment: "(\(StepValue.optimizerValues.count)) this step's optimizer values"))
            return shader("\(kind.rawValue)_update", kernel: ki, group: nil, what: [
                what, "One invocation per trainable parameter (batchnorm's running statistics lie after them).",
            ], bindings: bindings, threads: .fixed(n), note: "one invocation per trainable parameter (\(n))") { c in
                for v in Lowering.stepValues(kind) { c.line("float \(v.rawValue) = \(Self.pushConstant(v));") }
                KernelPrinter(lang: lang) { "\($0)[\($1)]" }
                    .print(Lowering.optimizerStep(kind, gradient: .load("grads", "t"), at: "t"), into: &c)
            }
        }
    }
}
