import Testing
@testable import CNNC

/// The typed graph: every layer names the tensors it reads, learnability flows along the edges, and fusion never
/// swallows a tensor that another layer reads.
@Suite struct GraphTests {
    static let chain = """
    input 8x8x1
    conv 4 3x3 bias=none
    bias channel
    relu
    maxpool 2x2
    dense 10
    softmax
    """

    static func network(_ source: String) throws -> Network {
        try ShapeInference.infer(try Parser.parse(source, file: "net.cnn"))
    }

    @Test func aChainReadsThePreviousStatement() throws {
        let net = try Self.network(Self.chain)
        #expect(net.layers.map(\.inputs) == [["input"], ["conv1"], ["bias1"], ["relu1"], ["maxpool1"], ["dense1"]])
        #expect(net.layers.map(\.inputShapes.count) == [1, 1, 1, 1, 1, 1])
        #expect(net.consumers["conv1"] == [1])
        #expect(net.consumers["softmax1"] == nil)
        #expect(net.producer(of: "relu1") == 2)
        #expect(net.producer(of: Network.inputTensor) == nil)
    }

    @Test func gradientsFlowOnlyBelowALearnableLayer() throws {
        let net = try Self.network("""
        input 8x8x1
        maxpool 2x2
        relu
        conv 4 3x3
        maxpool 2x2
        flatten
        softmax
        """)
        #expect(net.layers.map(\.needsBackward) == [false, false, true, true, true, true])
        #expect(net.layers.map(\.needsInputGradient) == [false, false, false, true, true, true])
    }

    @Test func inputIsNotALayerName() throws {
        let error = #expect(throws: Diagnostic.self) {
            try Self.network("input 8x8x1\nconv 4 3x3 name=input\nflatten\nsoftmax\n")
        }
        #expect(error?.description.hasPrefix("net.cnn:2:1: error: 'input' names the network input") == true)
    }

    @Test func fusionAbsorbsASingleConsumerChain() throws {
        let groups = Fusion.fuse(try Self.network(Self.chain))
        #expect(groups.map(\.name) == ["conv1", "maxpool1", "dense1", "softmax1"])
        #expect(groups[0].inputs == ["input"] && groups[0].outputTensor == "relu1")
        #expect(groups[1].inputs == ["relu1"])
    }

    /// A tensor with a second reader stays a group boundary: here the dense layer also reads conv1's raw output,
    /// so the bias and ReLU after conv1 cannot become its epilogue.
    @Test func fusionStopsAtATensorWithSeveralReaders() throws {
        var net = try Self.network(Self.chain)
        net.layers[4].inputs = ["conv1"]
        let groups = Fusion.fuse(net)
        #expect(groups.map(\.name) == ["conv1", "bias1", "maxpool1", "dense1", "softmax1"])
        #expect(groups[0].outputTensor == "conv1" && groups[0].biases.isEmpty && groups[0].activation == nil)
        #expect(groups[1].layers == [1, 2] && groups[1].activation == .relu)
    }

    @Test func thePlanFindsEachGroupsInputByTensor() throws {
        let net = try Self.network(Self.chain)
        let plan = Planner.plan(net, groups: Fusion.fuse(net))
        let forward = plan.kernels.filter { $0.phase == .forward }
        #expect(forward.map(\.reads) == [["input"], ["conv1_out"], ["maxpool1_out"], ["dense1_out"]])
        let backward = plan.kernels.filter { $0.phase == .backward }.map(\.name)
        #expect(backward == ["dense1_backward", "maxpool1_backward", "conv1_backward"])
    }
}
