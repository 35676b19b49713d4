// The epoch loop: shuffle, gather each batch into the staging buffer, step the network, evaluate, report.

/// Loss and accuracy over a data set.
struct Evaluation {
    let loss: Double
    let accuracy: Double
    /// Forward-pass (inference) throughput of the evaluation, gathering included.
    let imagesPerSecond: Double
}

/// Preallocated batch buffers: `capacity` samples of images and labels, plus an index list for in-order batches.
final class StagingBuffer {
    let capacity: Int
    let images: UnsafeMutablePointer<Float>
    let labels: UnsafeMutablePointer<Int32>
    let sequence: UnsafeMutablePointer<Int32>

    init(capacity: Int, sampleSize: Int) {
        self.capacity = capacity
        images = .allocate(capacity: capacity * sampleSize)
        images.initialize(repeating: 0, count: capacity * sampleSize)
        labels = .allocate(capacity: capacity)
        labels.initialize(repeating: 0, count: capacity)
        sequence = .allocate(capacity: capacity)
        sequence.initialize(repeating: 0, count: capacity)
    }

    deinit {
        images.deallocate()
        labels.deallocate()
        sequence.deallocate()
    }

    /// Gathers samples `start..<start+count` of `data`, in order.
    func gatherInOrder(_ data: Dataset, start: Int, count: Int) {
        for i in 0..<count { sequence[i] = Int32(start + i) }
        data.gather(UnsafeBufferPointer(start: sequence, count: count), images: images, labels: labels)
    }
}

/// How a run ended: all epochs (or --steps) done, or stopped between two steps by a signal.
enum TrainingOutcome: Equatable {
    case finished
    case interrupted(signal: Int32, epoch: Int, steps: Int)
}

/// Training in chunks, possibly across ranks (DataParallel.swift): the team, how each batch is split, and the
/// global batch (--batch, or the largest data set when that is smaller), which every rank steps through together.
struct Parallelism {
    let team: Team
    let split: BatchSplit
    let batch: Int
}

/// A loss that became nan or inf: training stops, and nothing is saved unless --save-on-nan asks for it.
struct DivergedError: Error {
    let message: String
}

final class Trainer<N: TrainableNetwork> {
    let network: N
    let options: Options
    let data: DataSets
    let staging: StagingBuffer
    private var order: [Int32]
    private var shuffler: TrainerRandom
    private var metrics: MetricsLog
    private var progress = ProgressLine()
    /// --checkpoint-dir, where every complete epoch is saved; --resume's checkpoint, where training continues.
    let checkpoints: CheckpointFolder?
    let resume: (point: ResumePoint, state: TrainingState)?
    /// nil: one process steps on whole batches (the network's threads split each one).
    let parallel: Parallelism?
    private let step: DataParallelStep<N>?
    /// Samples per step (the last step of an epoch may have fewer).
    let batch: Int

    init(network: N, options: Options, data: DataSets, staging: StagingBuffer, checkpoints: CheckpointFolder? = nil,
         resume: (point: ResumePoint, state: TrainingState)? = nil, parallel: Parallelism? = nil) {
        self.parallel = parallel
        step = parallel.map { DataParallelStep(network: network, team: $0.team, split: $0.split,
                                               sampleSize: data.train.sampleSize) }
        batch = parallel?.batch ?? min(options.batch, staging.capacity)
        self.network = network
        self.options = options
        self.data = data
        self.staging = staging
        self.checkpoints = checkpoints
        self.resume = resume
        order = (0..<data.train.count).map { Int32($0) }
        shuffler = TrainerRandom(seed: options.seed, stream: 1)
        metrics = MetricsLog(path: options.metricsPath, plotPath: options.plotPath, title: N.info.name)
    }

    /// Mean loss and accuracy of the network on `set`, in batches of the training batch size.
    func evaluate(_ set: Dataset) -> Evaluation {
        var lossSum = 0.0
        var correct = 0
        var start = 0
        let started = monotonicSeconds()
        if let step, let parallel {  // the ranks' units added in order: the same figures for any number of ranks
            (lossSum, correct) = step.evaluate(set, staging: staging, unit: parallel.split.largestChunk(batch))
        } else {
            while start < set.count {
                let count = min(staging.capacity, set.count - start)
                staging.gatherInOrder(set, start: start, count: count)
                let result = network.evaluate(images: staging.images, labels: staging.labels, count: count)
                lossSum += result.lossSum
                correct += result.correct
                start += count
            }
        }
        let seconds = monotonicSeconds() - started
        return Evaluation(loss: lossSum / Double(set.count), accuracy: Double(correct) / Double(set.count),
                          imagesPerSecond: seconds > 0 ? Double(set.count) / seconds : 0)
    }

    /// Trains for the requested epochs (or steps), printing and recording each epoch, then the final test result.
    /// A signal (see Interrupt.swift) ends training after the step in flight, recording the partial epoch.
    func run() throws -> TrainingOutcome {
        let train = data.train
        let batch = self.batch
        let batches = (train.count + batch - 1) / batch
        var steps = 0
        var lastTest: Evaluation? = nil
        var interruption: TrainingOutcome? = nil
        var firstEpoch = 1
        var bestAccuracy: Double? = nil
        if let resume {  // where the checkpoint's run was after its last epoch (its weights are loaded)
            network.restoreTrainingState(resume.state)
            try restoreOrder(resume.point)
            firstEpoch = resume.point.epoch + 1
            steps = resume.point.steps
            bestAccuracy = resume.point.bestAccuracy
            metrics.restore(resume.point.epochs)
        } else {
            network.resetOptimizer()  // a fresh optimizer, also after --load
        }
        let plannedSteps = options.epochs.multipliedReportingOverflow(by: batches)
        let totalSteps = min(plannedSteps.overflow ? Int.max : plannedSteps.partialValue, options.steps ?? Int.max)
        let rates = LearningRatePlan(base: Double(options.learningRate), schedule: options.schedule,
                                     warmup: options.warmup, totalSteps: totalSteps)
        var learningRate = Float(rates.rate(step: 1, epoch: 1))
        let loader = BatchLoader(data: train, batch: batch, first: staging, augmentation: options.augmentation,
                                 seed: options.seed, height: N.info.inputH, width: N.info.inputW,
                                 channels: N.info.inputC)
        if let parallel { loader.split = parallel.split }
        /// The signal every rank agreed to stop for, after the last step (parallel), or this process's.
        var agreedSignal: Int32 = 0
        func stopSignal() -> Int32? { parallel == nil ? Interruption.signal : (agreedSignal == 0 ? nil : agreedSignal) }

        epochLoop: for epoch in stride(from: firstEpoch, through: options.epochs, by: 1) {
            if let parallel { agreedSignal = parallel.team.agreeOnLargest(Interruption.signal ?? 0) }
            if let signal = stopSignal() {
                interruption = .interrupted(signal: signal, epoch: epoch - 1, steps: steps)
                break
            }
            if let limit = options.steps, steps >= limit { break }
            if options.shuffle { shuffler.shuffle(&order) }
            progress.start(epoch: epoch, batches: batches, totalSteps: totalSteps)
            let started = monotonicSeconds()
            var lossSum = 0.0, correct = 0, seen = 0
            var stopAfterEpoch = false

            loader.order = order
            loader.load(0, epoch: epoch)
            for b in 0..<batches {
                let count = loader.count(b), current = loader.buffers[b % 2]
                if b + 1 < batches { loader.prefetch(b + 1, epoch: epoch) }
                defer { loader.wait() }  // the next batch is ready before anything else happens
                let result: StepResult
                if let step {
                    (result, agreedSignal) = step.computeGradients(images: current.images, labels: current.labels,
                                                                   count: count, step: steps,
                                                                   signal: Interruption.signal ?? 0)
                } else {
                    result = network.computeGradients(images: current.images, labels: current.labels, count: count)
                }
                guard result.lossSum.isFinite else {
                    progress.clear()
                    let kind = result.lossSum.isNaN ? "nan" : "inf"
                    throw DivergedError(message: "loss became \(kind) at epoch \(epoch) batch \(b + 1); try a lower --lr")
                }
                let rate = rates.rate(step: steps + 1, epoch: epoch)  // a double, as PyTorch's group["lr"]
                learningRate = Float(rate)
                network.applyUpdate(options.optimizer.values(learningRate: rate, step: steps + 1),
                                    kind: options.optimizer.kind)
                steps += 1
                lossSum += result.lossSum
                correct += result.correct
                seen += count
                progress.update(epoch: epoch, batch: b + 1, batches: batches, meanLoss: lossSum / Double(seen),
                                samples: seen, elapsed: monotonicSeconds() - started)
                if let limit = options.steps, steps >= limit {
                    stopAfterEpoch = true
                    break
                }
                if let signal = stopSignal() {
                    interruption = .interrupted(signal: signal, epoch: epoch, steps: steps)
                    break
                }
            }
            let seconds = monotonicSeconds() - started
            progress.clear()

            if interruption != nil {  // record the partial epoch, skip the evaluation: the user wants to stop
                let record = EpochMetrics(
                    epoch: epoch, loss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                    testAccuracy: nil, testLoss: nil, seconds: seconds, imagesPerSecond: seconds > 0 ? Double(seen) / seconds : 0,
                learningRate: Double(learningRate))
                try metrics.record(record)
                break epochLoop
            }
            lastTest = data.test.map { evaluate($0) }
            if let test = lastTest, !test.loss.isFinite {
                throw DivergedError(message: "test loss became \(test.loss.isNaN ? "nan" : "inf") after epoch \(epoch); "
                    + "try a lower --lr")
            }
            let record = EpochMetrics(
                epoch: epoch, loss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                testAccuracy: lastTest?.accuracy, testLoss: lastTest?.loss, seconds: seconds,
                imagesPerSecond: seconds > 0 ? Double(seen) / seconds : 0,
                learningRate: Double(learningRate))
            Console.out(summaryLine(record, epochs: options.epochs, partial: stopAfterEpoch && seen < train.count))
            try metrics.record(record)
            if let checkpoints, seen == train.count {
                let improved = lastTest.map { $0.accuracy > (bestAccuracy ?? -1) } ?? false
                if improved { bestAccuracy = lastTest?.accuracy }
                let point = ResumePoint(epoch: epoch, steps: steps, shuffler: shuffler.state, bestAccuracy: bestAccuracy,
                                        settings: RunSetting.of(options, trainSamples: train.count), epochs: metrics.epochs)
                try checkpoints.write(network, point, best: improved)
            }
            if stopAfterEpoch { break epochLoop }
        }

        if case .interrupted(let signal, _, let steps)? = interruption {
            try metrics.finish(FinalMetrics(testAccuracy: nil, testLoss: nil, inferenceImagesPerSecond: nil,
                                            interruptedBy: Interruption.name(signal), steps: steps))
            return interruption!
        }
        if let test = data.test {
            let result = lastTest ?? evaluate(test)
            guard result.loss.isFinite else {
                throw DivergedError(message: "test loss became \(result.loss.isNaN ? "nan" : "inf"); try a lower --lr")
            }  // the weights have not changed since the last epoch's evaluation
            Console.out("test accuracy \(fixed(result.accuracy, 4))  test loss \(fixed(result.loss, 4))"
                        + "  (inference \(fixed(result.imagesPerSecond, 0)) img/s)\n")
            try metrics.finish(FinalMetrics(testAccuracy: result.accuracy, testLoss: result.loss,
                                            inferenceImagesPerSecond: result.imagesPerSecond))
        } else {
            try metrics.finish(FinalMetrics(testAccuracy: nil, testLoss: nil, inferenceImagesPerSecond: nil))
        }
        return .finished
    }

    /// The data order and the shuffler after the checkpoint's epochs: their shuffles replayed (each shuffles the
    /// order left by the one before), which must reach the shuffler position the checkpoint saved.
    private func restoreOrder(_ point: ResumePoint) throws {
        if options.shuffle { for _ in 0..<point.epoch { shuffler.shuffle(&order) } }
        let batches = (data.train.count + batch - 1) / batch
        guard shuffler.state == point.shuffler, point.steps == point.epoch * batches else {
            throw RuntimeError("--resume \(options.resumePath ?? ""): the checkpoint's shuffling and steps (\(point.steps) after epoch \(point.epoch)) "
                + "do not follow from its settings and data; was it written by another version of this trainer?")
        }
    }

    /// `epoch 1/3  loss 0.4012  train_acc 0.8561  test_acc 0.8702  12.3 s  4876 img/s`.
    private func summaryLine(_ e: EpochMetrics, epochs: Int, partial: Bool) -> String {
        var text = "epoch \(e.epoch)/\(epochs)  loss \(fixed(e.loss, 4))  train_acc \(fixed(e.trainAccuracy, 4))"
        if let accuracy = e.testAccuracy { text += "  test_acc \(fixed(accuracy, 4))" }
        text += "  \(fixed(e.seconds, 1)) s  \(fixed(e.imagesPerSecond, 0)) img/s"
        if partial, let limit = options.steps { text += "  (stopped after \(limit) steps)" }
        return text + "\n"
    }
}

/// --dump-gradients: the gradients of the first min(batch, N) training samples in file order, their softmax
/// probabilities and mean loss, written as safetensors (parameter gradients in PyTorch layout).
func dumpGradients<N: TrainableNetwork>(_ network: N, data: Dataset, batch: Int, staging: StagingBuffer,
                                        to path: String) throws {
    let info = N.info
    let count = min(batch, data.count, staging.capacity)
    staging.gatherInOrder(data, start: 0, count: count)
    let result = network.computeGradients(images: staging.images, labels: staging.labels, count: count)
    network.synchronizeParameters()
    var tensors = parameterTensors(network.gradients, info, gradients: true)
    let probabilities = Array(UnsafeBufferPointer(start: network.probabilities, count: count * info.classes))
    tensors.append(NamedTensor(name: "probabilities", shape: [count, info.classes], values: probabilities))
    tensors.append(NamedTensor(name: "loss", shape: [1], values: [Float(result.lossSum / Double(count))]))
    let metadata = checkpointMetadata(info) + [("content", "gradients"), ("samples", String(count)),
                                         ("correct", String(result.correct))]
    try writeFileAtomically(safetensorsBytes(tensors, metadata: metadata), to: path)
    Console.out("wrote the gradients of \(count) samples to \(path) (loss \(fixed(result.lossSum / Double(count), 6)))\n")
}
