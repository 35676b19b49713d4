import Testing
@testable import CNNC

/// `leakyrelu [slope=X]`: stand-alone and inline, its slope's checks, and its place in shapes, fusion and the
/// lowered arithmetic every printer takes.
@Suite struct LeakyReLUTests {
    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    @Test func standAloneAndInlineWithTheirSlopes() throws {
        let c = try Self.compile("input 6x6x2\nconv 3 3x3 leakyrelu slope=0.2\nleakyrelu\nflatten\ndense 4 leakyrelu\nsoftmax\n")
        let ops = c.network.layers.map(\.op)
        guard case let .conv(_, _, _, activation) = ops[0] else { Issue.record("not a conv"); return }
        #expect(activation == .leakyrelu(slope: 0.2))
        #expect(ops[1] == .activation(.leakyrelu(slope: 0.01)))
        #expect(ops[3] == .dense(units: 4, bias: .channel, activation: .leakyrelu(slope: 0.01)))
        #expect(c.network.layers.map(\.name) == ["conv1", "leakyrelu1", "flatten1", "dense1", "softmax1"])
        #expect(c.network.layers[0].parameters[0].initializer == .he(fanIn: 18))
        // The stand-alone one cannot join conv1's group: conv1 already ends with an activation.
        #expect(c.plan.groups.map(\.name) == ["conv1", "leakyrelu1", "flatten1", "dense1", "softmax1"])
    }

    @Test func theArithmeticIsPyTorchs() {
        #expect(KernelLanguage.c.activate("v", .leakyrelu(slope: 0.2)) == "v > 0.0f ? v : 0.2f * v")
        #expect(KernelLanguage.glsl.activationGradient("d", output: "y", .leakyrelu(slope: 0.2))
                == "(y > 0.0 ? d : 0.2 * d)")
    }

    @Test(arguments: [
        ("input 4x4\nleakyrelu slope=-0.1\nsoftmax\n", "net.cnn:2:17: error: slope must be finite and at least 0, got '-0.1'"),
        ("input 4x4\nleakyrelu slope=1e-50\nsoftmax\n", "net.cnn:2:17: error: slope '1e-50' does not fit a 32-bit float"),
        ("input 4x4\nconv 2 3x3 relu slope=0.2\nsoftmax\n", "net.cnn:2:23: error: slope= applies to leakyrelu only"),
        ("input 4x4\nrelu slope=0.2\nsoftmax\n", "net.cnn:2:6: error: unknown attribute 'slope' for 'relu'"),
    ])
    func slopeErrors(source: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) { try Self.compile(source) }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
    }
}
