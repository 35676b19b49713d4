import Foundation
import Testing
@testable import CNNC

/// `dropout P [name=ID]`: parsing, the checks of P, its place in shapes, fusion and the plan, the report row and
/// the ONNX export (a Dropout node with its ratio, an identity at inference).
@Suite struct DropoutSyntaxTests {
    static let source = "input 6x6x2\nconv 3 3x3 relu\ndropout 0.25\nflatten\ndense 4\ndropout 0.5 name=late\nsoftmax\n"

    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    @Test func parsedShapedAndPlannedAsAGroupOfItsOwn() throws {
        let c = try Self.compile(Self.source)
        let layers = c.network.layers
        #expect(layers.map(\.name) == ["conv1", "dropout1", "flatten1", "dense1", "late", "softmax1"])
        #expect(layers[1].op == .dropout(p: 0.25) && layers[4].op == .dropout(p: 0.5))
        #expect(layers[1].input == layers[1].output && layers[1].parameters.isEmpty)
        #expect(c.plan.groups.map(\.name) == ["conv1", "dropout1", "flatten1", "dense1", "late", "softmax1"])
        let names = c.plan.kernels.map(\.name)
        #expect(names.contains("dropout1_forward") && names.contains("dropout1_backward"))
        #expect(names.contains("late_forward") && names.contains("late_backward"))
        // The backward recomputes the mask: it reads only the output's gradient.
        let backward = try #require(c.plan.kernels.first { $0.name == "dropout1_backward" })
        #expect(backward.reads == ["d_dropout1_out"] && backward.writes == ["d_conv1_out"])
        // Every dropout kernel has a lowering rule: no printer has a form of its own for it.
        for (ki, k) in c.plan.kernels.enumerated() where k.name.hasPrefix("dropout1") || k.name.hasPrefix("late") {
            #expect(Lowering.lower(c.plan, kernel: ki, for: .sampleRanges) != nil, "\(k.name)")
            #expect(Lowering.lower(c.plan, kernel: ki, for: .invocationGrid) != nil, "\(k.name)")
        }
    }

    @Test func zeroKeepsEveryElement() throws {
        let c = try Self.compile("input 4x4\ndropout 0\nflatten\ndense 2\nsoftmax\n")
        #expect(c.network.layers[0].op == .dropout(p: 0))
    }

    @Test(arguments: [
        ("input 4x4\ndropout 1\nsoftmax\n", "net.cnn:2:9: error: dropout probability must be in [0, 1), got '1'"),
        ("input 4x4\ndropout -0.1\nsoftmax\n", "net.cnn:2:9: error: dropout probability must be in [0, 1), got '-0.1'"),
        ("input 4x4\ndropout 1.5\nsoftmax\n", "net.cnn:2:9: error: dropout probability must be in [0, 1), got '1.5'"),
        ("input 4x4\ndropout nan\nsoftmax\n", "net.cnn:2:9: error: "),
        ("input 4x4\ndropout 0.99999999\nsoftmax\n",
         "net.cnn:2:9: error: dropout probability '0.99999999' rounds to 1 at the mask generator's 24-bit precision"),
        ("input 4x4\ndropout\nsoftmax\n", "net.cnn:2:8: error: expected a drop probability like 0.5 after 'dropout'"),
        ("input 4x4\ndropout half\nsoftmax\n", "net.cnn:2:9: error: expected a drop probability like 0.5, got 'half'"),
        ("input 4x4\ndropout 0.5 relu\nsoftmax\n", "net.cnn:2:13: error: "),
    ])
    func probabilityErrors(source: String, message: String) throws {
        let error = #expect(throws: Diagnostic.self) { try Self.compile(source) }
        let text = error?.description ?? ""
        #expect(text.hasPrefix(message), "\(text)")
    }

    @Test func anOutOfRangeProbabilityIsShownWithCaretAndHint() throws {
        let error = #expect(throws: Diagnostic.self) { try Self.compile("input 4x4\ndropout 1.25 name=d\nsoftmax\n") }
        #expect(error?.description == """
            net.cnn:2:9: error: dropout probability must be in [0, 1), got '1.25'
                dropout 1.25 name=d
                        ^~~~
            hint: P is the fraction of elements dropped while training, e.g. 0.5; 0 keeps every one
            """, "\(error?.description ?? "")")
    }

    @Test func theReportHasARowSayingTrainingOnly() throws {
        let c = try Self.compile(Self.source)
        let text = ReportRenderer.render(c, format: .text, batch: 8)
        let row = try #require(text.split(separator: "\n").first { $0.contains(" late ") })
        #expect(row.contains("dropout 0.5 (training only)"))
        #expect(row.contains("4 ") && row.contains("late"))
        #expect(PlanPrinter.render(c.plan, batch: 8).contains("dropout 0.25"))
    }

    @Test func onnxExportsADropoutNodeWithItsRatio() throws {
        let c = try Self.compile(Self.source)
        let model = try DecodedModel(try ONNXLowering.model(c.network, weights: ExportFixture.weights(c.network))
                                        .serialized())
        #expect(model.ops == ["Conv", "Relu", "Dropout", "Flatten", "Gemm", "Dropout", "Softmax"])
        let late = try #require(model.node("late"))
        #expect(late.inputs.count == 2 && late.outputs == ["late"])
        #expect(model.initializers[late.inputs[1]]?.floats == [0.5])
        #expect(model.node("dropout1")?.inputs.first == "conv1_relu")
    }
}
