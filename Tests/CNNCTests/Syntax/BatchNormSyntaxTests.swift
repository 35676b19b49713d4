import Foundation
import Testing
@testable import CNNC

/// `batchnorm [eps=X] [momentum=X] [relu]`: its settings and their checks, its parameters and buffers (names,
/// layouts, initial values, checkpoint order), the report's rows, the plan's kernels over the batch and the CPU
/// stages around them, and its ONNX node.
@Suite struct BatchNormSyntaxTests {
    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    static let source = """
        input 6x6x2
        conv 4 3x3 bias=none
        batchnorm eps=0.001 momentum=0.25 relu
        flatten
        batchnorm name=bn
        dense 3
        softmax
        """

    @Test func settingsParametersAndBuffers() throws {
        let c = try Self.compile(Self.source)
        let layers = c.network.layers
        #expect(layers[1].op == .batchnorm(BatchNormSpec(eps: 0.001, momentum: 0.25, relu: true)))
        #expect(layers[3].op == .batchnorm(BatchNormSpec()))
        #expect(layers[1].parameters.map(\.name) == ["batchnorm1.weight", "batchnorm1.bias"])
        #expect(layers[1].parameters.map(\.initializer) == [.ones, .zeros])
        #expect(layers[1].parameters.map(\.layout) == [.channelBias(c: 4), .channelBias(c: 4)])
        #expect(layers[1].buffers.map(\.name) == ["batchnorm1.running_mean", "batchnorm1.running_var",
                                                  "batchnorm1.num_batches_tracked"])
        #expect(layers[1].buffers.map(\.initializer) == [.zeros, .ones, .zeros])
        #expect(layers[1].buffers.allSatisfy { $0.isBuffer })
        #expect(layers[1].buffers[2].layout.torchShape == [])
        // On a flattened 4x4x4 tensor every value is a channel, in PyTorch's C,H,W order.
        #expect(layers[3].parameters[0].layout == .flatBias(h: 4, w: 4, c: 4))
        #expect(layers[3].parameters[0].layout.torchShape == [64])
        // Buffers are not parameters, but they are checkpoint state, in state_dict order after each layer's weights.
        #expect(c.network.parameterCount == 72 + 8 + 128 + 64 * 3 + 3)
        #expect(c.network.state.map(\.name).prefix(6) == ["conv1.weight", "batchnorm1.weight", "batchnorm1.bias",
                                                          "batchnorm1.running_mean", "batchnorm1.running_var",
                                                          "batchnorm1.num_batches_tracked"])
        #expect(c.plan.parameterCount == c.network.parameterCount + 4 + 4 + 1 + 64 + 64 + 1)
    }

    @Test func planKernelsAndCPUStages() throws {
        let c = try Self.compile(Self.source)
        let names = c.plan.kernels.map(\.name)
        for kernel in ["batchnorm1_statistics", "batchnorm1_forward", "batchnorm1_backward_sums", "batchnorm1_backward",
                       "bn_statistics", "bn_forward", "bn_backward_sums", "bn_backward"] {
            #expect(names.contains(kernel), "\(kernel) in \(names)")
        }
        let overBatch = c.plan.kernels.enumerated().filter(\.element.overBatch).map(\.offset)
        #expect(overBatch.map { names[$0] } == ["batchnorm1_statistics", "bn_statistics", "bn_backward_sums",
                                                "batchnorm1_backward_sums"])
        let s = Schedule.cpu(c.plan)
        // Forward: samples, statistics over the batch, samples, ...; the same around the backward sums.
        #expect(s.forwardStages.count == 5 && s.backwardStages.count == 5)
        #expect(s.forwardStages[1] == .overBatch(kernel: overBatch[0], items: 4, block: 1))
        #expect(s.forwardStages[3] == .overBatch(kernel: overBatch[1], items: 64, block: 16))
        // The scale's and shift's gradients are written whole by the sums over the batch, not per thread.
        let at = c.plan.parameterOffsets["batchnorm1.weight"]!
        #expect(s.parameterRanges.contains(ParameterRange(range: at..<(at + 4), accumulated: false)))
        #expect(s.parameterRanges.contains(ParameterRange(range: (at + 4)..<(at + 8), accumulated: false)))
    }

    @Test func reportRowsAndMemory() throws {
        let c = try Self.compile(Self.source)
        let text = ReportRenderer.render(c, format: .text, batch: 8)
        #expect(text.contains("batchnorm eps=0.001 momentum=0.25, relu"))
        #expect(text.contains("weight 4, bias 4; buffers running_mean 4, running_var 4, num_batches_tracked"))
        // 4 + 4 + 1 + 64 + 64 + 1 buffer values, in the weights' and the gradients' flat arrays (the optimizer's state
        // covers the trainable parameters only).
        #expect(text.contains("1104 bytes: batchnorm's running statistics"))
    }

    @Test(arguments: [
        ("input 4x4\nbatchnorm eps=0\nsoftmax\n", "net.cnn:2:15: error: eps must be finite and greater than 0, got '0'"),
        ("input 4x4\nbatchnorm eps=-1e-5\nsoftmax\n", "net.cnn:2:15: error: eps must be finite and greater than 0"),
        ("input 4x4\nbatchnorm eps=1e-50\nsoftmax\n", "net.cnn:2:15: error: eps '1e-50' does not fit a 32-bit float"),
        ("input 4x4\nbatchnorm momentum=1.5\nsoftmax\n", "net.cnn:2:20: error: batchnorm momentum must be in [0, 1], got '1.5'"),
        ("input 4x4\nbatchnorm momentum=-0.1\nsoftmax\n", "net.cnn:2:20: error: batchnorm momentum must be in [0, 1]"),
        ("input 4x4\nbatchnorm tanh\nsoftmax\n", "net.cnn:2:11: error: unexpected extra operand 'tanh'"),
        ("input 4x4\nbatchnorm slope=0.1\nsoftmax\n", "net.cnn:2:11: error: unknown attribute 'slope' for 'batchnorm'"),
    ])
    func errors(source: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) { try Self.compile(source) }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
    }

    @Test func momentumBoundsAreInclusive() throws {
        let c = try Self.compile("input 4x4\nbatchnorm momentum=1\nbatchnorm momentum=0\nflatten\nsoftmax\n")
        #expect(c.network.layers[0].op == .batchnorm(BatchNormSpec(momentum: 1)))
        #expect(c.network.layers[1].op == .batchnorm(BatchNormSpec(momentum: 0)))
    }

    @Test func onnxBatchNormalization() throws {
        let c = try Self.compile(Self.source)
        let m = try DecodedModel(try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network)).serialized())
        #expect(m.ops == ["Conv", "BatchNormalization", "Relu", "Flatten", "BatchNormalization", "Gemm", "Softmax"])
        let bn = try #require(m.node("batchnorm1"))
        #expect(bn.inputs.dropFirst() == ["batchnorm1.weight", "batchnorm1.bias", "batchnorm1.running_mean",
                                          "batchnorm1.running_var"])
        #expect(bn.float("epsilon") == Float(0.001) && bn.float("momentum") == Float(0.75))
        #expect(m.initializers["batchnorm1.running_var"]?.dims == [4])
        #expect(m.initializers["bn.running_mean"]?.dims == [64])
    }
}
