import Testing
@testable import CNNC

/// ONNX export of graph networks: add as Add (Sum for three inputs) then Relu, concat as Concat on axis 1,
/// globalavgpool as GlobalAveragePool, and every layer reading its inputs' tensors by name.
@Suite struct ONNXGraphTests {
    func export(_ source: String) throws -> DecodedModel {
        let c = try ExportFixture.compile(source)
        return try DecodedModel(try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network)).serialized())
    }

    @Test func residualAndConcatNodes() throws {
        let m = try export(GraphGradientTests.nets[0].source)
        let add = try #require(m.node("block1"))
        #expect(add.op == "Add" && add.inputs == ["conv3", "stem_relu"])
        #expect(m.node("block1_relu")?.op == "Relu")
        // The projection reads block1's output after its ReLU.
        #expect(m.node("proj")?.inputs.first == "block1_relu")
        #expect(m.node("globalavgpool1")?.op == "GlobalAveragePool")
        let b = try export(GraphGradientTests.nets[1].source)
        let mix = try #require(b.node("mix"))
        #expect(mix.op == "Concat" && mix.int("axis") == 1 && mix.inputs == ["b3_sigmoid", "b1_relu", "b2_tanh"])
        #expect(b.node("flat")?.op == "Concat" && b.node("flat")?.inputs == ["h2_sigmoid", "h1_tanh"])
        // skip0 adds the scaled input.
        #expect(b.node("skip0")?.inputs == ["pre", "input_scaled"])
    }

    @Test func threeInputsAreOneSum() throws {
        let m = try export("""
            input 4x4x1
            conv 2 3x3 pad=same name=a
            conv 2 3x3 pad=same name=b
            conv 2 3x3 pad=same from=a name=c
            add a,b
            dense 2
            softmax
            """)
        #expect(m.node("add1")?.op == "Sum" && m.node("add1")?.inputs == ["c", "a", "b"])
    }
}
