import Foundation
import Testing
@testable import CNNC

/// The structure of exported models, read back with the test decoder: no Python needed.
@Suite("ONNX model structure")
struct ONNXModelTests {
    func export(_ c: Compilation) throws -> DecodedModel {
        try DecodedModel(try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network)).serialized())
    }

    /// Every node input is the graph input, an initializer or an earlier node's output; every name is written once.
    func expectWellFormed(_ m: DecodedModel) {
        var defined = Set(m.inputs.map(\.name)).union(m.initializers.keys)
        var nodeNames = Set<String>()
        for node in m.nodes {
            for input in node.inputs { #expect(defined.contains(input), "\(node.name) reads undefined \(input)") }
            for output in node.outputs { #expect(defined.insert(output).inserted, "\(output) written twice") }
            #expect(nodeNames.insert(node.name).inserted, "node name \(node.name) used twice")
        }
        for output in m.outputs { #expect(defined.contains(output.name)) }
        // Every intermediate tensor has its shape declared (for Netron), with the symbolic batch first.
        let declared = Set(m.valueInfo.map(\.name))
        for node in m.nodes.dropLast() { #expect(declared.isSuperset(of: node.outputs), "\(node.name) has no value_info") }
        for v in m.valueInfo { #expect(v.dims.first == "N" && v.elementType == 1, "\(v.name): \(v.dims)") }
    }

    @Test("header: cnnc's signature first, IR version 8, opset 17 of the default domain")
    func header() throws {
        let c = try ExportFixture.example("lenet5")
        let bytes = try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network)).serialized()
        #expect(bytes.starts(with: ONNXModel.signature))
        let m = try DecodedModel(bytes)
        #expect(m.producer == "cnnc")
        #expect(m.irVersion == 8)
        #expect(m.opsets.count == 1 && m.opsets[0].domain == "" && m.opsets[0].version == 17)
        #expect(m.graphName == "lenet5")
        #expect(m.inputs.map(\.name) == ["input"] && m.inputs[0].dims == ["N", "1", "28", "28"])
        #expect(m.inputs[0].elementType == 1)
        #expect(m.outputs.map(\.name) == ["probabilities"] && m.outputs[0].dims == ["N", "10"])
    }

    @Test("every example lowers to a well-formed graph", arguments: ["digits004", "fashion", "lenet5", "mnist002", "residual", "inception",
                                                                      "batchnorm", "fashion_bn", "resnet8"])
    func examples(_ name: String) throws {
        let c = try ExportFixture.example(name)
        let m = try export(c)
        expectWellFormed(m)
        // Every parameter is an initializer with its checkpoint name and PyTorch shape (biases apart), values kept.
        let weights = ExportFixture.weights(c.network)
        for p in c.network.parameters {
            let t = try #require(m.initializers[p.name], "\(p.name) missing")
            #expect(t.dataType == 1)
            #expect(t.floats == weights[p.name], "\(p.name) values changed")
            if case .convWeight = p.layout { #expect(t.dims == p.layout.torchShape.map(Int64.init)) }
            if case .denseWeight = p.layout { #expect(t.dims == p.layout.torchShape.map(Int64.init)) }
        }
    }

    @Test("every layer kind maps to its nodes, with exact pads and attributes")
    func allKinds() throws {
        let m = try export(try ExportFixture.compile(ONNXRuntimeTests.allKinds))
        expectWellFormed(m)
        #expect(m.ops == ["Mul", "Conv", "Add", "Sigmoid", "AveragePool", "Add", "Tanh", "Conv", "Add", "Relu", "MaxPool",
                          "Flatten", "Gemm", "Relu", "Add", "Gemm", "Sigmoid", "Gemm", "Softmax"])
        // scale 1/4: a scalar multiplier in front.
        let scale = try #require(m.initializers[m.nodes[0].inputs[1]])
        #expect(m.nodes[0].inputs[0] == "input" && scale.dims == [] && scale.floats == [0.25])

        // conv 4 5x3 stride=2x1 pad=same on 9x7: pads (top, left, bottom, right) = (2, 1, 2, 1); element bias
        // as an Add of [1, C, H, W] rather than Conv's B.
        let conv1 = try #require(m.node("conv1"))
        #expect(conv1.inputs == ["input_scaled", "conv1.weight"])
        #expect(try conv1.ints("kernel_shape") == [5, 3])
        #expect(try conv1.ints("strides") == [2, 1])
        #expect(try conv1.ints("pads") == [2, 1, 2, 1])
        #expect(conv1.int("group") == 1)
        #expect(m.initializers["conv1.weight"]?.dims == [4, 3, 5, 3])
        #expect(m.initializers["conv1.bias"]?.dims == [1, 4, 5, 7])
        #expect(m.nodes[2].inputs == ["conv1", "conv1.bias"])

        // avgpool 2x3 stride=2 pad=same on 5x7: SAME pads one row at the bottom only; padded cells not counted.
        let avg = try #require(m.node("avgpool1"))
        #expect(avg.op == "AveragePool")
        #expect(try avg.ints("kernel_shape") == [2, 3])
        #expect(try avg.ints("strides") == [2, 2])
        #expect(try avg.ints("pads") == [0, 1, 1, 1])
        #expect(avg.int("count_include_pad") == 0)
        #expect(avg.int("ceil_mode") == 0)

        // Stand-alone biases: channel [1, C, 1, 1], element [1, C, H, W], flat [1, n].
        #expect(m.initializers["bias1.bias"]?.dims == [1, 4, 1, 1])
        #expect(m.initializers["bias2.bias"]?.dims == [1, 6, 3, 4])
        #expect(m.initializers["bias3.bias"]?.dims == [1, 12])

        // maxpool 3x3 stride=2 pad=same on 3x4: pads (1, 0, 1, 1).
        #expect(try m.node("maxpool1")?.ints("pads") == [1, 0, 1, 1])

        // dense: Gemm with transB, the bias as C when there is one.
        let dense1 = try #require(m.node("dense1"))
        #expect(dense1.inputs == ["flatten1", "dense1.weight", "dense1.bias"])
        #expect(dense1.int("transB") == 1 && dense1.int("transA") == 0)
        #expect(dense1.float("alpha") == 1 && dense1.float("beta") == 1)
        #expect(m.initializers["dense1.weight"]?.dims == [12, 24])
        #expect(m.node("dense2")?.inputs == ["bias3", "dense2.weight"])

        let softmax = try #require(m.nodes.last)
        #expect(softmax.op == "Softmax" && softmax.int("axis") == 1 && softmax.outputs == ["probabilities"])
        #expect(m.outputs[0].dims == ["N", "5"])
    }

    @Test("conv and dense channel biases become Conv's B and Gemm's C")
    func foldedBiases() throws {
        let m = try export(try ExportFixture.example("lenet5"))
        #expect(m.node("conv1")?.inputs == ["input_scaled", "conv1.weight", "conv1.bias"])
        #expect(m.initializers["conv1.bias"]?.dims == [6])
        #expect(m.node("dense1")?.inputs.last == "dense1.bias")
        #expect(m.initializers["dense1.bias"]?.dims == [120])
        #expect(!m.ops.contains("Add"))
        #expect(m.ops == ["Mul", "Conv", "Tanh", "AveragePool", "Conv", "Tanh", "AveragePool", "Flatten", "Gemm", "Tanh",
                          "Gemm", "Tanh", "Gemm", "Softmax"])
    }

    @Test("a softmax over a flattened spatial tensor puts its classes in cnnc's H,W,C order")
    func flatClassOrder() throws {
        let m = try export(try ExportFixture.compile(ONNXRuntimeTests.flatClasses))
        expectWellFormed(m)
        #expect(Array(m.ops.suffix(5)) == ["Add", "Reshape", "Transpose", "Flatten", "Softmax"])
        let reshape = m.nodes[m.nodes.count - 4], transpose = m.nodes[m.nodes.count - 3]
        let shape = try #require(m.initializers[reshape.inputs[1]])
        #expect(shape.dataType == 7 && shape.dims == [4] && shape.int64s == [0, 2, 3, 3])
        #expect(try transpose.ints("perm") == [0, 2, 3, 1])
        #expect(m.outputs[0].dims == ["N", "18"])
    }

    @Test("a softmax straight over a spatial tensor transposes it, no reshape")
    func spatialClassOrder() throws {
        let m = try export(try ExportFixture.compile(ONNXRuntimeTests.spatialClasses))
        expectWellFormed(m)
        #expect(m.ops == ["MaxPool", "Conv", "Transpose", "Flatten", "Softmax"])
        #expect(m.valueInfo.first { $0.name == m.nodes[2].outputs[0] }?.dims == ["N", "3", "4", "3"])
    }

    @Test("classes already in order (one channel, or 1x1) need no transpose")
    func noReorder() throws {
        let m = try export(try ExportFixture.compile("net one\ninput 4x4\nconv 1 3x3\nsoftmax\n"))
        #expect(m.ops == ["Conv", "Flatten", "Softmax"])
    }

    @Test("layers named like the graph's tensors or like helper nodes get distinct names")
    func nameClashes() throws {
        let m = try export(try ExportFixture.compile("""
            net clash
            input 4x4
            conv 2 3x3 relu name=input_conv
            relu name=input_relu
            dense 3 name=probabilities
            softmax name=input_scaled
            """))
        expectWellFormed(m)
        #expect(m.inputs.map(\.name) == ["input"] && m.outputs.map(\.name) == ["probabilities"])
        #expect(m.nodes.map(\.outputs[0]) == ["input_conv", "input_conv_relu", "input_relu", "probabilities_flatten",
                                              "probabilities_2", "probabilities"])
        #expect(m.initializers["input_conv.weight"]?.dims == [2, 1, 3, 3])
    }

    @Test("a network without a final softmax is an error, not a guess")
    func needsSoftmax() throws {
        let c = try ExportFixture.compile("net plain\ninput 4x4\ndense 3\n", file: "plain.cnn")
        #expect(throws: CompileError.self) { try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network)) }
        do {
            _ = try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network))
        } catch let e as CompileError {
            #expect(e.description.hasPrefix("plain.cnn: error: export needs 'softmax' as the last layer"))
        }
    }
}
