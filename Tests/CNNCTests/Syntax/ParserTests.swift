import Testing
@testable import CNNC

/// Valid sources parse to the expected syntax tree.
@Suite struct ParserTests {
    static let mnist002 = """
        # The network of seed 002: conv + element bias + relu, SAME 3x3/2 max pools
        net mnist002
        input 28x28x1
        scale 1/255
        conv 16 3x3 pad=1 bias=none
        bias element
        relu
        maxpool 3x3 stride=2 pad=same
        conv 32 3x3 pad=1 bias=none
        bias element
        relu
        maxpool 3x3 stride=2 pad=same
        conv 64 3x3 pad=1 bias=none
        bias element
        relu
        flatten
        dense 100 relu
        dense 10
        softmax
        train epochs=3 batch=64 lr=0.01 momentum=0.9 seed=1

        """

    static let small = """
        input 8x8
        conv 2 3x3 pad=1 relu
        conv 4 3x3 pad=1 relu
        maxpool 2x2
        dense 32 relu
        dense 10
        softmax
        """

    func parse(_ source: String) throws -> SyntaxTree { try Parser.parse(source, file: "net.cnn") }

    static func conv(_ n: Int, _ k: Int, stride: Int = 1, pad: PaddingSpec = .explicit(0), bias: BiasKind = .channel,
                     _ activation: Activation? = nil) -> LayerSyntax {
        .conv(filters: n, kernel: Size2(k, k), stride: Size2(stride, stride), padding: pad, bias: bias,
              activation: activation)
    }

    @Test func referenceNetwork1() throws {
        let tree = try parse(Self.mnist002)
        #expect(tree.file == "net.cnn")
        #expect(tree.netName == "mnist002")
        #expect(tree.input == Shape(h: 28, w: 28, c: 1))
        #expect(tree.inputLocation == CNNC.SourceLocation(file: "net.cnn", line: 3, column: 1))
        #expect(tree.scale == 1.0 / 255)
        #expect(tree.scaleText == "1/255")
        #expect(tree.lines.count == 20)
        #expect(tree.lines[1] == "net mnist002")
        let pool = LayerSyntax.pool(.max, kernel: Size2(3, 3), stride: Size2(2, 2), padding: .same)
        let expected: [LayerSyntax] = [
            Self.conv(16, 3, pad: .explicit(1), bias: .none), .bias(.element), .activation(.relu), pool,
            Self.conv(32, 3, pad: .explicit(1), bias: .none), .bias(.element), .activation(.relu), pool,
            Self.conv(64, 3, pad: .explicit(1), bias: .none), .bias(.element), .activation(.relu),
            .flatten, .dense(units: 100, bias: .channel, activation: .relu),
            .dense(units: 10, bias: .channel, activation: nil), .softmax,
        ]
        #expect(tree.layers.map(\.syntax) == expected)
        #expect(tree.layers.allSatisfy { $0.name == nil })
        #expect(tree.layers.map(\.location.line) == Array(5...19))
        #expect(tree.layers.allSatisfy { $0.location.column == 1 })
        #expect(tree.layers[0].keywordLength == 4)
        #expect(tree.layers[3].keywordLength == 7)
        #expect(tree.layers[0].kernelLocation == CNNC.SourceLocation(file: "net.cnn", line: 5, column: 9))
        #expect(tree.layers[0].kernelLength == 3)
        #expect(tree.layers[3].kernelLocation == CNNC.SourceLocation(file: "net.cnn", line: 8, column: 9))
        #expect(tree.layers[1].kernelLocation == nil)
        var train = TrainConfig()
        train.epochs = 3; train.batch = 64; train.learningRate = 0.01; train.momentum = 0.9; train.seed = 1
        #expect(tree.train == train)
    }

    @Test func referenceNetwork2() throws {
        let tree = try parse(Self.small)
        #expect(tree.netName == nil)
        #expect(tree.input == Shape(h: 8, w: 8, c: 1))
        #expect(tree.scale == 1)
        #expect(tree.scaleText == nil)
        #expect(tree.train == TrainConfig())
        #expect(tree.layers.map(\.syntax) == [
            Self.conv(2, 3, pad: .explicit(1), .relu), Self.conv(4, 3, pad: .explicit(1), .relu),
            .pool(.max, kernel: Size2(2, 2), stride: nil, padding: .explicit(0)),
            .dense(units: 32, bias: .channel, activation: .relu), .dense(units: 10, bias: .channel, activation: nil),
            .softmax,
        ])
    }

    @Test func convAttributes() throws {
        let tree = try parse("""
            input 32x32x3
            conv 8 5
            conv 8 3x1 stride=2 pad=same bias=element sigmoid name=c1
            conv 8 1x3 stride=2x1 pad=valid bias=channel tanh
            conv 8 3x3 relu stride=1x2 pad=2 bias=none name=last-conv_2
            """)
        #expect(tree.input == Shape(h: 32, w: 32, c: 3))
        #expect(tree.layers.map(\.syntax) == [
            Self.conv(8, 5),
            .conv(filters: 8, kernel: Size2(3, 1), stride: Size2(2, 2), padding: .same, bias: .element,
                  activation: .sigmoid),
            .conv(filters: 8, kernel: Size2(1, 3), stride: Size2(2, 1), padding: .explicit(0), bias: .channel,
                  activation: .tanh),
            .conv(filters: 8, kernel: Size2(3, 3), stride: Size2(1, 2), padding: .explicit(2), bias: .none,
                  activation: .relu),
        ])
        #expect(tree.layers.map(\.name) == [nil, "c1", nil, "last-conv_2"])
        #expect(tree.layers[0].kernelLength == 1)
    }

    @Test func otherLayers() throws {
        let tree = try parse("""
            input 16x16x2
            bias channel name=b0
            bias element
            relu name=r
            sigmoid
            tanh name=_t
            maxpool 2 stride=1 pad=1 name=p1
            avgpool 3x2 stride=3x2 pad=same
            avgpool 2x2 pad=valid
            flatten name=flat
            dense 7 bias=none tanh name=d
            dense 3 bias=channel sigmoid
            softmax name=out
            """)
        #expect(tree.layers.map(\.syntax) == [
            .bias(.channel), .bias(.element), .activation(.relu), .activation(.sigmoid), .activation(.tanh),
            .pool(.max, kernel: Size2(2, 2), stride: Size2(1, 1), padding: .explicit(1)),
            .pool(.avg, kernel: Size2(3, 2), stride: Size2(3, 2), padding: .same),
            .pool(.avg, kernel: Size2(2, 2), stride: nil, padding: .explicit(0)),
            .flatten, .dense(units: 7, bias: .none, activation: .tanh),
            .dense(units: 3, bias: .channel, activation: .sigmoid), .softmax,
        ])
        #expect(tree.layers.map(\.name) == ["b0", nil, "r", nil, "_t", "p1", nil, nil, "flat", "d", nil, "out"])
    }

    @Test func trainStatement() throws {
        var tree = try parse("input 4x4\ndense 2\ntrain lr=1e-3 seed=18446744073709551615\n")
        var expected = TrainConfig()
        expected.learningRate = 0.001
        expected.seed = UInt64.max
        #expect(tree.train == expected)

        // `train` may come before `input`, and after `softmax`.
        tree = try parse("net a\ntrain epochs=0 batch=1000000 momentum=0\ninput 4x4\nsoftmax\n")
        expected = TrainConfig()
        expected.epochs = 0; expected.batch = 1_000_000; expected.momentum = 0
        #expect(tree.train == expected)
        #expect(try parse("input 4x4\nsoftmax\ntrain momentum=.99 lr=2\n").train.momentum == 0.99)
    }

    @Test(arguments: [("0.5", 0.5), (".5", 0.5), ("1e-3", 0.001), ("2", 2.0), ("1/255", 1.0 / 255),
                      ("2.5E2", 250.0), ("-1", -1.0), ("1./4", 0.25), ("5.", 5.0)])
    func scaleForms(text: String, value: Double) throws {
        let tree = try parse("input 4x4\nscale \(text)\nrelu\n")
        #expect(tree.scale == value)
        #expect(tree.scaleText == text)
    }

    @Test func lineEndingsTabsAndComments() throws {
        let reference = try parse(Self.small)
        let variants = [
            Self.small.replacing("\n", with: "\r\n"),
            Self.small.replacing("\n", with: "\r") + "\r",
            Self.small + "\n\n\n",
            "\n" + Self.small.replacing("\n", with: "\n\n"),
            Self.small.replacing(" ", with: "\t"),
            Self.small.replacing(" ", with: " \t  "),
            Self.small.replacing("\n", with: "   # comment, with = and 3x3 and ü\n"),
            Self.small.replacing("relu", with: "relu#no space needed"),
            "# header\n  # indented comment\n" + Self.small + "\n#",
            "\u{FEFF}" + Self.small,
        ]
        for source in variants {
            let tree = try parse(source)
            #expect(tree.layers.map(\.syntax) == reference.layers.map(\.syntax), "\(source.debugDescription)")
            #expect(tree.input == reference.input)
        }
    }

    @Test func linesAndColumns() throws {
        let tree = try parse("input 8x8\r\n\t conv  4\t5x3 name=x\rrelu")
        #expect(tree.lines == ["input 8x8", "\t conv  4\t5x3 name=x", "relu"])
        let conv = tree.layers[0]
        #expect(conv.location == CNNC.SourceLocation(file: "net.cnn", line: 2, column: 3))
        #expect(conv.keywordLength == 4)
        #expect(conv.kernelLocation == CNNC.SourceLocation(file: "net.cnn", line: 2, column: 11))
        #expect(conv.kernelLength == 3)
        #expect(tree.layers[1].location == CNNC.SourceLocation(file: "net.cnn", line: 3, column: 1))
        #expect(tree.lineText(2) == "\t conv  4\t5x3 name=x")
        #expect(tree.lineText(9) == "")
    }

    @Test func bytesMatchText() throws {
        let fromBytes = try Parser.parse(bytes: Array(Self.mnist002.utf8), file: "net.cnn")
        #expect(fromBytes == (try parse(Self.mnist002)))
        // Non-ASCII UTF-8 in comments is fine.
        let tree = try Parser.parse(bytes: Array("# größe ✓ 😀\ninput 2x2 # ä\nrelu\n".utf8), file: "x.cnn")
        #expect(tree.layers.count == 1)
    }

    @Test func limits() throws {
        let tree = try parse("input 1000000x1x1000000\nconv 1000000 1000000x1 stride=1000000 pad=1000000\n")
        #expect(tree.input == Shape(h: 1_000_000, w: 1, c: 1_000_000))
        #expect(tree.layers[0].syntax == .conv(filters: 1_000_000, kernel: Size2(1_000_000, 1),
                                               stride: Size2(1_000_000, 1_000_000),
                                               padding: .explicit(1_000_000), bias: .channel, activation: nil))
        #expect(try parse("input 007x8\n").input == Shape(h: 7, w: 8, c: 1))
    }

    @Test func inputWithoutLayers() throws {
        let tree = try parse("net only-input\ninput 3x3x3")
        #expect(tree.netName == "only-input")
        #expect(tree.layers.isEmpty)
    }

    @Test func scanHelpers() {
        #expect(Scan.editDistance("conn", "conv") == 1)
        #expect(Scan.editDistance("", "abc") == 3)
        #expect(Scan.editDistance("maxpol", "maxpool") == 1)
        #expect(Scan.nearest("Conv", in: ["net", "conv"]) == "conv")
        #expect(Scan.nearest("zzzzzz", in: ["net", "conv"]) == nil)
        #expect(Scan.digits("18446744073709551616") == .overflow)
        #expect(Scan.digits("+1") == .invalid)
        #expect(Scan.decimal("1e") == nil)
        #expect(Scan.decimal(".") == nil)
        #expect(Scan.decimal("inf") == nil)
        #expect(Scan.decimal("0x10") == nil)
        #expect(Scan.decimal("1e999") == .infinity)
        #expect(Scan.isIdentifier("a-b_1"))
        #expect(!Scan.isIdentifier("-a"))
        #expect(!Scan.isIdentifier("1a"))
    }
}
