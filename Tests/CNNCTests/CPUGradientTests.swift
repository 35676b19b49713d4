import Foundation
import Testing
@testable import CNNC

/// The generated C, built as a user builds it, against the reference interpreter: forward probabilities, loss and
/// every parameter gradient, within 1e-4 relative error in float. Together the nets cover every layer kind,
/// strides, SAME and asymmetric padding, explicit padding, non-square inputs and kernels, and several channels;
/// wide_e has a conv too large for the transposed-weight input gradient, so it takes the other form.
@Suite("generated C matches the reference", .serialized)
struct CPUGradientTests {
    static let nets: [(name: String, source: String)] = [
        ("mix_a", """
         net mix_a
         input 9x7x2
         scale 0.5
         conv 4 3x3 pad=same relu
         maxpool 2x2 stride=2 pad=same
         conv 5 3x2 stride=2 pad=1 bias=element sigmoid
         bias channel
         avgpool 2x2 stride=1 pad=same
         tanh
         flatten
         dense 6 bias=none
         bias channel
         relu
         dense 3 tanh
         softmax
         """),
        ("mix_b", """
         net mix_b
         input 6x5x3
         bias element
         conv 3 2x3 stride=2x1 bias=none
         sigmoid
         avgpool 3x3 stride=2 pad=same
         relu
         maxpool 2x1 stride=1x1 pad=valid
         dense 4 bias=channel sigmoid
         bias element
         dense 3
         softmax
         """),
        ("mix_c", """
         net mix_c
         input 8x8
         scale 1/16
         conv 2 3x3 pad=1 relu
         conv 4 3x3 pad=1 relu
         maxpool 2x2
         dense 32 relu
         dense 10
         softmax
         """),
        ("flat_d", """
         net flat_d
         input 3x4x5
         conv 3 1x1 bias=none
         flatten
         bias element
         tanh
         dense 6 bias=none
         bias channel
         relu
         dense 3 tanh
         softmax
         """),
        ("wide_e", """
         net wide_e
         input 3x3x64
         conv 64 1x1 bias=none relu
         conv 128 3x3 pad=same
         dense 3
         softmax
         """),
    ]

    @Test("forward, loss and every gradient", arguments: 0..<5)
    func matchesReference(_ index: Int) throws {
        let (name, source) = Self.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name)
        let net = trainer.compilation.network
        let batch = 7
        let params = Reference.randomParameters(net, seed: 7 + UInt64(index), scale: 0.5)
        let (images, labels) = RefNet.data(net, count: batch, seed: 11 + UInt64(index))
        let root = GeneratedTrainer.workRoot
        let weightsURL = root.appendingPathComponent("\(name)-weights.safetensors")
        let dataURL = root.appendingPathComponent("\(name).csv")
        let dumpURL = root.appendingPathComponent("\(name)-dump.safetensors")
        var tensors: [String: SafeTensorsFile.Tensor] = [:]
        for p in net.parameters {
            tensors[p.name] = .init(shape: p.layout.torchShape, values: params[p.name]!.map(Float.init))
        }
        try SafeTensorsFile.write(tensors, to: weightsURL)
        try writeCSV(images, labels, to: dataURL)

        // Three threads (gradient accumulators summed across threads) and one (accumulating in place).
        for threads in ["3", "1"] {
            try? FileManager.default.removeItem(at: dumpURL)
            let run = try trainer.train(["--data", dataURL.path, "--load", weightsURL.path, "--batch", "\(batch)",
                                         "--threads", threads, "--dump-gradients", dumpURL.path])
            #expect(run.status == 0, "\(run.output)")
            let dump = try SafeTensorsFile.read(dumpURL)
            // The reference sees the same float inputs and weights the trainer read.
            let floatParams = params.mapValues { $0.map { Double(Float($0)) } }
            let floatImages = images.map { $0.map { Double(Float($0)) } }
            let ref = Reference.run(net, parameters: floatParams, images: floatImages, labels: labels)

            var report = "\(name), \(threads) thread(s): max relative difference"
            let probs = try #require(dump["probabilities"])
            let probError = relativeError(probs.values, ref.probabilities.flatMap { $0 })
            report += " probabilities \(probError)"
            #expect(probError < 1e-4)
            let loss = try #require(dump["loss"])
            #expect(abs(Double(loss.values[0]) - ref.loss) / max(1e-6, abs(ref.loss)) < 1e-4)
            for p in net.parameters {
                let got = try #require(dump[p.name], "no gradient for \(p.name)")
                #expect(got.shape == p.layout.torchShape, "\(p.name) shape")
                let e = relativeError(got.values, ref.gradients[p.name]!)
                report += ", \(p.name) \(e)"
                #expect(e < 1e-4, "\(name): gradient of \(p.name) differs by \(e)")
            }
            print(report)
        }
    }

    /// max |a - b| over the tensor, relative to its largest reference magnitude.
    func relativeError(_ got: [Float], _ want: [Double]) -> Double {
        guard got.count == want.count else { return .infinity }
        let scale = max(want.map(abs).max() ?? 0, 1e-6)
        return zip(got, want).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
    }
}
