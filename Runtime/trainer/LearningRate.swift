// The learning rate of every optimizer step: linear warm-up, then constant, step decay or cosine annealing, with
// PyTorch's semantics (LambdaLR-style warm-up, StepLR stepped per epoch, CosineAnnealingLR stepped per optimizer
// step with T_max = T - warmup). Computed in Double, handed to the update kernels as a Float.
import Foundation

/// How the learning rate changes after warm-up.
enum TrainerSchedule: Equatable, Sendable {
    case constant
    /// lr * gamma^floor((epoch - 1) / every)
    case step(every: Int, gamma: Double)
    /// lr * (1 + cos(pi * (t - warmup - 1) / (T - warmup))) / 2
    case cosine

    var description: String {
        switch self {
        case .constant: return "constant"
        case let .step(every, gamma): return "step (x\(gamma) every \(every) epochs)"
        case .cosine: return "cosine"
        }
    }
}

/// The learning rate over one run of `totalSteps` optimizer steps.
struct LearningRatePlan: Equatable, Sendable {
    let base: Double
    let schedule: TrainerSchedule
    let warmup: Int
    let totalSteps: Int

    /// The rate of optimizer step `t` (1-based), taken in epoch `epoch` (1-based).
    func rate(step t: Int, epoch: Int) -> Double {
        if warmup > 0 && t <= warmup { return base * Double(t) / Double(warmup) }
        switch schedule {
        case .constant:
            return base
        case let .step(every, gamma):
            return base * pow(gamma, Double((max(epoch, 1) - 1) / every))
        case .cosine:
            let span = totalSteps - warmup
            guard span > 0 else { return base }
            return base * 0.5 * (1 + cos(Double.pi * Double(t - warmup - 1) / Double(span)))
        }
    }
}
