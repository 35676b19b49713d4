// The optimizer's settings (`train optimizer=...` and the flags over it) and the values of each of its steps, which
// the generated kernels read (net_optimizer_values in C, the `optimizer` buffer on Vulkan: the fields in the same
// order, StepValue.optimizerValues in cnnc). PyTorch's semantics: torch.optim.SGD, Adam, AdamW.
import Foundation

enum OptimizerKind: String, Sendable, CaseIterable {
    case sgd, adam, adamw
}

struct OptimizerSettings: Sendable, Equatable {
    var kind: OptimizerKind
    /// SGD's momentum.
    var momentum: Float
    /// Adam's decay rates of the first and second moments, and the term added to the denominator.
    var beta1: Float
    var beta2: Float
    var eps: Float
    /// nil: the kind's default, 0 (sgd, adam) or 0.01 (adamw), as PyTorch's.
    var weightDecay: Float?

    init(kind: OptimizerKind = .sgd, momentum: Float = 0.9, beta1: Float = 0.9, beta2: Float = 0.999,
         eps: Float = 1e-8, weightDecay: Float? = nil) {
        self.kind = kind; self.momentum = momentum; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay
    }

    var effectiveWeightDecay: Float { weightDecay ?? (kind == .adamw ? 0.01 : 0) }

    /// The state arrays the kind keeps, each as long as the trainable parameters: SGD's velocity; Adam's first and
    /// second moments (PyTorch's momentum_buffer; exp_avg and exp_avg_sq).
    var stateNames: [String] { kind == .sgd ? ["momentum_buffer"] : ["exp_avg", "exp_avg_sq"] }

    /// `sgd (momentum 0.9)`, `adamw (beta1 0.9, beta2 0.999, eps 1e-08, weight decay 0.01)`.
    var description: String {
        let decay = effectiveWeightDecay == 0 ? "" : ", weight decay \(effectiveWeightDecay)"
        switch kind {
        case .sgd: return "sgd (momentum \(momentum)\(decay))"
        case .adam, .adamw: return "\(kind.rawValue) (beta1 \(beta1), beta2 \(beta2), eps \(eps)\(decay))"
        }
    }

    /// The values of optimizer step `t` (1, 2, ...) at learning rate `learningRate`, computed in double precision
    /// and rounded once, as PyTorch computes its Python-float scalars.
    func values(learningRate lr: Double, step t: Int) -> OptimizerValues {
        let wd = Double(effectiveWeightDecay)
        var v = OptimizerValues()
        v.lr = Float(lr)
        switch kind {
        case .sgd:
            v.mu = momentum
            v.wd = Float(wd)
        case .adam, .adamw:
            let b1 = Double(beta1), b2 = Double(beta2)
            v.beta1 = beta1
            v.beta2 = beta2
            v.eps = eps
            v.stepSize = Float(lr / (1 - pow(b1, Double(t))))
            v.bias2Sqrt = Float((1 - pow(b2, Double(t))).squareRoot())
            if kind == .adam { v.wd = Float(wd) } else { v.keep = Float(1 - lr * wd) }
        }
        return v
    }
}

/// The values one optimizer step's kernel reads (Lowering.optimizerStep in cnnc says how).
struct OptimizerValues: Sendable, Equatable {
    var lr: Float = 0
    var mu: Float = 0
    /// The weight decay added to the gradient (sgd, adam); 0 for adamw.
    var wd: Float = 0
    /// AdamW's decoupled decay: the weights are multiplied by 1 - lr * weight_decay first; 1 otherwise.
    var keep: Float = 1
    var beta1: Float = 0
    var beta2: Float = 0
    var eps: Float = 0
    /// lr / (1 - beta1^t) and sqrt(1 - beta2^t): Adam's bias corrections.
    var stepSize: Float = 0
    var bias2Sqrt: Float = 1

    /// In the kernels' order: lr, mu, wd, keep, beta1, beta2, eps, step_size, bias2_sqrt.
    var floats: [Float] { [lr, mu, wd, keep, beta1, beta2, eps, stepSize, bias2Sqrt] }
}
