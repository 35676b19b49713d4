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
