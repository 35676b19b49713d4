/// The optimizer step, written once for both targets: each printer runs it over its own range of the flat
/// parameter array (a C loop over [p0, p1), after summing the threads' partial gradients where they accumulate;
/// a shader invocation per parameter).
extension Lowering {
    /// SGD with momentum (PyTorch's) on element `i` of the flat `params` and `momentum` arrays, given its mean
    /// gradient: v = mu * v + g; w -= lr * v, with `lr` and `mu` the step's values.
    static func sgdStep(gradient g: Expr, at i: Expr) -> [Stmt] {
        [
            .constant("v", .float, .name(StepValue.mu.rawValue) * .load("momentum", i) + g),
            .store("momentum", i, "v"),
            .store("params", i, .load("params", i) - .name(StepValue.lr.rawValue) * "v"),
        ]
    }
}
