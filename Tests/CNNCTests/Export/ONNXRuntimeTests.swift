import Foundation
import Testing
@testable import CNNC

/// A Python that can run scripts/onnx_check.py: `CNNC_ONNX_PYTHON`, or the repository's private venv
/// `.venv-onnx` (Docs/export.md), provided it imports onnxruntime and numpy. Nil skips the end-to-end tests.
let onnxPython: String? = {
    let candidates = [ProcessInfo.processInfo.environment["CNNC_ONNX_PYTHON"],
                      repositoryRoot.appendingPathComponent(".venv-onnx/bin/python").path].compactMap { $0 }
    return candidates.first { python in
        FileManager.default.isExecutableFile(atPath: python)
            && (try? GeneratedTrainer.run(python, ["-c", "import onnxruntime, numpy"]).status) == 0
    }
}()

/// End to end, as a user runs it: train a network a few steps with its generated CPU trainer, export the
/// checkpoint to ONNX, run the model in ONNX Runtime on the images the trainer dumps probabilities for, and
/// compare the two, class by class.
@Suite("ONNX export runs in ONNX Runtime like the trainer", .serialized,
       .enabled(if: onnxPython != nil, "needs Python with onnxruntime (see Docs/export.md)"))
struct ONNXRuntimeTests {
    /// Every layer kind: conv with element bias (5x3 kernel, 2x1 stride, SAME), avgpool with SAME's one-sided
    /// pad, stand-alone channel and element biases, sigmoid, tanh, relu, maxpool with one-sided pad, flatten,
    /// dense with and without bias, a flat bias, softmax.
    static let allKinds = """
        net onnx_allkinds
        input 9x7x3
        scale 1/4
        conv 4 5x3 stride=2x1 pad=same bias=element sigmoid
        avgpool 2x3 stride=2 pad=same
        bias channel
        tanh
        conv 6 3x3 pad=1 bias=none
        bias element
        relu
        maxpool 3x3 stride=2 pad=same
        flatten
        dense 12 relu
        bias channel
        dense 6 bias=none
        sigmoid
        dense 5
        softmax
        """

    /// A softmax over a flattened spatial tensor with an element bias: its classes are in cnnc's H,W,C order.
    static let flatClasses = """
        net onnx_classes
        input 6x5x2
        conv 3 3x3 relu
        avgpool 2x2 stride=1 pad=1
        conv 2 3x2 tanh
        flatten
        bias element
        softmax
        """

    /// The input's scale and per-channel normalization (the Mul, Sub and Div before the first conv).
    static let normalized = """
        net onnx_normalize
        input 5x4x3
        scale 1/4
        normalize mean=0.5,0.25,-1 std=0.5,2,1.5
        conv 3 3x3 pad=same relu
        flatten
        dense 4
        softmax
        """

    /// A softmax straight over a spatial tensor.
    static let spatialClasses = """
        net onnx_spatial
        input 5x6x2
        maxpool 2x2 stride=1 pad=1
        conv 3 3x3 stride=2 pad=same
        softmax
        """

    @Test("the examples: ONNX Runtime's probabilities match the trainer's",
          arguments: ["digits004", "fashion", "lenet5", "mnist002", "residual", "inception", "batchnorm", "fashion_bn",
                      "resnet8"])
    func example(_ name: String) throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/\(name).cnn"), encoding: .utf8)
        try check(source, name: "onnx-\(name)")
    }

    @Test("every layer kind, both class orders and a normalized input",
          arguments: [allKinds, flatClasses, spatialClasses, normalized])
    func layerKinds(_ source: String) throws {
        let name = String(source.split(separator: "\n")[0].dropFirst("net ".count))
        try check(source, name: name)
    }

    /// Trains `source` a few steps, exports the checkpoint and compares ONNX Runtime with the trainer.
    func check(_ source: String, name: String) throws {
        let python = try #require(onnxPython)
        let trainer = try GeneratedTrainer.build(source, name: name)
        let net = trainer.compilation.network
        let root = GeneratedTrainer.workRoot
        let data = net.input.h == 28 && net.input.w == 28 && net.input.c == 1
            ? fashionMNIST : try writeRandomCSV(net, to: root.appendingPathComponent("\(name).csv")).path
        let weights = root.appendingPathComponent("\(name).safetensors").path
        let dump = root.appendingPathComponent("\(name)-dump.safetensors").path
        let model = root.appendingPathComponent("\(name).onnx").path

        let trained = try trainer.train(["--data", data, "--limit", "256", "--steps", "6", "--batch", "32",
                                         "--lr", "0.05", "--save", weights])
        try #require(trained.status == 0, "\(trained.output)")
        let dumped = try trainer.train(["--data", data, "--limit", "32", "--batch", "32", "--load", weights,
                                        "--dump-gradients", dump])
        try #require(dumped.status == 0, "\(dumped.output)")
        try ONNXExport.export(trainer.compilation, weightsPath: weights, to: model)

        // The comparison means something only if the probabilities differ between classes and samples.
        let expected = try #require(try SafeTensorsFile.read(URL(fileURLWithPath: dump))["probabilities"])
        #expect(expected.shape == [32, net.output.count])
        let spread = (expected.values.max() ?? 0) - (expected.values.min() ?? 0)
        #expect(spread > 1e-3, "probabilities nearly uniform (spread \(spread)); the check would prove little")

        let run = try GeneratedTrainer.run(python, [repositoryRoot.appendingPathComponent("scripts/onnx_check.py").path,
                                                    model, "--data", data, "--dump", dump])
        try #require(run.status == 0, "\(run.output)")
        let fields = run.output.split(whereSeparator: \.isWhitespace)
        let diff = try #require(fields.count >= 2 && fields[0] == "max_abs_diff" ? Double(fields[1]) : nil, "\(run.output)")
        #expect(diff < 1e-5, "\(name): ONNX Runtime differs from the trainer by \(diff)")
        print("onnx \(name): \(run.output.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// 256 samples of whole numbers in 0...4 (so that `scale` matters) with random labels, seeded.
    func writeRandomCSV(_ net: Network, to url: URL) throws -> URL {
        var state: UInt64 = 0x5eed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        let images = (0..<256).map { _ in (0..<net.input.count).map { _ in Double(next() % 5) } }
        let labels = (0..<256).map { _ in Int(next() % UInt64(net.output.count)) }
        try writeCSV(images, labels, to: url)
        return url
    }
}
