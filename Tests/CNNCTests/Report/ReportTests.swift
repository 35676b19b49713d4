import CNNC
import Foundation
import Testing

/// `cnnc report` on the example networks: the figures of seed 002's table, the totals in all three formats,
/// and the other examples compiling.
@Suite struct ReportTests {
    static let root = repositoryRoot

    static func example(_ name: String) throws -> Compilation {
        try Compilation(path: root.appendingPathComponent("Examples/\(name).cnn").path)
    }

    func layer(_ net: Network, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Layer {
        try #require(net.layers.first { $0.name == name }, "no layer \(name)", sourceLocation: sourceLocation)
    }

    // MARK: mnist002: the seed's figures

    @Test func mNIST002MACs() throws {
        let net = try Self.example("mnist002").network
        #expect(try layer(net, "conv1").forwardMACs == 112896)
        #expect(try layer(net, "conv2").forwardMACs == 903168)
        #expect(try layer(net, "conv3").forwardMACs == 903168)
        #expect(try layer(net, "dense1").forwardMACs == 313600)
        #expect(try layer(net, "dense2").forwardMACs == 1000)
        #expect(net.forwardMACs == 112896 + 2 * 903168 + 313600 + 1000)
    }

    @Test func mNIST002Parameters() throws {
        let net = try Self.example("mnist002").network
        let expected: [(String, Int)] = [("conv1", 144), ("bias1", 12544), ("conv2", 4608), ("bias2", 6272),
                                         ("conv3", 18432), ("bias3", 3136), ("dense1", 313600 + 100),
                                         ("dense2", 1000 + 10)]
        for (name, count) in expected {
            #expect(try layer(net, name).parameterCount == count, "\(name)")
        }
        #expect(net.parameterCount == expected.reduce(0) { $0 + $1.1 })
        #expect(net.parameterCount == 359846)
        // Parameter-free layers.
        for l in net.layers where ["relu", "maxpool", "flatten", "softmax"].contains(l.op.keyword) {
            #expect(l.parameterCount == 0, "\(l.name)")
        }
        // PyTorch shapes.
        #expect(try layer(net, "conv1").parameters.map(\.layout.torchShape) == [[16, 1, 3, 3]])
        #expect(try layer(net, "bias1").parameters.map(\.layout.torchShape) == [[16, 28, 28]])
        #expect(try layer(net, "dense1").parameters.map(\.layout.torchShape) == [[100, 3136], [100]])
    }

    @Test func mNIST002Shapes() throws {
        let net = try Self.example("mnist002").network
        let outputs = [("conv1", "28x28x16"), ("maxpool1", "14x14x16"), ("conv2", "14x14x32"), ("maxpool2", "7x7x32"),
                       ("conv3", "7x7x64"), ("flatten1", "3136"), ("dense1", "100"), ("dense2", "10"),
                       ("softmax1", "10")]
        for (name, shape) in outputs {
            #expect(try layer(net, name).output.description == shape, "\(name)")
        }
        #expect(net.input.description == "28x28x1")
        #expect(try layer(net, "dense1").input.description == "3136")
    }

    @Test func mNIST002BackwardMACs() throws {
        let net = try Self.example("mnist002").network
        // The first layer needs no input gradient: only its weight gradient is computed.
        #expect(net.backwardMACs == 2 * net.forwardMACs - 112896)
        #expect(try layer(net, "conv1").backwardMACs == 112896)
        #expect(try layer(net, "conv2").backwardMACs == 2 * 903168)
        #expect(net.trainingFLOPs == 2 * (net.forwardMACs + net.backwardMACs))
    }

    // MARK: The three formats

    @Test func textReport() throws {
        let c = try Self.example("mnist002")
        let text = ReportRenderer.render(c, format: .text, batch: 64)
        for figure in ["112896", "903168", "313600", "1000", "144", "12544", "4608", "6272", "18432", "3136",
                       "313700", "1010", "28x28x16", "14x14x16", "14x14x32", "7x7x32", "7x7x64",
                       "16x1x3x3", "16x28x28", "100x3136"] {
            #expect(text.contains(figure), "text report lacks \(figure)")
        }
        let net = c.network
        for total in [net.parameterCount, net.forwardMACs, net.backwardMACs, net.trainingFLOPs, net.trainingFLOPs * 64,
                      net.parameterCount * 4, c.plan.activationBytes(batch: 64)] {
            #expect(text.contains(String(total)), "text report lacks \(total)")
        }
        #expect(text.contains("1 MAC = 2 FLOPs"))
        #expect(text.contains("pad same (t0 l0 b1 r1)"), "the seed's one-sided pool padding")
        // One row per layer in source order.
        let lines = text.split(separator: "\n").map(String.init)
        var last = -1
        for l in net.layers {
            let row = try #require(lines.firstIndex { $0.split(separator: " ").dropFirst().first.map(String.init) == l.name }, "no row for \(l.name)")
            #expect(row > last, "\(l.name)")
            last = row
        }
        // No line ends in a space (cells are padded, lines trimmed).
        #expect(!(lines.contains { $0.hasSuffix(" ") }))
    }

    func textTotal(_ text: String, _ label: String) throws -> Int {
        let line = try #require(text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }, "no '\(label)' line")
        let rest = line.trimmingCharacters(in: .whitespaces).dropFirst(label.count)
        let number = rest.split(separator: " ").first.map(String.init) ?? ""
        return try #require(Int(number), "'\(label)' line: \(line)")
    }

    @Test func jSONAgreesWithTextAndNetwork() throws {
        let c = try Self.example("mnist002")
        let json = ReportRenderer.render(c, format: .json, batch: 32)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(root["network"] as? String == "mnist002")
        #expect(root["input"] as? [Int] == [28, 28, 1])
        #expect(root["batch"] as? Int == 32)

        let totals = try #require(root["totals"] as? [String: Any])
        let net = c.network
        #expect(totals["parameters"] as? Int == net.parameterCount)
        #expect(totals["forward_macs"] as? Int == net.forwardMACs)
        #expect(totals["backward_macs"] as? Int == net.backwardMACs)
        #expect(totals["training_flops"] as? Int == net.trainingFLOPs)

        let text = ReportRenderer.render(c, format: .text, batch: 32)
        #expect(try textTotal(text, "parameters") == totals["parameters"] as? Int)
        #expect(try textTotal(text, "forward MACs / sample") == totals["forward_macs"] as? Int)
        #expect(try textTotal(text, "backward MACs / sample") == totals["backward_macs"] as? Int)
        #expect(try textTotal(text, "training FLOPs / sample") == totals["training_flops"] as? Int)
        #expect(try textTotal(text, "training FLOPs / batch of 32") == net.trainingFLOPs * 32)

        let memory = try #require(root["memory_bytes"] as? [String: Any])
        #expect(memory["weights"] as? Int == net.parameterCount * 4)
        #expect(memory["gradients"] as? Int == net.parameterCount * 4)
        #expect(memory["optimizer"] as? Int == net.parameterCount * 4)
        #expect(memory["activations"] as? Int == c.plan.activationBytes(batch: 32))

        let layers = try #require(root["layers"] as? [[String: Any]])
        #expect(layers.map { $0["name"] as? String } == net.layers.map(\.name))
        #expect(layers.compactMap { $0["parameter_count"] as? Int }.reduce(0, +) == net.parameterCount)
        #expect(layers.compactMap { $0["forward_macs"] as? Int }.reduce(0, +) == net.forwardMACs)
        #expect(layers.compactMap { $0["backward_macs"] as? Int }.reduce(0, +) == net.backwardMACs)
        let conv1 = layers[0]
        #expect(conv1["output"] as? [Int] == [28, 28, 16])
        #expect(conv1["group"] as? String == "conv1")
        let p = try #require((conv1["parameters"] as? [[String: Any]])?.first)
        #expect(p["shape"] as? [Int] == [16, 1, 3, 3])
        #expect(p["count"] as? Int == 144)
        let flat = try #require(layers.first { $0["name"] as? String == "flatten1" })
        #expect(flat["output"] as? [Int] == [3136])

        let groups = try #require(root["groups"] as? [[String: Any]])
        #expect(groups.count == c.plan.groups.count)
        #expect(groups.first?["layers"] as? [String] == ["conv1", "bias1", "relu1"])
        // Deterministic output.
        #expect(json == ReportRenderer.render(c, format: .json, batch: 32))
    }

    @Test func markdownHasTables() throws {
        let c = try Self.example("mnist002")
        let md = ReportRenderer.render(c, format: .markdown, batch: 64)
        #expect(md.contains("| # | layer | operation |"))
        #expect(md.contains("| --- |") || md.contains("| ---: |"))
        #expect(md.contains("| 1 | conv1 |"))
        #expect(md.contains("112896"))
        #expect(md.contains(String(c.network.parameterCount)))
        // Every table line has the same number of cells as its header.
        var cells = -1
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else { cells = -1; continue }
            let n = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            if cells < 0 { cells = n } else { #expect(n == cells, "\(String(line))") }
        }
    }

    @Test func smallNetworks() throws {
        // No layers at all, and no scale: every format still renders, and the JSON parses.
        let empty = try Compilation(source: Array("input 2x2\n".utf8), file: "empty.cnn")
        for format in ReportFormat.allCases {
            #expect(ReportRenderer.render(empty, format: format, batch: 1).contains("empty"), "\(format)")
        }
        let root = try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(empty, format: .json, batch: 1).utf8))
        #expect((root as? [String: Any])?["scale_text"] as? NSNull == NSNull())
        // SAME padding with its odd pixel at the bottom/right, a non-square stride, an inline activation.
        let src = "net odd\ninput 5x5\nmaxpool 2x2 pad=same\nconv 1 3x3 stride=2x1 pad=same relu\ndense 3 bias=none\n"
        let c = try Compilation(source: Array(src.utf8), file: "odd.cnn")
        let text = ReportRenderer.render(c, format: .text, batch: 8)
        #expect(text.contains("maxpool 2x2/2 pad same (t0 l0 b1 r1)"), "\(text)")
        #expect(text.contains("conv 1 3x3/2x1 pad same (1), bias channel, relu"), "\(text)")
        #expect(text.contains("dense 3, no bias"), "\(text)")
        #expect(text.contains("3 layers in 3 fused groups"), "\(text)")
    }

    // MARK: The other examples

    @Test func digits004() throws {
        let c = try Self.example("digits004")
        let net = c.network
        #expect(try layer(net, "dense1").input.count == 64)
        #expect(try layer(net, "maxpool1").output.description == "4x4x4")
        #expect(try layer(net, "dense1").parameterCount == 64 * 32 + 32)
        #expect(net.output.description == "10")
        #expect(net.scale == 1.0 / 16.0)
        let text = ReportRenderer.render(c, format: .text, batch: 128)
        #expect(text.contains("dense1"))
    }

    @Test func otherExamplesCompile() throws {
        for name in ["lenet5", "fashion", "fashion_aug", "digits004", "mnist002", "residual", "inception"] {
            let c = try Self.example(name)
            #expect(c.network.output.description == "10", "\(name)")
            for format in ReportFormat.allCases {
                #expect(!(ReportRenderer.render(c, format: format, batch: 64).isEmpty), "\(name) \(format)")
            }
            let json = ReportRenderer.render(c, format: .json, batch: 64)
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(json.utf8)) }
        }
        let lenet = try Self.example("lenet5").network
        #expect(try layer(lenet, "conv1").output.description == "28x28x6")
        #expect(try layer(lenet, "conv2").output.description == "10x10x16")
        #expect(try layer(lenet, "dense1").input.description == "5x5x16")
        #expect(lenet.parameterCount == 156 + 2416 + 48120 + 10164 + 850)
    }
}
