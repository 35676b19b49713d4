import Foundation
import Testing
@testable import TrainerRuntime

/// The learning rate of every step (Runtime/trainer/LearningRate.swift) against PyTorch's schedulers, and the
/// trainer flags that choose it.
@Suite("Learning-rate schedules")
struct LearningRateTests {
    /// `optimizer.param_groups[0]["lr"]` before each step, printed by PyTorch 2.15 for base lr 0.1:
    /// SequentialLR([LinearLR(start_factor=1/3, total_iters=2), CosineAnnealingLR(T_max=7)], milestones=[3]) over
    /// 10 steps; StepLR(step_size=2, gamma=0.5) stepped per epoch of 2 steps, 5 epochs; CosineAnnealingLR(T_max=7).
    static let warmupCosine = [0.03333333333333333, 0.06666666666666667, 0.1, 0.1, 0.09504844339512096,
                               0.08117449009293669, 0.061126046697815725, 0.03887395330218429, 0.018825509907063328,
                               0.004951556604879048]
    static let stepDecay = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025]
    static let cosine = [0.1, 0.09504844339512096, 0.08117449009293669, 0.061126046697815725, 0.03887395330218429,
                         0.018825509907063328, 0.004951556604879048]

    static func rates(_ plan: LearningRatePlan, stepsPerEpoch: Int = 1) -> [Double] {
        (1...plan.totalSteps).map { plan.rate(step: $0, epoch: ($0 - 1) / stepsPerEpoch + 1) }
    }

    static func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-15 * max(1, abs($1)) }
    }

    @Test("warm-up then cosine, step decay and plain cosine equal PyTorch's schedulers")
    func pytorch() {
        let warm = Self.rates(LearningRatePlan(base: 0.1, schedule: .cosine, warmup: 3, totalSteps: 10))
        #expect(Self.close(warm, Self.warmupCosine), "\(warm)")
        let step = Self.rates(LearningRatePlan(base: 0.1, schedule: .step(every: 2, gamma: 0.5), warmup: 0,
                                               totalSteps: 10), stepsPerEpoch: 2)
        #expect(Self.close(step, Self.stepDecay), "\(step)")
        let cosine = Self.rates(LearningRatePlan(base: 0.1, schedule: .cosine, warmup: 0, totalSteps: 7))
        #expect(Self.close(cosine, Self.cosine), "\(cosine)")
        let constant = Self.rates(LearningRatePlan(base: 0.1, schedule: .constant, warmup: 4, totalSteps: 6))
        #expect(Self.close(constant, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]), "\(constant)")
    }

    static let defaults = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1,
                                           schedule: .step(every: 3, gamma: 0.5), warmup: 2)

    @Test("the flags override the network's schedule; step size and gamma belong to --schedule step")
    func flags() throws {
        let plain = try parseOptions(["--data", "x"], defaults: Self.defaults)
        #expect(plain.schedule == .step(every: 3, gamma: 0.5) && plain.warmup == 2)
        #expect(try parseOptions(["--data", "x", "--gamma", "0.2"], defaults: Self.defaults).schedule
                == .step(every: 3, gamma: 0.2))
        let cosine = try parseOptions(["--data", "x", "--schedule", "cosine", "--warmup", "0"], defaults: Self.defaults)
        #expect(cosine.schedule == .cosine && cosine.warmup == 0)
        func message(_ arguments: [String], _ defaults: TrainingDefaults = Self.defaults) -> String? {
            do { _ = try parseOptions(arguments, defaults: defaults); return nil } catch let e as UsageError {
                return e.message
            } catch { return "\(error)" }
        }
        #expect(message(["--data", "x", "--schedule", "cosine", "--gamma", "0.5"])
                == "--gamma applies only to --schedule step (the schedule is cosine)")
        let constant = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1)
        #expect(message(["--data", "x", "--schedule", "step"], constant)
                == "--schedule step needs --step-size E, the epochs between decays")
        #expect(message(["--data", "x", "--schedule", "exp"]) == "--schedule exp: must be constant, step or cosine")
        #expect(message(["--data", "x", "--gamma", "0"]) == "--gamma 0: must be in (0, 1]")
    }

    @Test("the trainer takes each step's rate and records each epoch's last one")
    func trainerRecordsTheRate() throws {
        let dir = try RuntimeTestFiles.folder("learning-rate")
        let csv = try RuntimeTrainingTests.blobsCSV(64, stream: 8, in: dir)
        let metrics = dir.appendingPathComponent("m.json").path
        #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--epochs", "4", "--batch", "16", "--lr", "0.2",
                                                    "--schedule", "step", "--step-size", "1", "--gamma", "0.5",
                                                    "--metrics", metrics, "--threads", "1"]) == 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics)))
        let epochs = (json as? [String: Any])?["epochs"] as? [[String: Any]] ?? []
        let rates = epochs.compactMap { $0["lr"] as? Double }
        #expect(Self.close(rates.map { Double(Float($0)) }, [0.2, 0.1, 0.05, 0.025].map { Double(Float($0)) }),
                "\(rates)")
    }
}
