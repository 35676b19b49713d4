/// The optimizer of a `train` statement: `optimizer=sgd|adam|adamw` (default sgd), sgd's `momentum=X`, adam's and
/// adamw's `beta1=X`, `beta2=X` and `eps=X`, and `weight_decay=X` for all three. An attribute of another optimizer
/// is an error, not silently ignored.
extension LineContext {
    func optimizer(_ words: [String: Word]) throws -> Optimizer {
        var o = Optimizer()
        if let kind = words["optimizer"] {
            guard let k = Optimizer.Kind(rawValue: kind.text) else {
                throw error("unknown optimizer \(kind.quoted)", at: kind,
                            hint: "one of " + Optimizer.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            o.kind = k
        }
        let applies = o.kind == .sgd ? ["momentum"] : ["beta1", "beta2", "eps"]
        for key in ["momentum", "beta1", "beta2", "eps"] where !applies.contains(key) {
            if let w = words[key] {
                throw error("'\(key)=' does not apply to optimizer=\(o.kind.rawValue)", at: w,
                            hint: o.kind == .sgd ? "\(key)= is adam's and adamw's; write optimizer=adam"
                                                 : "momentum= is sgd's; adam's moments decay by beta1= and beta2=")
            }
        }
        if let w = words["momentum"] { o.momentum = try momentum(w) }
        if let w = words["beta1"] { o.beta1 = try beta(w, "beta1", pytorch: "0.9") }
        if let w = words["beta2"] { o.beta2 = try beta(w, "beta2", pytorch: "0.999") }
        if let w = words["eps"] { o.eps = try adamEps(w) }
        if let w = words["weight_decay"] { o.weightDecay = try weightDecay(w) }
        return o
    }

    /// A decay rate of Adam's moments, in [0, 1) as SGD's momentum.
    func beta(_ v: Word, _ name: String, pytorch: String) throws -> Double {
        try decayRate(v, name, expected: "a decay rate like \(pytorch)", hint: "PyTorch's default is \(pytorch)")
    }

    /// Adam's eps: positive, finite, and normal as a 32-bit float (it is added to a square root in Float).
    func adamEps(_ v: Word) throws -> Double {
        let e = try number(v, expected: "an epsilon like 1e-8")
        guard e.isFinite, e > 0, Float(e).isNormal, Float(e).isFinite else {
            throw error("eps must be positive and a normal 32-bit float, got \(v.quoted)", at: v,
                        hint: "PyTorch's default is 1e-8")
        }
        return e
    }

    /// Weight decay: at least 0, finite as a 32-bit float.
    func weightDecay(_ v: Word) throws -> Double {
        let d = try number(v, expected: "a weight decay like 5e-4")
        guard d >= 0, Float(d).isFinite, d == 0 || Float(d).isNormal else {
            throw error("weight_decay must be 0 or a positive normal 32-bit float, got \(v.quoted)", at: v,
                        hint: "a weight decay like 5e-4 (sgd, adam) or 0.01 (adamw's default)")
        }
        return d
    }
}

/// The learning-rate schedule of a `train` statement: `schedule=constant|step|cosine`, `warmup=N` (optimizer
/// steps), `step=E` (epochs; schedule=step only, and required there) and `gamma=X` (schedule=step only, default
/// 0.1). Read together after the statement's other attributes, so that they may come in any order.
extension LineContext {
    func schedule(_ words: [String: Word]) throws -> (LearningRateSchedule, warmup: Int) {
        let warmup = try words["warmup"].map {
            try count($0, "warm-up step count", expected: "a non-negative number of optimizer steps")
        } ?? 0
        let kind = words["schedule"]
        if let kind, !LearningRateSchedule.keywords.contains(kind.text) {
            throw error("unknown schedule \(kind.quoted)", at: kind,
                        hint: "one of " + LearningRateSchedule.keywords.joined(separator: ", "))
        }
        guard kind?.text == "step" else {
            for key in ["step", "gamma"] {
                if let w = words[key] {
                    throw error("'\(key)=' applies only to schedule=step", at: w,
                                hint: "write schedule=step step=E, or remove \(key)=")
                }
            }
            return (kind?.text == "cosine" ? .cosine : .constant, warmup)
        }
        guard let every = words["step"] else {
            throw error("schedule=step needs step=E, the epochs between decays", at: kind!,
                        hint: "for example schedule=step step=10 gamma=0.1")
        }
        let epochs = try size(every, "step (epochs between decays)")
        let gamma = try words["gamma"].map { w -> Double in
            let g = try number(w, expected: "a decay factor like 0.1")
            guard g > 0, g <= 1, Float(g).isNormal else {
                throw error("gamma must be in (0, 1], got \(w.quoted)", at: w, hint: "PyTorch's default is 0.1")
            }
            return g
        } ?? LearningRateSchedule.defaultGamma
        return (.step(every: epochs, gamma: gamma), warmup)
    }
}
