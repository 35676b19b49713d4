/// The optimizer steps, written once for both targets: each printer runs one over its own range of the flat
/// parameter array (a C loop over [p0, p1), after summing the threads' partial gradients where they accumulate;
/// a shader invocation per parameter). The range covers the trainable parameters only: batchnorm's running
/// statistics lie after them in the flat array (Planner), so no optimizer or weight decay ever touches them.
/// The step's values (`OptimizerValue`) come from the trainer, computed in double precision per step: the
/// learning rate of the schedule, and Adam's bias corrections.
extension Lowering {
    /// The state arrays an optimizer keeps, each as long as the parameter array: SGD's velocity in `moment1`,
    /// Adam's first and second moments (PyTorch's exp_avg, exp_avg_sq) in `moment1` and `moment2`.
    public static func stateArrays(_ kind: Optimizer.Kind) -> [String] {
        kind == .sgd ? ["moment1"] : ["moment1", "moment2"]
    }

    /// The step values a kernel of `kind` reads.
    public static func stepValues(_ kind: Optimizer.Kind) -> [StepValue] {
        kind == .sgd ? [.lr, .mu, .wd] : [.wd, .keep, .beta1, .beta2, .eps, .stepSize, .bias2Sqrt]
    }

    /// One optimizer step on element `i` of the flat `params` array, given its mean gradient `g`.
    /// SGD (PyTorch's): g += wd*w; v = mu*v + g; w -= lr*v.
    /// Adam and AdamW (one kernel; the trainer sets the values): g += wd*w (adam's L2 term; wd = 0 for adamw);
    /// w *= keep (adamw's decoupled decay 1 - lr*wd; keep = 1 for adam); m = b1*m + (1-b1)*g;
    /// s = b2*s + (1-b2)*g*g; w -= step_size * m / (sqrt(s) / bias2_sqrt + eps), with step_size = lr/(1-b1^t) and
    /// bias2_sqrt = sqrt(1-b2^t), in the order torch.optim.Adam computes them.
    static func optimizerStep(_ kind: Optimizer.Kind, gradient g: Expr, at i: Expr) -> [Stmt] {
        func value(_ v: StepValue) -> Expr { .name(v.rawValue) }
        let decayed: [Stmt] = [
            .constant("w", .float, .load("params", i)),
            .constant("gw", .float, g + value(.wd) * "w"),
        ]
        switch kind {
        case .sgd:
            return decayed + [
                .constant("v", .float, value(.mu) * .load("moment1", i) + "gw"),
                .store("moment1", i, "v"),
                .store("params", i, "w" - value(.lr) * "v"),
            ]
        case .adam, .adamw:
            return decayed + [
                .constant("m", .float, value(.beta1) * .load("moment1", i) + (.float(1) - value(.beta1)) * "gw"),
                .constant("s", .float, value(.beta2) * .load("moment2", i) + (.float(1) - value(.beta2)) * "gw" * "gw"),
                .store("moment1", i, "m"),
                .store("moment2", i, "s"),
                .constant("denom", .float, .call(.sqrt, ["s"]) / value(.bias2Sqrt) + value(.eps)),
                .store("params", i, "w" * value(.keep) - value(.stepSize) * "m" / "denom"),
            ]
        }
    }
}
