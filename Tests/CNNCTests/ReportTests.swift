import CNNC
import Foundation
import XCTest

/// `cnnc report` on the example networks: the figures of seed 002's table, the totals in all three formats,
/// and the other examples compiling.
final class ReportTests: XCTestCase {
    /// The repository root, found from this file's path (Tests/CNNCTests/ReportTests.swift).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func example(_ name: String) throws -> Compilation {
        try Compilation(path: root.appendingPathComponent("Examples/\(name).cnn").path)
    }

    func layer(_ net: Network, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Layer {
        try XCTUnwrap(net.layers.first { $0.name == name }, "no layer \(name)", file: file, line: line)
    }

    // MARK: mnist002: the seed's figures

    func testMNIST002MACs() throws {
        let net = try Self.example("mnist002").network
        XCTAssertEqual(try layer(net, "conv1").forwardMACs, 112896)
        XCTAssertEqual(try layer(net, "conv2").forwardMACs, 903168)
        XCTAssertEqual(try layer(net, "conv3").forwardMACs, 903168)
        XCTAssertEqual(try layer(net, "dense1").forwardMACs, 313600)
        XCTAssertEqual(try layer(net, "dense2").forwardMACs, 1000)
        XCTAssertEqual(net.forwardMACs, 112896 + 2 * 903168 + 313600 + 1000)
    }

    func testMNIST002Parameters() throws {
        let net = try Self.example("mnist002").network
        let expected: [(String, Int)] = [("conv1", 144), ("bias1", 12544), ("conv2", 4608), ("bias2", 6272),
                                         ("conv3", 18432), ("bias3", 3136), ("dense1", 313600 + 100),
                                         ("dense2", 1000 + 10)]
        for (name, count) in expected {
            XCTAssertEqual(try layer(net, name).parameterCount, count, name)
        }
        XCTAssertEqual(net.parameterCount, expected.reduce(0) { $0 + $1.1 })
        XCTAssertEqual(net.parameterCount, 359846)
        // Parameter-free layers.
        for l in net.layers where ["relu", "maxpool", "flatten", "softmax"].contains(l.op.keyword) {
            XCTAssertEqual(l.parameterCount, 0, l.name)
        }
        // PyTorch shapes.
        XCTAssertEqual(try layer(net, "conv1").parameters.map(\.layout.torchShape), [[16, 1, 3, 3]])
        XCTAssertEqual(try layer(net, "bias1").parameters.map(\.layout.torchShape), [[16, 28, 28]])
        XCTAssertEqual(try layer(net, "dense1").parameters.map(\.layout.torchShape), [[100, 3136], [100]])
    }

    func testMNIST002Shapes() throws {
        let net = try Self.example("mnist002").network
        let outputs = [("conv1", "28x28x16"), ("maxpool1", "14x14x16"), ("conv2", "14x14x32"), ("maxpool2", "7x7x32"),
                       ("conv3", "7x7x64"), ("flatten1", "3136"), ("dense1", "100"), ("dense2", "10"),
                       ("softmax1", "10")]
        for (name, shape) in outputs {
            XCTAssertEqual(try layer(net, name).output.description, shape, name)
        }
        XCTAssertEqual(net.input.description, "28x28x1")
        XCTAssertEqual(try layer(net, "dense1").input.description, "3136")
    }

    func testMNIST002BackwardMACs() throws {
        let net = try Self.example("mnist002").network
        // The first layer needs no input gradient: only its weight gradient is computed.
        XCTAssertEqual(net.backwardMACs, 2 * net.forwardMACs - 112896)
        XCTAssertEqual(try layer(net, "conv1").backwardMACs, 112896)
        XCTAssertEqual(try layer(net, "conv2").backwardMACs, 2 * 903168)
        XCTAssertEqual(net.trainingFLOPs, 2 * (net.forwardMACs + net.backwardMACs))
    }

    // MARK: The three formats

    func testTextReport() throws {
        let c = try Self.example("mnist002")
        let text = ReportRenderer.render(c, format: .text, batch: 64)
        for figure in ["112896", "903168", "313600", "1000", "144", "12544", "4608", "6272", "18432", "3136",
                       "313700", "1010", "28x28x16", "14x14x16", "14x14x32", "7x7x32", "7x7x64",
                       "16x1x3x3", "16x28x28", "100x3136"] {
            XCTAssertTrue(text.contains(figure), "text report lacks \(figure)")
        }
        let net = c.network
        for total in [net.parameterCount, net.forwardMACs, net.backwardMACs, net.trainingFLOPs, net.trainingFLOPs * 64,
                      net.parameterCount * 4, c.plan.activationBytes(batch: 64)] {
            XCTAssertTrue(text.contains(String(total)), "text report lacks \(total)")
        }
        XCTAssertTrue(text.contains("1 MAC = 2 FLOPs"))
        XCTAssertTrue(text.contains("pad same (t0 l0 b1 r1)"), "the seed's one-sided pool padding")
        // One row per layer in source order.
        let lines = text.split(separator: "\n").map(String.init)
        var last = -1
        for l in net.layers {
            let row = try XCTUnwrap(lines.firstIndex { $0.split(separator: " ").dropFirst().first.map(String.init) == l.name },
                                    "no row for \(l.name)")
            XCTAssertGreaterThan(row, last, l.name)
            last = row
        }
        // No line ends in a space (cells are padded, lines trimmed).
        XCTAssertFalse(lines.contains { $0.hasSuffix(" ") })
    }

    func textTotal(_ text: String, _ label: String) throws -> Int {
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) },
                                 "no '\(label)' line")
        let rest = line.trimmingCharacters(in: .whitespaces).dropFirst(label.count)
        let number = rest.split(separator: " ").first.map(String.init) ?? ""
        return try XCTUnwrap(Int(number), "'\(label)' line: \(line)")
    }

    func testJSONAgreesWithTextAndNetwork() throws {
        let c = try Self.example("mnist002")
        let json = ReportRenderer.render(c, format: .json, batch: 32)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(root["network"] as? String, "mnist002")
        XCTAssertEqual(root["input"] as? [Int], [28, 28, 1])
        XCTAssertEqual(root["batch"] as? Int, 32)

        let totals = try XCTUnwrap(root["totals"] as? [String: Any])
        let net = c.network
        XCTAssertEqual(totals["parameters"] as? Int, net.parameterCount)
        XCTAssertEqual(totals["forward_macs"] as? Int, net.forwardMACs)
        XCTAssertEqual(totals["backward_macs"] as? Int, net.backwardMACs)
        XCTAssertEqual(totals["training_flops"] as? Int, net.trainingFLOPs)

        let text = ReportRenderer.render(c, format: .text, batch: 32)
        XCTAssertEqual(try textTotal(text, "parameters"), totals["parameters"] as? Int)
        XCTAssertEqual(try textTotal(text, "forward MACs / sample"), totals["forward_macs"] as? Int)
        XCTAssertEqual(try textTotal(text, "backward MACs / sample"), totals["backward_macs"] as? Int)
        XCTAssertEqual(try textTotal(text, "training FLOPs / sample"), totals["training_flops"] as? Int)
        XCTAssertEqual(try textTotal(text, "training FLOPs / batch of 32"), net.trainingFLOPs * 32)

        let memory = try XCTUnwrap(root["memory_bytes"] as? [String: Any])
        XCTAssertEqual(memory["weights"] as? Int, net.parameterCount * 4)
        XCTAssertEqual(memory["gradients"] as? Int, net.parameterCount * 4)
        XCTAssertEqual(memory["optimizer"] as? Int, net.parameterCount * 4)
        XCTAssertEqual(memory["activations"] as? Int, c.plan.activationBytes(batch: 32))

        let layers = try XCTUnwrap(root["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.map { $0["name"] as? String }, net.layers.map(\.name))
        XCTAssertEqual(layers.compactMap { $0["parameter_count"] as? Int }.reduce(0, +), net.parameterCount)
        XCTAssertEqual(layers.compactMap { $0["forward_macs"] as? Int }.reduce(0, +), net.forwardMACs)
        XCTAssertEqual(layers.compactMap { $0["backward_macs"] as? Int }.reduce(0, +), net.backwardMACs)
        let conv1 = layers[0]
        XCTAssertEqual(conv1["output"] as? [Int], [28, 28, 16])
        XCTAssertEqual(conv1["group"] as? String, "conv1")
        let p = try XCTUnwrap((conv1["parameters"] as? [[String: Any]])?.first)
        XCTAssertEqual(p["shape"] as? [Int], [16, 1, 3, 3])
        XCTAssertEqual(p["count"] as? Int, 144)
        let flat = try XCTUnwrap(layers.first { $0["name"] as? String == "flatten1" })
        XCTAssertEqual(flat["output"] as? [Int], [3136])

        let groups = try XCTUnwrap(root["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.count, c.plan.groups.count)
        XCTAssertEqual(groups.first?["layers"] as? [String], ["conv1", "bias1", "relu1"])
        // Deterministic output.
        XCTAssertEqual(json, ReportRenderer.render(c, format: .json, batch: 32))
    }

    func testMarkdownHasTables() throws {
        let c = try Self.example("mnist002")
        let md = ReportRenderer.render(c, format: .markdown, batch: 64)
        XCTAssertTrue(md.contains("| # | layer | operation |"))
        XCTAssertTrue(md.contains("| --- |") || md.contains("| ---: |"))
        XCTAssertTrue(md.contains("| 1 | conv1 |"))
        XCTAssertTrue(md.contains("112896"))
        XCTAssertTrue(md.contains(String(c.network.parameterCount)))
        // Every table line has the same number of cells as its header.
        var cells = -1
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else { cells = -1; continue }
            let n = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            if cells < 0 { cells = n } else { XCTAssertEqual(n, cells, String(line)) }
        }
    }

    func testSmallNetworks() throws {
        // No layers at all, and no scale: every format still renders, and the JSON parses.
        let empty = try Compilation(source: Array("input 2x2\n".utf8), file: "empty.cnn")
        for format in ReportFormat.allCases {
            XCTAssertTrue(ReportRenderer.render(empty, format: format, batch: 1).contains("empty"), "\(format)")
        }
        let root = try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(empty, format: .json, batch: 1).utf8))
        XCTAssertEqual((root as? [String: Any])?["scale_text"] as? NSNull, NSNull())
        // SAME padding with its odd pixel at the bottom/right, a non-square stride, an inline activation.
        let src = "net odd\ninput 5x5\nmaxpool 2x2 pad=same\nconv 1 3x3 stride=2x1 pad=same relu\ndense 3 bias=none\n"
        let c = try Compilation(source: Array(src.utf8), file: "odd.cnn")
        let text = ReportRenderer.render(c, format: .text, batch: 8)
        XCTAssertTrue(text.contains("maxpool 2x2/2 pad same (t0 l0 b1 r1)"), text)
        XCTAssertTrue(text.contains("conv 1 3x3/2x1 pad same (1), bias channel, relu"), text)
        XCTAssertTrue(text.contains("dense 3, no bias"), text)
        XCTAssertTrue(text.contains("3 layers in 3 fused groups"), text)
    }

    // MARK: The other examples

    func testDigits004() throws {
        let c = try Self.example("digits004")
        let net = c.network
        XCTAssertEqual(try layer(net, "dense1").input.count, 64)
        XCTAssertEqual(try layer(net, "maxpool1").output.description, "4x4x4")
        XCTAssertEqual(try layer(net, "dense1").parameterCount, 64 * 32 + 32)
        XCTAssertEqual(net.output.description, "10")
        XCTAssertEqual(net.scale, 1.0 / 16.0)
        let text = ReportRenderer.render(c, format: .text, batch: 128)
        XCTAssertTrue(text.contains("dense1"))
    }

    func testOtherExamplesCompile() throws {
        for name in ["lenet5", "fashion", "digits004", "mnist002"] {
            let c = try Self.example(name)
            XCTAssertEqual(c.network.output.description, "10", name)
            for format in ReportFormat.allCases {
                XCTAssertFalse(ReportRenderer.render(c, format: format, batch: 64).isEmpty, "\(name) \(format)")
            }
            let json = ReportRenderer.render(c, format: .json, batch: 64)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.utf8)), name)
        }
        let lenet = try Self.example("lenet5").network
        XCTAssertEqual(try layer(lenet, "conv1").output.description, "28x28x6")
        XCTAssertEqual(try layer(lenet, "conv2").output.description, "10x10x16")
        XCTAssertEqual(try layer(lenet, "dense1").input.description, "5x5x16")
        XCTAssertEqual(lenet.parameterCount, 156 + 2416 + 48120 + 10164 + 850)
    }
}
