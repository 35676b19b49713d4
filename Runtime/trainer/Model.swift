// The library API of a generated package: `Model`, a trained network that apps load from a checkpoint and run on
// images. It is the trainer's own evaluation path (TrainableNetwork.evaluate: batchnorm with its running statistics,
// dropout passing its input through) and its own checkpoint reader (Checkpoint.swift), so it predicts exactly what
// `train` measures. The generated Library.swift adds the public initializer for the package's `Network`; this file
// names no generated type. `RuntimeError` (Console.swift) is the one public error type.
import Foundation

/// A trained network, ready to classify images. Not for use from several threads at once (it owns one set of
/// buffers); create one per thread instead.
///
///     let model = try Model(checkpoint: "mnist002.safetensors")
///     let probabilities = try model.predict(pixels)   // pixels: n * model.sampleSize raw values
public final class Model {
    /// The network's name as the `net` statement gives it, and its source file's name.
    public let name: String
    /// One image: `inputHeight * inputWidth * inputChannels` values in height, width, channel order.
    public let inputHeight: Int, inputWidth: Int, inputChannels: Int
    /// Classes are `0..<classes`; `predict` returns that many probabilities per image.
    public let classes: Int
    /// The values of one image: `inputHeight * inputWidth * inputChannels`.
    public var sampleSize: Int { inputHeight * inputWidth * inputChannels }

    private let network: any TrainableNetwork
    /// The most samples one forward pass takes.
    let batch: Int
    /// Labels for the forward pass when the caller has none (the loss it computes is then ignored).
    private var noLabels: [Int32]

    /// Loads network `N` with the weights of the checkpoint at `path` (Checkpoint.swift checks every name, shape
    /// and dtype), with buffers for `batch` samples. The memory it needs is checked first.
    convenience init<N: TrainableNetwork>(_ network: N.Type, checkpoint path: String, batch: Int, threads: Int,
                                          device: Int?) throws {
        try Self.check(N.self, batch: batch, threads: threads)
        try self.init(network, checkpoint: try openCheckpoint(path), batch: batch, threads: threads, device: device)
    }

    /// The same with the checkpoint already opened (its header read and checked).
    init<N: TrainableNetwork>(_: N.Type, checkpoint: SafetensorsReader, batch: Int, threads: Int, device: Int?) throws {
        let info = N.info
        try Self.check(N.self, batch: batch, threads: threads)
        try checkMemory(need: N.memoryBytes(maxBatch: batch, threads: threads), available: availableMemoryBytes(),
                        what: "the network \(info.name) for batches of \(batch) with \(threads) threads",
                        hint: "use a smaller batch" + (threads > 1 ? " or fewer threads" : ""))
        let network = try N(maxBatch: batch, threads: threads, device: device)
        try loadCheckpoint(network, from: checkpoint)
        self.network = network
        self.batch = batch
        name = info.name
        (inputHeight, inputWidth, inputChannels, classes) = (info.inputH, info.inputW, info.inputC, info.classes)
        noLabels = [Int32](repeating: 0, count: batch)
    }

    /// Whether network `N` can be built with `batch` and `threads`: errors that need no file.
    private static func check<N: TrainableNetwork>(_: N.Type, batch: Int, threads: Int) throws {
        guard batch >= 1, batch <= maximumBatch else {
            throw RuntimeError("batch \(batch): must be in 1...\(maximumBatch)")
        }
        guard threads >= 1, threads <= maximumThreads else {
            throw RuntimeError("threads \(threads): must be in 1...\(maximumThreads)")
        }
        try validateParameterTable(N.info.parameters, parameterCount: N.info.parameterCount)
    }

    /// The class probabilities of each image in `images`: `n * sampleSize` raw values (n >= 1), image after image,
    /// each in height, width, channel order, as the trainer reads them (pixel values 0...255 from PNG or IDX files,
    /// before the network's `scale` and `normalize`, which it applies itself). Returns n arrays of `classes`
    /// probabilities that sum to 1. Throws a `RuntimeError` when `images` is empty or not whole images.
    public func predict(_ images: [Float]) throws -> [[Float]] {
        guard !images.isEmpty, images.count % sampleSize == 0 else {
            throw RuntimeError("predict: \(images.count) values are not whole images of \(sampleSize) values "
                + "(\(SampleLayout(height: inputHeight, width: inputWidth, channels: inputChannels, classes: classes, network: name).inputDescription))")
        }
        let count = images.count / sampleSize
        var out: [[Float]] = []
        out.reserveCapacity(count)
        images.withUnsafeBufferPointer { all in
            var start = 0
            while start < count {
                let n = min(batch, count - start)
                _ = evaluate(all.baseAddress! + start * sampleSize, labels: nil, count: n) { row in out.append(Array(row)) }
                start += n
            }
        }
        return out
    }

    /// One forward pass in evaluation mode on `count` (1...batch) samples at `images`; `body` sees each sample's
    /// probabilities in order. With `labels`, returns how many samples the network classifies right, counted as
    /// the trainer counts them for its test accuracy.
    func evaluate(_ images: UnsafePointer<Float>, labels: UnsafePointer<Int32>?, count: Int,
                  _ body: (UnsafeBufferPointer<Float>) -> Void) -> Int {
        precondition(count >= 1 && count <= batch)
        let result = noLabels.withUnsafeBufferPointer { zeros in
            network.evaluate(images: images, labels: labels ?? zeros.baseAddress!, count: count)
        }
        let probabilities = network.probabilities
        for i in 0..<count { body(UnsafeBufferPointer(start: probabilities + i * classes, count: classes)) }
        return result.correct
    }
}
