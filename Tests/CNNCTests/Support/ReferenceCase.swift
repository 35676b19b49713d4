import Foundation
import Testing
@testable import CNNC

/// One net of the gradient tests, set up for a generated trainer: random PyTorch-layout weights and a CSV batch
/// written to disk, and the reference interpreter's result on the same float values. `check` compares a
/// `--dump-gradients` file with it: probabilities, loss and every parameter gradient within 1e-4 relative.
struct ReferenceCase {
    let name: String
    let net: Network
    let batch: Int
    let weights: URL
    let images: [[Double]]
    let labels: [Int]
    let data: URL
    let reference: ReferenceResult
    /// The weights and buffers the trainer loads, as the reference sees them (float values), by name.
    let state: [String: [Double]]
    /// The float-rounded parameters the reference saw (with the buffers: `state` under another name).
    var parameters: [String: [Double]] { state }

    /// `masks`: the dropout masks the trainer draws in the step it dumps (`DropoutMasks`), none without dropout.
    init(_ trainer: GeneratedTrainer, name: String, index: Int, batch: Int = 7,
         masks: [String: [[Double]]] = [:]) throws {
        self.name = name
        self.batch = batch
        net = trainer.compilation.network
        let params = Reference.scalesNearOne(net, Reference.randomParameters(net, seed: 7 + UInt64(index), scale: 0.5))
            .merging(Reference.randomBuffers(net, seed: 5 + UInt64(index))) { $1 }
        let (images, labels) = RefNet.data(net, count: batch, seed: 11 + UInt64(index))
        let root = GeneratedTrainer.workRoot
        let tag = trainer.directory.lastPathComponent
        weights = root.appendingPathComponent("\(tag)-weights.safetensors")
        data = root.appendingPathComponent("\(tag).csv")
        var tensors: [String: SafeTensorsFile.Tensor] = [:]
        for p in net.state {
            tensors[p.name] = .init(shape: p.layout.torchShape, values: params[p.name]!.map(Float.init),
                                    integer: p.layout == .counter)
        }
        try SafeTensorsFile.write(tensors, to: weights)
        try writeCSV(images, labels, to: data)
        // The reference sees the same float inputs and weights the trainer reads.
        let state = params.mapValues { $0.map { Double(Float($0)) } }, floats = images.map { $0.map { Double(Float($0)) } }
        self.state = state
        self.images = floats
        self.labels = labels
        reference = Reference.run(net, parameters: state, images: floats, labels: labels, masks: masks)
    }

    /// The trainer's arguments that dump the gradients of this case's batch to `dump`.
    func arguments(dump: URL) -> [String] {
        ["--data", data.path, "--load", weights.path, "--batch", "\(batch)", "--dump-gradients", dump.path]
    }

    /// Compares a dump with the reference (recording test issues) and returns a line of the differences.
    func check(_ dump: URL, label: String) throws -> String {
        let tensors = try SafeTensorsFile.read(dump)
        var report = "\(label): max relative difference"
        let probs = try #require(tensors["probabilities"])
        let probError = Self.relativeError(probs.values, reference.probabilities.flatMap { $0 })
        report += " probabilities \(probError)"
        #expect(probError < 1e-4, "\(label): probabilities differ by \(probError)")
        let loss = try #require(tensors["loss"])
        #expect(abs(Double(loss.values[0]) - reference.loss) / max(1e-6, abs(reference.loss)) < 1e-4, "\(label): loss")
        for p in net.parameters {
            let got = try #require(tensors[p.name], "no gradient for \(p.name)")
            #expect(got.shape == p.layout.torchShape, "\(p.name) shape")
            let e = Self.relativeError(got.values, reference.gradients[p.name]!)
            report += ", \(p.name) \(e)"
            #expect(e < 1e-4, "\(label): gradient of \(p.name) differs by \(e)")
        }
        return report
    }

    /// max |a - b| over the tensor, relative to its largest reference magnitude.
    static func relativeError(_ got: [Float], _ want: [Double]) -> Double {
        guard got.count == want.count else { return .infinity }
        let scale = max(want.map(abs).max() ?? 0, 1e-6)
        return zip(got, want).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
    }
}
