import Foundation
import Testing
@testable import CNNC

/// `normalize mean=A[,B,C] std=A[,B,C]`: its values (one per channel or one for all), its placement and value
/// checks, and where it shows: the input_scale kernel's loops, the report, the JSON report, the ONNX graph, and
/// `cnnc check` (the input's gradient divides by the std). The generated trainers apply it in
/// CPUGradientTests/VulkanGradientTests (mix_a), against the reference interpreter.
@Suite struct NormalizeTests {
    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    static let rgb = """
        input 4x4x3
        scale 1/255
        normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225
        conv 2 3x3 relu
        flatten
        dense 3
        softmax
        """

    @Test func perChannelValuesAndText() throws {
        let n = try #require(try Self.compile(Self.rgb).network.normalization)
        #expect(n.mean == [0.485, 0.456, 0.406] && n.std == [0.229, 0.224, 0.225])
        #expect(n.text == "mean=0.485,0.456,0.406 std=0.229,0.224,0.225")
        #expect(!n.isUniform)
    }

    @Test func oneValueIsEveryChannelsAndScaleIsOptional() throws {
        let c = try Self.compile("input 2x2x3\nnormalize mean=-0.5 std=2,2,2\nflatten\nsoftmax\n")
        let n = try #require(c.network.normalization)
        #expect(n.mean == [-0.5, -0.5, -0.5] && n.std == [2, 2, 2] && n.isUniform)
        #expect(c.network.scale == 1)
        // Without a scale, the normalization alone makes the input kernel.
        #expect(c.plan.kernels.first?.name == "input_scale")
        #expect(try Self.compile("input 2x2x3\nflatten\nsoftmax\n").plan.kernels.first?.name != "input_scale")
        #expect(try Self.compile("input 2x2x3\nflatten\nsoftmax\n").network.normalization == nil)
    }

    @Test func loopsSubtractThenDivideAfterTheScale() throws {
        let c = try Self.compile(Self.rgb)
        let text = CEmitter(plan: c.plan).kernelFunctions()
        #expect(text.contains("// input_scale: y = (x * 1/255 - mean[c]) / std[c]  [normalize mean=0.485"))
        #expect(text.contains("y[(size_t)n * 48 + p * 3 + 2] = (x[(size_t)n * 48 + p * 3 + 2] * 0.00392156862745098f"
                              + " - 0.406f) / 0.225f;"))
        // One value for every channel: one loop over the elements, no multiplication without a scale.
        let uniform = try Self.compile("input 2x2x3\nnormalize mean=0.5 std=0.25\nflatten\nsoftmax\n")
        let lowered = try #require(Lowering.lower(uniform.plan, kernel: 0))
        #expect(lowered.grid.items.map(\.name) == ["i"] && lowered.grid.count == 12)
        #expect(CEmitter(plan: uniform.plan).kernelFunctions()
            .contains("y[(size_t)n * 12 + i] = (x[(size_t)n * 12 + i] - 0.5f) / 0.25f;"))
    }

    /// Eight channels of long values: the generated comment names the channel count instead of the lists (a list
    /// is one word, which the line wrapping of the C file cannot break under 120 characters).
    @Test func longListsStayOutOfTheComment() throws {
        let values = (1...8).map { "0.12345678\($0)" }.joined(separator: ",")
        let c = try Self.compile("input 2x2x8\nnormalize mean=\(values) std=\(values)\nflatten\nsoftmax\n")
        let text = CEmitter(plan: c.plan).kernelFunctions()
        #expect(text.contains("// input_scale: y = (x - mean[c]) / std[c]  [normalize, 8 channels]"))
        #expect(text.contains("y[(size_t)n * 32 + p * 8 + 7] = (x[(size_t)n * 32 + p * 8 + 7] - 0.123456788f)"
                              + " / 0.123456788f;"))
    }

    @Test func reportsShowIt() throws {
        let c = try Self.compile(Self.rgb)
        let text = ReportRenderer.render(c, format: .text, batch: 8)
        #expect(text.contains("input 4x4x3, scale 1/255, normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225;"))
        let json = ReportRenderer.render(c, format: .json, batch: 8)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let normalize = try #require(root["normalize"] as? [String: Any])
        #expect(normalize["mean"] as? [Double] == [0.485, 0.456, 0.406])
        #expect(normalize["std"] as? [Double] == [0.229, 0.224, 0.225])
        let plain = try Self.compile("input 2x2\nflatten\nsoftmax\n")
        let plainRoot = try #require(try JSONSerialization.jsonObject(
            with: Data(ReportRenderer.render(plain, format: .json, batch: 8).utf8)) as? [String: Any])
        #expect(plainRoot["normalize"] is NSNull)
        #expect(GraphPrinter.dot(c).contains("normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225"))
    }

    @Test func onnxSubtractsAndDividesAfterTheScale() throws {
        let c = try Self.compile(Self.rgb)
        let model = try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network))
        let m = try DecodedModel(model.serialized())
        #expect(m.ops.prefix(4) == ["Mul", "Sub", "Div", "Conv"])
        #expect(m.node("input_centered")?.inputs == ["input_scaled", "normalize_mean"])
        #expect(m.node("input_normalized")?.inputs == ["input_centered", "normalize_std"])
        #expect(m.node("conv1")?.inputs.first == "input_normalized")
        #expect(m.initializers["normalize_mean"]?.dims == [1, 3, 1, 1])
        #expect(m.initializers["normalize_std"]?.floats == [0.229, 0.224, 0.225])
        let uniform = try Self.compile("input 2x2x3\nnormalize mean=0.5 std=0.25\nflatten\nsoftmax\n")
        let u = try DecodedModel(try ONNXLowering.model(uniform.network, weights: [:]).serialized())
        #expect(u.ops.prefix(2) == ["Sub", "Div"])
        #expect(u.initializers["normalize_std"]?.dims == [] && u.initializers["normalize_std"]?.floats == [0.25])
    }

    /// The gradient check differentiates through the normalization, the input's gradient included (d input =
    /// d x * scale / std[c]).
    @Test("cnnc check passes through it, the input's gradient included", arguments: [
        "input 3x3x2\nscale 0.5\nnormalize mean=0.25,-0.5 std=0.5,2\nconv 2 2x2 tanh\nflatten\ndense 3\nsoftmax\n",
        "input 3x3\nnormalize mean=0.1307 std=0.3081\nflatten\ndense 3 tanh\ndense 2\nsoftmax\n",
    ])
    func gradientCheck(_ source: String) throws {
        let r = try GradientCheckTests.check(source, file: "net.cnn")
        #expect(r.passed, "\(r.rows.map { "\($0.tensor) \($0.maxError)" })")
        #expect(r.rows.last?.tensor == "input" && (r.rows.last?.nonzero ?? 0) > 0)
    }
}

private typealias Case = ParserErrorCase

extension NormalizeTests {
    static let errors: [ParserErrorCase] = [
        Case("normalize mean=0.5 std=0.5\ninput 8x8\n", 1, 1, length: 9, "'normalize' must come after 'input'"),
        Case("input 8x8\nnormalize mean=0 std=1\nnormalize mean=0 std=1\n", 3, 1, "duplicate 'normalize' statement",
             hint: "already given at line 2"),
        Case("input 8x8\nrelu\nnormalize mean=0 std=1\n", 3, 1, "'normalize' must come before the first layer",
             hint: "the first layer ('relu') is at line 2"),
        Case("input 8x8\nnormalize mean=0 std=1\nscale 1/255\n", 3, 1, length: 5,
             "'scale' must come before 'normalize'", hint: "move 'scale' above line 2"),
        Case("input 8x8\nnormalize\n", 2, 10, "'normalize' needs mean=", hint: "usage: normalize mean=A[,B,C]"),
        Case("input 8x8\nnormalize std=1\n", 2, 16, "'normalize' needs mean="),
        Case("input 8x8\nnormalize mean=0\n", 2, 17, "'normalize' needs std="),
        Case("input 8x8x3\nnormalize mean=0.1,0.2 std=1\n", 2, 16, length: 7,
             "mean has 2 values but the input has 3 channels", hint: "one value per channel (3)"),
        Case("input 8x8x3\nnormalize mean=0 std=1,2\n", 2, 22, "std has 2 values but the input has 3 channels"),
        Case("input 8x8\nnormalize mean=0 std=1,2\n", 2, 22, "std has 2 values but the input has 1 channel"),
        Case("input 8x8\nnormalize mean=0 std=0\n", 2, 22, "std must be positive and finite, got '0'"),
        Case("input 8x8x2\nnormalize mean=0 std=1,-2\n", 2, 24, length: 2, "std must be positive and finite, got '-2'"),
        Case("input 8x8\nnormalize mean=0 std=1e999\n", 2, 22, "std must be positive and finite, got '1e999'"),
        Case("input 8x8\nnormalize mean=0 std=1e-40\n", 2, 22, "std '1e-40' does not fit a 32-bit float"),
        Case("input 8x8\nnormalize mean=1e39 std=1\n", 2, 16, "mean '1e39' does not fit a 32-bit float"),
        Case("input 8x8\nnormalize mean=abc std=1\n", 2, 16, "expected a mean like 0.485, got 'abc'"),
        Case("input 8x8\nnormalize mean=inf std=1\n", 2, 16, "expected a mean like 0.485, got 'inf'"),
        Case("input 8x8\nnormalize mean=0 std=1/4\n", 2, 22, "expected a std like 0.229, got '1/4'"),
        Case("input 8x8x3\nnormalize mean=0.1,,0.3 std=1\n", 2, 20, "expected a mean value in '0.1,,0.3'",
             hint: "separated by commas without spaces"),
        Case("input 8x8x2\nnormalize mean=0.1, std=1\n", 2, 20, "expected a mean value in '0.1,'"),
        Case("input 8x8\nnormalize mean=0 std=1 eps=1\n", 2, 24, "unknown attribute 'eps' for 'normalize'"),
        Case("input 8x8\nnormalize 0.5\n", 2, 11, "unexpected extra operand '0.5'"),
        Case("input 8x8\nnormalize mean 0.5\n", 2, 11, "unexpected extra operand 'mean'",
             hint: "attributes are written key=value"),
        Case("input 8x8\nnormalize mean=0 mean=1 std=1\n", 2, 18, "attribute 'mean' given twice"),
    ]

    @Test("errors point at the word", arguments: errors)
    func error(_ c: ParserErrorCase) {
        ParserErrorTests.check(c, ParserErrorTests.diagnostic(c.source))
    }
}
