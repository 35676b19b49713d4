import Testing
@testable import CNNC

/// One invalid source and the diagnostic it must produce.
struct ParserErrorCase: Sendable, CustomTestStringConvertible {
    var source: String
    var line: Int
    var column: Int
    /// Caret length; nil: not checked.
    var length: Int?
    var message: String
    var hint: String?

    init(_ source: String, _ line: Int, _ column: Int, length: Int? = nil, _ message: String, hint: String? = nil) {
        self.source = source; self.line = line; self.column = column
        self.length = length; self.message = message; self.hint = hint
    }

    var testDescription: String { source.debugDescription }
}

private typealias Case = ParserErrorCase

@Suite struct ParserErrorTests {
    /// The diagnostic `parse` throws, or nil (recorded as a failure) when it parses.
    static func diagnostic(_ source: String, file: String = "net.cnn") -> Diagnostic? {
        do {
            _ = try Parser.parse(source, file: file)
        } catch let d as Diagnostic {
            return d
        } catch {
            Issue.record("threw \(error), not a Diagnostic")
            return nil
        }
        Issue.record("parsed without error: \(source.debugDescription)")
        return nil
    }

    static func check(_ c: ParserErrorCase, _ d: Diagnostic?) {
        guard let d else { return }
        #expect(d.location.file == "net.cnn")
        #expect(d.location.line == c.line, "\(d)")
        #expect(d.location.column == c.column, "\(d)")
        if let length = c.length { #expect(d.length == length, "\(d)") }
        #expect(d.message.contains(c.message), "\(d)")
        if let hint = c.hint { #expect(d.hint?.contains(hint) == true, "\(d)") }
        #expect(!d.message.contains("\n"))
        #expect(d.message.first?.isUppercase == false)
    }

    static let statementCases: [ParserErrorCase] = [
        // Unknown statements.
        Case("input 8x8\nconn 8 3x3\n", 2, 1, length: 4, "unknown statement 'conn'", hint: "did you mean 'conv'?"),
        Case("input 8x8\n  maxpol 2\n", 2, 3, length: 6, "unknown statement 'maxpol'",
             hint: "did you mean 'maxpool'?"),
        Case("input 8x8\nConv 8 3x3\n", 2, 1, "unknown statement 'Conv'",
             hint: "keywords are lowercase: did you mean 'conv'?"),
        Case("input 8x8\nfoo\n", 2, 1, "unknown statement 'foo'", hint: "statements are net, input, scale, normalize, conv"),
        Case("input 8x8\nconv 8 3x3\npad=1\n", 3, 1, "unknown statement 'pad=1'",
             hint: "attributes go on the same line"),
        // Missing or misplaced input.
        Case("net a\n# no input\nconv 8 3x3\n", 3, 1, length: 4,
             "missing 'input' statement before the first layer"),
        Case("", 1, 1, "missing 'input' statement: the file has no statements"),
        Case("# only a comment\n\n", 1, 1, "missing 'input' statement: the file has no statements"),
        Case("net a\ntrain epochs=1\n\n", 2, 15, "missing 'input' statement"),
        Case("conv 8 3x3\ninput 8x8\n", 1, 1, length: 4, "layer 'conv' before 'input'",
             hint: "'input' statement at line 2"),
        Case("input 8x8\nrelu\ninput 8x8\n", 3, 1, length: 5, "duplicate 'input' statement",
             hint: "already declared at line 1"),
        // scale and net placement.
        Case("input 8x8\nrelu\nscale 0.5\n", 3, 1, length: 5, "'scale' must come before the first layer",
             hint: "the first layer ('relu') is at line 2"),
        Case("scale 0.5\ninput 8x8\n", 1, 1, "'scale' must come after 'input'"),
        Case("input 8x8\nscale 1\nscale 2\n", 3, 1, "duplicate 'scale' statement"),
        Case("input 8x8\nnet a\n", 2, 1, length: 3, "'net' must be the first statement", hint: "above line 1"),
        Case("# c\ntrain\nnet a\n", 3, 1, "'net' must be the first statement"),
        Case("net a\nnet b\n", 2, 1, "duplicate 'net' statement"),
        Case("input 8x8\ntrain\ntrain seed=2\n", 3, 1, "duplicate 'train' statement"),
        // softmax must be last.
        Case("input 8x8\n softmax\ndense 10\n", 2, 2, length: 7, "'softmax' must be the last layer",
             hint: "'dense' follows it at line 3"),
        Case("input 8x8\nsoftmax\ntrain\nrelu\n", 2, 1, "'softmax' must be the last layer"),
        // Duplicate names.
        Case("input 8x8\nconv 8 3x3 name=a\nrelu name=a\n", 3, 11, length: 1,
             "duplicate layer name 'a', first used at line 2", hint: "net.cnn:2:17"),
        // First error wins.
        Case("input 8x8\nconn\nconv 0 3x3\n", 2, 1, "unknown statement 'conn'"),
    ]

    static let operandCases: [ParserErrorCase] = [
        // Missing operands.
        Case("input 8x8\nconv\n", 2, 5, "expected a filter count after 'conv'", hint: "usage: conv N KhxKw"),
        Case("input 8x8\nconv 8 # kernel?\n", 2, 7, "expected a kernel size like 3x3 after the filter count"),
        Case("input 8x8\nconv 8 stride=2\n", 2, 8, length: 8,
             "expected a kernel size like 3x3 after the filter count, got 'stride=2'"),
        Case("input 8x8\ndense\n", 2, 6, "expected a unit count after 'dense'"),
        Case("input 8x8\nmaxpool\n", 2, 8, "expected a kernel size like 3x3 after 'maxpool'"),
        Case("input 8x8\nbias\n", 2, 5, "expected a bias kind ('element' or 'channel') after 'bias'"),
        Case("net\n", 1, 4, "expected a network name after 'net'"),
        Case("input\n", 1, 6, "expected an input shape like 28x28x1 after 'input'"),
        Case("input 8x8\nscale\n", 2, 6, "expected a scale like 1/255 or 0.5 after 'scale'"),
        // Sizes.
        Case("input 8x8\nconv 0 3x3\n", 2, 6, "filter count must be positive, got 0"),
        Case("input 8x8\ndense 0\n", 2, 7, "unit count must be positive, got 0"),
        Case("input 8x8\nconv 8 3x0\n", 2, 8, length: 3, "kernel size must be positive, got 3x0"),
        Case("input 8x8\nmaxpool 0\n", 2, 9, "kernel size must be positive, got 0"),
        Case("input 0x8\n", 1, 7, "input size must be positive, got 0x8"),
        Case("input 8x8x0\n", 1, 7, "input size must be positive, got 8x8x0"),
        Case("input 8x8\nconv -8 3x3\n", 2, 6, length: 2, "expected a positive integer filter count, got '-8'"),
        Case("input 8x8\nconv +8 3x3\n", 2, 6, "expected a positive integer filter count, got '+8'"),
        Case("input 8x8\nconv 3x3\n", 2, 6, "expected a positive integer filter count, got '3x3'"),
        Case("input 8x8\nconv 8 3x\n", 2, 8, length: 2, "expected a kernel size like 3x3, got '3x'"),
        Case("input 8x8\nconv 8 x3\n", 2, 8, "expected a kernel size like 3x3, got 'x3'"),
        Case("input 8x8\nconv 8 3x3x3\n", 2, 8, "expected a kernel size like 3x3, got '3x3x3'",
             hint: "K or KhxKw"),
        Case("input 8x8\nconv 8 3X3\n", 2, 8, "expected a kernel size like 3x3, got '3X3'", hint: "lowercase"),
        Case("input 8x8\nconv 8 +3\n", 2, 8, "expected a kernel size like 3x3, got '+3'"),
        Case("input 8x8\navgpool 2x-1\n", 2, 9, "expected a kernel size like 3x3, got '2x-1'"),
        Case("\t input\t8\n", 1, 9, "expected an input shape like 28x28x1 or 28x28, got '8'"),
        Case("input 8x8x1x1\n", 1, 7, "expected an input shape like 28x28x1 or 28x28, got '8x8x1x1'"),
        Case("input 8x8\nconv 99999999999999999999999 3x3\n", 2, 6, length: 23,
             "filter count '99999999999999999999999' is too large (at most 1000000)"),
        Case("input 8x8\nconv 1000001 3x3\n", 2, 6, "filter count '1000001' is too large"),
        Case("input 1000001x1\n", 1, 7, "input size '1000001x1' is too large"),
        Case("input 8x8\nconv 8 3x18446744073709551617\n", 2, 8,
             "kernel size '3x18446744073709551617' is too large"),
        // Tabs count as one column.
        Case("input 8x8\n\tconv\t8\t3x\n", 2, 9, "expected a kernel size like 3x3, got '3x'"),
        // Stray operands.
        Case("input 8x8\ndense 8 5\n", 2, 9, "unexpected extra operand '5'", hint: "usage: dense N"),
        Case("input 8x8 3\n", 1, 11, "unexpected extra operand '3'"),
        Case("net a b\n", 1, 7, "unexpected extra operand 'b'"),
        Case("input 8x8\nflatten x\n", 2, 9, "unexpected extra operand 'x'"),
        Case("input 8x8\nsoftmax 1\n", 2, 9, "unexpected extra operand '1'"),
        Case("input 8x8\ntrain 3\n", 2, 7, "unexpected extra operand '3'", hint: "usage: train [epochs=N]"),
        Case("input 8x8\nmaxpool 2x2 relu\n", 2, 13, "unexpected extra operand 'relu'",
             hint: "'maxpool' takes no activation"),
        Case("input 8x8\nconv 8 3x3 relux\n", 2, 12, "unexpected extra operand 'relux'",
             hint: "did you mean 'relu'?"),
        Case("input 8x8\nconv 8 3x3 stride 2\n", 2, 12, "unexpected extra operand 'stride'",
             hint: "attributes are written key=value"),
        Case("input 8x8\nconv 8 3x3 relu tanh\n", 2, 17, length: 4, "more than one activation: 'relu' and 'tanh'"),
        Case("input 8x8\ndense 8 relu relu\n", 2, 14, "more than one activation: 'relu' and 'relu'"),
        // Names.
        Case("net 1abc\n", 1, 5, "expected a network name"),
        Case("input 8x8\nrelu name=3\n", 2, 11, "expected a layer name"),
        Case("input 8x8\nrelu name=a.b\n", 2, 11, "expected a layer name"),
    ]

    static let attributeCases: [ParserErrorCase] = [
        Case("input 8x8\nconv 8 3x3 stride=0\n", 2, 19, length: 1, "stride must be positive, got 0"),
        Case("input 8x8\nmaxpool 3 stride=1x0\n", 2, 18, length: 3, "stride must be positive, got 1x0"),
        Case("input 8x8\nconv 8 3x3 stride=two\n", 2, 19, length: 3, "expected a stride like 2 or 2x1, got 'two'"),
        Case("input 8x8\nconv 8 3x3 stride=2x2x2\n", 2, 19, "expected a stride like 2 or 2x1, got '2x2x2'"),
        Case("input 8x8\nconv 8 3x3 strid=2\n", 2, 12, length: 5, "unknown attribute 'strid' for 'conv'",
             hint: "did you mean 'stride'? valid attributes for 'conv': stride, pad, bias, slope, name"),
        Case("input 8x8\ndense 8 stride=2\n", 2, 9, "unknown attribute 'stride' for 'dense'",
             hint: "valid attributes for 'dense': bias, slope, name, and one activation"),
        Case("input 8x8\nflatten foo=2\n", 2, 9, "unknown attribute 'foo' for 'flatten'",
             hint: "valid attributes for 'flatten': name"),
        Case("input 8x8 x=1\n", 1, 11, "unknown attribute 'x' for 'input'", hint: "'input' takes no attributes"),
        Case("input 8x8\ntrain epoch=3\n", 2, 7, "unknown attribute 'epoch' for 'train'",
             hint: "did you mean 'epochs'?"),
        Case("input 8x8\nconv 8 3x3 pad=1 pad=2\n", 2, 18, length: 3, "attribute 'pad' given twice",
             hint: "first given at column 12"),
        Case("input 8x8\ntrain lr=1 lr=2\n", 2, 12, "attribute 'lr' given twice"),
        Case("input 8x8\nconv 8 3x3 =2\n", 2, 12, "expected an attribute name before '='"),
        Case("input 8x8\nconv 8 3x3 stride=\n", 2, 19, "expected a value after 'stride='"),
        // pad and bias values.
        Case("input 8x8\nconv 8 3x3 pad=full\n", 2, 16, length: 4,
             "expected a padding like 1, 'same' or 'valid', got 'full'"),
        Case("input 8x8\nmaxpool 2 pad=-1\n", 2, 15, "expected a padding like 1, 'same' or 'valid', got '-1'"),
        Case("input 8x8\nconv 8 3x3 pad=1000001\n", 2, 16, "padding '1000001' is too large"),
        Case("input 8x8\nconv 8 3x3 bias=elem\n", 2, 17, length: 4,
             "expected a bias kind ('channel', 'element' or 'none'), got 'elem'"),
        Case("input 8x8\ndense 8 bias=element\n", 2, 14, length: 7, "bias=element is not allowed on 'dense'",
             hint: "use bias=channel (the default) or bias=none"),
        Case("input 8x8\nbias none\n", 2, 6, "expected a bias kind ('element' or 'channel'), got 'none'"),
        Case("input 8x8\nbias per-channel\n", 2, 6,
             "expected a bias kind ('element' or 'channel'), got 'per-channel'"),
        // Numbers.
        Case("input 8x8\nscale 1/0\n", 2, 7, length: 3, "scale '1/0' divides by zero"),
        Case("input 8x8\nscale abc\n", 2, 7, "expected a scale like 1/255 or 0.5, got 'abc'"),
        Case("input 8x8\nscale 1/2/3\n", 2, 7, "expected a scale like 1/255 or 0.5, got '1/2/3'"),
        Case("input 8x8\nscale 1/\n", 2, 7, "expected a scale like 1/255 or 0.5, got '1/'"),
        Case("input 8x8\nscale +2\n", 2, 7, "expected a scale like 1/255 or 0.5, got '+2'"),
        Case("input 8x8\nscale inf\n", 2, 7, "expected a scale like 1/255 or 0.5, got 'inf'"),
        Case("input 8x8\nscale 0\n", 2, 7, "scale must be non-zero, got '0'"),
        Case("input 8x8\nscale 1e-999\n", 2, 7, "scale must be non-zero, got '1e-999'"),
        Case("input 8x8\nscale 1e999\n", 2, 7, "scale must be finite, got '1e999'"),
        Case("input 8x8\ntrain lr=abc\n", 2, 10, length: 3, "expected a learning rate like 0.01, got 'abc'"),
        Case("input 8x8\ntrain lr=0\n", 2, 10, "lr must be positive and finite, got '0'"),
        Case("input 8x8\ntrain lr=-0.1\n", 2, 10, "lr must be positive and finite, got '-0.1'"),
        Case("input 8x8\ntrain lr=1e400\n", 2, 10, "lr must be positive and finite, got '1e400'"),
        Case("input 8x8\ntrain momentum=1\n", 2, 16, "momentum must be in [0, 1), got '1'"),
        Case("input 8x8\ntrain momentum=-0.5\n", 2, 16, "momentum must be in [0, 1), got '-0.5'"),
        Case("input 8x8\ntrain momentum=x\n", 2, 16, "expected a momentum like 0.9, got 'x'"),
        Case("input 8x8\ntrain epochs=-1\n", 2, 14, "expected a non-negative integer epoch count, got '-1'"),
        Case("input 8x8\ntrain epochs=1000001\n", 2, 14, "epoch count '1000001' is too large"),
        Case("input 8x8\ntrain batch=0\n", 2, 13, "batch size must be positive, got 0"),
        Case("input 8x8\ntrain seed=-1\n", 2, 12, "expected a non-negative integer seed, got '-1'"),
        Case("input 8x8\ntrain seed=18446744073709551616\n", 2, 12, length: 20,
             "seed '18446744073709551616' does not fit in 64 bits"),
        // Characters.
        Case("input 8x8\nrelu\u{A0}\n", 2, 5, "unexpected character U+00A0 outside a comment",
             hint: "only spaces and tabs"),
        Case("input 8x8\nc\u{F6}nv 8 3\n", 2, 2, "unexpected character U+00F6 outside a comment",
             hint: "plain ASCII"),
        Case("input 8x8\nrelu \u{7}\n", 2, 6, "unexpected control character U+0007"),
        Case("input 8x8\nrelu\u{0B}\n", 2, 5, "unexpected control character U+000B"),
        Case("input 8x8\n\0\n", 2, 1, "unexpected NUL byte"),
        Case("input 8x8 # comment \0\nconn\n", 1, 21, "unexpected NUL byte"),
    ]

    @Test(arguments: statementCases) func statements(_ c: ParserErrorCase) { Self.check(c, Self.diagnostic(c.source)) }
    @Test(arguments: operandCases) func operands(_ c: ParserErrorCase) { Self.check(c, Self.diagnostic(c.source)) }
    @Test(arguments: attributeCases) func attributes(_ c: ParserErrorCase) { Self.check(c, Self.diagnostic(c.source)) }

    @Test func printedLikeACompiler() throws {
        let d = try #require(Self.diagnostic("input 8x8\n\nconv 8 3x stride=2\n", file: "net.cnn"))
        #expect(d.lineText == "conv 8 3x stride=2")
        #expect(d.description == """
            net.cnn:3:8: error: expected a kernel size like 3x3, got '3x'
                conv 8 3x stride=2
                       ^~
            hint: a kernel is K or KhxKw; the channel count comes from the input
            """)
    }

    @Test func lineTextQuotesTheRightLine() throws {
        // CRLF and lone CR line endings: the diagnostic's line and its text agree.
        let d = try #require(Self.diagnostic("input 8x8\r\nrelu\rsoftmax\r\n\rconv 8 3x3\r"))
        #expect(d.location.line == 3)
        #expect(d.lineText == "softmax")
        let e = try #require(Self.diagnostic("input 8x8\r\nrelu\r\rconn\r\n"))
        #expect(e.location.line == 4)
        #expect(e.lineText == "conn")
    }

    @Test func longWordsAreShortenedInMessages() throws {
        let word = String(repeating: "z", count: 500)
        let d = try #require(Self.diagnostic("input 8x8\n\(word)\n"))
        #expect(d.length == 500)
        #expect(d.message.count < 80)
    }

    static let byteCases: [([UInt8], Int, Int, String)] = [
        (Array("input 8x8\n# \u{E9}".utf8) + [0xFF], 2, 4, "invalid UTF-8 byte 0xFF"),
        ([0x69, 0x0D, 0x0A, 0x0D, 0x80], 3, 1, "invalid UTF-8 byte 0x80"),
        ([0xEF, 0xBB, 0xBF, 0x23, 0xC3, 0x28], 1, 2, "invalid UTF-8 sequence starting with byte 0xC3"),
        ([0x23, 0xE2, 0x82], 1, 2, "invalid UTF-8 sequence starting with byte 0xE2"),
        ([0x23, 0xED, 0xA0, 0x80], 1, 2, "invalid UTF-8 sequence starting with byte 0xED"),  // a surrogate
        ([0x23, 0xC0, 0xAF], 1, 2, "invalid UTF-8 byte 0xC0"),  // overlong
        ([0x23, 0xF4, 0x90, 0x80, 0x80], 1, 2, "invalid UTF-8 sequence starting with byte 0xF4"),  // > U+10FFFF
        (Array("input 8x8\nrelu\0".utf8), 2, 5, "unexpected NUL byte"),
    ]

    @Test(arguments: byteCases) func invalidBytes(_ bytes: [UInt8], line: Int, column: Int, message: String) throws {
        do {
            _ = try Parser.parse(bytes: bytes, file: "b.cnn")
            Issue.record("parsed")
        } catch let d as Diagnostic {
            #expect(d.location == CNNC.SourceLocation(file: "b.cnn", line: line, column: column), "\(d)")
            #expect(d.message == message)
        }
    }
}
