// The reference interpreter on graphs: add, concat, globalavgpool, from= and fan-out, by hand-checked values and
// by central finite differences of the loss (every parameter, through every edge of the graph).

@testable import CNNC
import Testing

@Suite("Reference interpreter: graphs")
struct ReferenceGraphTests {
    static func network(_ source: String) throws -> Network {
        try ShapeInference.infer(Parser.parse(source, file: "t.cnn"))
    }

    @Test func addConcatAndGlobalAveragePoolValues() throws {
        let net = try Self.network("""
            input 2x2x1
            bias element name=a
            bias channel name=b
            add a relu name=s
            concat a name=c
            globalavgpool
            softmax
            """)
        let params = ["a.bias": [1.0, -2, 3, -4], "b.bias": [0.5]]
        let image = [1.0, 1, 1, 1]
        let r = Reference.run(net, parameters: params, images: [image], labels: [0])
        // a = x + [1,-2,3,-4] = [2,-1,4,-3]; b = a + 0.5; s = relu(b + a) = relu([4.5,-1.5,8.5,-5.5]).
        #expect(r.outputs["s"]![0] == [4.5, 0, 8.5, 0])
        // Channels of s, then of a (C,H,W order: one channel each).
        #expect(r.outputs["c"]![0] == [4.5, 0, 8.5, 0, 2, -1, 4, -3])
        #expect(r.outputs["globalavgpool1"]![0] == [13.0 / 4, 2.0 / 4])
    }

    @Test func identityShortcutWithFanOut() throws {
        let net = try Self.network("""
            input 5x4x2
            conv 3 3x3 pad=same tanh name=stem
            conv 3 3x3 pad=same relu
            conv 3 3x3 pad=same
            add stem relu
            dense 3
            softmax
            """)
        RefFD.check(net, seed: 41, label: "identity shortcut")
    }

    @Test func projectionShortcutFromInputAndGlobalPool() throws {
        let net = try Self.network("""
            input 6x5x2
            conv 3 3x3 stride=2 pad=same sigmoid name=main
            conv 3 3x3 pad=same
            conv 3 1x1 stride=2 from=input name=proj
            add conv2
            tanh
            globalavgpool
            dense 3
            softmax
            """)
        RefFD.check(net, seed: 42, label: "projection shortcut from input")
    }

    @Test func concatSpatialAndFlatWithThreeWayFanOut() throws {
        let graph = try Self.network("""
            input 4x4x2
            conv 2 3x3 pad=same tanh name=t
            conv 3 1x1 sigmoid name=u
            conv 2 1x1 tanh from=t name=v
            concat t,u from=v name=c
            dense 4 tanh name=h1
            dense 3 sigmoid from=c name=h2
            concat h1 name=f
            dense 3
            softmax
            """)
        #expect(graph.layers[3].output == Shape(h: 4, w: 4, c: 7))
        #expect(graph.layers[6].output == .flat(7))
        RefFD.check(graph, seed: 43, label: "concat spatial and flat, fan-out of t to three readers")
    }
}
