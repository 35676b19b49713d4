import Testing
@testable import CNNC

private typealias Case = ParserErrorCase

/// The `train` statement's numbers become Float and integer constants of the generated trainer: every value
/// that would not survive that (infinity, a learning rate that rounds to zero, a momentum that rounds to 1) is a
/// diagnostic at the value, never a silent change.
@Suite struct HyperparameterTests {
    static let cases: [ParserErrorCase] = [
        Case("input 8x8\ntrain lr=1e39\n", 2, 10, length: 4, "lr '1e39' does not fit in a 32-bit float",
             hint: "lr is at most 3.4028235e+38"),
        Case("input 8x8\ntrain lr=1e-50\n", 2, 10, length: 5, "lr '1e-50' is too small for a 32-bit float (it would become 0)",
             hint: "lr is at least 1.1754944e-38"),
        Case("input 8x8\ntrain lr=1e-40\n", 2, 10, "lr '1e-40' is too small for a 32-bit float (it would become denormal)"),
        Case("input 8x8\ntrain lr=inf\n", 2, 10, "expected a learning rate like 0.01, got 'inf'"),
        Case("input 8x8\ntrain lr=nan\n", 2, 10, "expected a learning rate like 0.01, got 'nan'"),
        Case("input 8x8\ntrain momentum=0.99999999999\n", 2, 16, length: 13, "momentum '0.99999999999' rounds to 1 as a 32-bit float",
             hint: "the largest momentum below 1 in Float is 0.99999994"),
        Case("input 8x8\ntrain momentum=0.99999998\n", 2, 16, "momentum '0.99999998' rounds to 1 as a 32-bit float"),
        Case("input 8x8\ntrain momentum=1e-50\n", 2, 16, "momentum '1e-50' is too small for a 32-bit float (it would become 0)",
             hint: "write momentum=0"),
        Case("input 8x8\ntrain momentum=1e400\n", 2, 16, "momentum must be in [0, 1), got '1e400'"),
        Case("input 8x8\ntrain batch=1000001\n", 2, 13, "batch size '1000001' is too large (at most 1000000)"),
        Case("input 8x8\ntrain epochs=99999999999999999999999\n", 2, 14, "epoch count '99999999999999999999999' is too large"),
        Case("input 8x8\ntrain optimizer=adagrad\n", 2, 17, length: 7, "unknown optimizer 'adagrad'",
             hint: "one of sgd, adam, adamw"),
        Case("input 8x8\ntrain optimizer=adam momentum=0.9\n", 2, 31, "'momentum=' does not apply to optimizer=adam",
             hint: "momentum= is sgd's; adam's moments decay by beta1= and beta2="),
        Case("input 8x8\ntrain beta1=0.8\n", 2, 13, "'beta1=' does not apply to optimizer=sgd",
             hint: "beta1= is adam's and adamw's; write optimizer=adam"),
        Case("input 8x8\ntrain optimizer=adamw beta2=1\n", 2, 29, "beta2 must be in [0, 1), got '1'",
             hint: "PyTorch's default is 0.999"),
        Case("input 8x8\ntrain optimizer=adam beta1=0.999999999\n", 2, 28, "beta1 '0.999999999' rounds to 1 as a 32-bit float",
             hint: "the largest beta1 below 1 in Float is 0.99999994"),
        Case("input 8x8\ntrain optimizer=adam eps=0\n", 2, 26, "eps must be positive and a normal 32-bit float, got '0'",
             hint: "PyTorch's default is 1e-8"),
        Case("input 8x8\ntrain weight_decay=-1\n", 2, 20, "weight_decay must be 0 or a positive normal 32-bit float, got '-1'"),
    ]

    @Test("out-of-range, non-finite and precision-losing hyperparameters", arguments: cases)
    func rejected(_ c: ParserErrorCase) {
        ParserErrorTests.check(c, ParserErrorTests.diagnostic(c.source))
    }

    @Test("the extremes that a Float holds are accepted and reach the generated trainer unchanged")
    func extremes() throws {
        let source = "input 2x2\ndense 2\nsoftmax\ntrain lr=3e38 momentum=0.99999994 epochs=1000000 batch=1000000\n"
        let c = try Compilation(source: Array(source.utf8), file: "t.cnn")
        #expect(Float(c.network.train.learningRate) == 3e38)
        #expect(Float(c.network.train.momentum) == Float(1).nextDown)
        let network = try #require(try CPUTarget.generate(c).files["Sources/Network/Network.swift"])
        #expect(network.contains("learningRate: 3e+38,") && network.contains("OptimizerSettings(kind: .sgd, momentum: 0.99999994)") && network.contains("seed: 1, schedule: .constant,"))
        let adamw = try Compilation(source: Array("input 2x2\ndense 2\nsoftmax\ntrain optimizer=adamw beta2=0.99 eps=1e-6\n".utf8),
                                    file: "t.cnn")
        #expect(adamw.network.train.optimizer.kind == .adamw && adamw.network.train.optimizer.effectiveWeightDecay == 0.01)
        let generated = try #require(try CPUTarget.generate(adamw).files["Sources/Network/Network.swift"])
        let words = generated.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("OptimizerSettings(kind: .adamw, beta2: 0.99, eps: 1e-06)"), "\(generated)")
        let tiny = try Compilation(source: Array("input 2x2\ndense 2\nsoftmax\ntrain lr=1.2e-38 momentum=0\n".utf8), file: "t.cnn")
        #expect(Float(tiny.network.train.learningRate).isNormal)
    }
}
