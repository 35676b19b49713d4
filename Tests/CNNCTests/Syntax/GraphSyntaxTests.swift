import Testing
@testable import CNNC

typealias GraphCase = ParserErrorCase

/// Language v2: `from=`, `add`, `concat`, `globalavgpool`; the tensors each layer reads, the shapes of the
/// layers that read several, and every error of names, shapes and dead branches (file:line:col, caret, hint).
@Suite struct GraphSyntaxTests {
    static func network(_ source: String) throws -> Network {
        try ShapeInference.infer(Parser.parse(source, file: "net.cnn"))
    }

    /// The diagnostic of parsing and shape inference together, or nil (recorded) when the source compiles.
    static func diagnostic(_ source: String) -> Diagnostic? {
        do {
            _ = try network(source)
        } catch let d as Diagnostic {
            return d
        } catch {
            Issue.record("threw \(error), not a Diagnostic")
            return nil
        }
        Issue.record("compiled without error: \(source.debugDescription)")
        return nil
    }

    @Test func inputsOfEveryLayer() throws {
        let net = try Self.network("""
            input 8x8x2
            conv 4 3x3 pad=same relu name=stem
            conv 4 3x3 pad=same
            add stem relu
            conv 4 1x1 stride=2 from=input name=proj
            conv 4 3x3 stride=2 pad=same from=add1
            concat proj
            globalavgpool
            dense 3
            softmax
            """)
        #expect(net.layers.map(\.inputs) == [["input"], ["stem"], ["conv2", "stem"], ["input"], ["add1"],
                                             ["conv4", "proj"], ["concat1"], ["globalavgpool1"], ["dense1"]])
        #expect(net.layers[2].op == .add(relu: true) && net.layers[2].output == Shape(h: 8, w: 8, c: 4))
        #expect(net.layers[5].output == Shape(h: 4, w: 4, c: 8))
        #expect(net.layers[6].op == .globalAvgPool && net.layers[6].output == Shape(h: 1, w: 1, c: 8))
        // Whether a gradient flows: proj reads the input (no input gradient), the add reads learnable tensors.
        #expect(!net.layers[3].needsInputGradient && net.layers[3].needsBackward)
        #expect(net.layers[2].needsInputGradient)
        let consumers = net.consumers
        #expect(consumers["stem"] == [1, 2] && consumers["input"] == [0, 3])
    }

    @Test func flatConcatAndAddOfThreeAndWeightInitThroughTheReader() throws {
        let net = try Self.network("""
            input 4x4x1
            dense 5 name=a
            relu
            dense 5 from=a name=b
            add a,relu1 name=s
            concat a,b
            dense 2
            softmax
            """)
        #expect(net.layers[3].inputs == ["b", "a", "relu1"])
        #expect(net.layers[4].output == .flat(15))
        // a's only reader... is not only relu1 (b and s read it too): Glorot; b is read by s only, not an activation.
        guard case .glorot = net.layers[0].parameters[0].initializer else { Issue.record("a: not Glorot"); return }
    }

    @Test func reluInitFollowsTheOneReaderNotTheNextLine() throws {
        let net = try Self.network("""
            input 4x4x1
            conv 2 3x3 pad=same bias=none name=a
            conv 2 3x3 pad=same from=input name=b
            relu from=a
            add b
            dense 2
            softmax
            """)
        guard case .he = net.layers[0].parameters[0].initializer else { Issue.record("a: not He"); return }
        guard case .glorot = net.layers[1].parameters[0].initializer else { Issue.record("b: not Glorot"); return }
    }

    @Test func v1FilesReadThePreviousOutput() throws {
        let net = try Self.network("input 6x6\nconv 2 3x3\nrelu\nmaxpool 2\nflatten\ndense 3\nsoftmax\n")
        #expect(net.layers.map(\.inputs) == [["input"], ["conv1"], ["relu1"], ["maxpool1"], ["flatten1"], ["dense1"]])
    }

    static let errors: [GraphCase] = [
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nrelu from=b\n", 3, 11, length: 1, "unknown layer 'b'",
             hint: "did you mean 'a'?"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=stem\nrelu from=zzzzzz\n", 3, 11, "unknown layer 'zzzzzz'",
             hint: "name 'input' or a layer above this line"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nadd b\nconv 2 3x3 pad=1 name=b\n", 3, 5,
             "'b' is defined later, at line 4", hint: "move the line up"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nadd c name=c\n", 3, 5, "layer 'c' cannot read its own output"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 3 3x3 pad=1\nadd a\n", 4, 5, length: 1,
             "add of 'a' (4x4x2) and 'conv2' (4x4x3): shapes differ", hint: "needs a projection"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\ndense 32\nflatten from=a\nadd dense1\n", 5, 5,
             "add of 'dense1' (32 values) and 'flatten1' (32 values (flattened 4x4x2)): shapes differ"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nmaxpool 2\nconcat a\n", 4, 8,
             "concat of 'a' (4x4x2) and 'maxpool1' (2x2x2): height and width differ", hint: "same H and W"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nflatten\nconcat a\n", 4, 1,
             "concat of 'flatten1' (32 values (flattened 4x4x2)): a flattened tensor is not concatenated"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\ndense 3\nconcat a\n", 4, 8,
             "concat of 'a' (4x4x2) and 'dense1' (3 values): one is flat, the other spatial"),
        GraphCase("input 4x4\ndense 3\nglobalavgpool\n", 3, 1, "globalavgpool needs a spatial input"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 2 3x3 pad=1 from=input\nsoftmax\n", 2, 1, length: 4,
             "the output of 'a' reaches nothing: no later layer reads it", hint: "from=a"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nadd a\n", 3, 5, "'add' reads 'a' twice (it is also this layer's input)"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 2 1x1\nadd a,a\n", 4, 7, "'add' reads 'a' twice"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 2 1x1\nadd a sigmoid\n", 4, 7, "unexpected extra operand 'sigmoid'",
             hint: "'add' takes only 'relu'"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 2 1x1\nadd a,,b\n", 4, 7, "expected a layer name in 'a,,b'"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconv 2 1x1\nadd\n", 4, 4, "expected the names of the layers to add"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 name=a\nconcat name=x\n", 3, 8, "expected the names of the layers to concatenate"),
        GraphCase("input 4x4\nconv 2 3x3 pad=1 from=9a\n", 2, 23, "expected a layer name"),
        GraphCase("input 4x4\nglobalavgpool frm=input\n", 2, 15, "unknown attribute 'frm' for 'globalavgpool'",
             hint: "did you mean 'from'?"),
    ]

    @Test(arguments: errors) func graphErrors(_ c: ParserErrorCase) {
        let d = Self.diagnostic(c.source)
        ParserErrorTests.check(c, d)
        // Every diagnostic quotes its line and underlines the word at fault.
        if let d { #expect(d.lineText == c.source.split(separator: "\n", omittingEmptySubsequences: false)[c.line - 1]) }
    }
}
