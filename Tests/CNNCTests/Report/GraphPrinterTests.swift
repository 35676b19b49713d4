import Foundation
import Testing
@testable import CNNC

/// The parts of a DOT text `GraphPrinter` writes, read back line by line: nodes, edges with their labels, and the
/// nodes of each cluster. (A reader of this one printer's layout, not of DOT in general.)
struct DOTGraph {
    var nodes: [String] = []
    var labels: [String: String] = [:]
    /// "FROM -> TO" with the edge's label (the shape).
    var edges: [String: String] = [:]
    var clusters: [String: [String]] = [:]

    init(_ text: String) throws {
        var cluster: String?
        for line in text.split(separator: "\n").map(String.init) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if let m = t.wholeMatch(of: /subgraph "cluster_([^"]+)" \{/) {
                cluster = String(m.1)
                clusters[String(m.1)] = []
            } else if t == "}" {
                cluster = nil
            } else if let m = t.wholeMatch(of: /"([^"]+)" -> "([^"]+)" \[label="([^"]*)"\];/) {
                edges["\(m.1) -> \(m.2)"] = String(m.3)
            } else if let m = t.wholeMatch(of: /"([^"]+)" \[label="((?:[^"\\]|\\.)*)".*\];/) {
                nodes.append(String(m.1))
                labels[String(m.1)] = String(m.2)
                if let cluster { clusters[cluster]!.append(String(m.1)) }
            }
        }
    }
}

@Suite("cnnc graph: the network as Graphviz DOT")
struct GraphPrinterTests {
    static func example(_ name: String) throws -> Compilation {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path)
    }

    /// Every layer's input edges, from the network itself: what the drawing must show.
    static func expectedEdges(_ net: Network) -> [String: String] {
        var out: [String: String] = [:]
        for l in net.layers {
            for (t, s) in zip(l.inputs, l.inputShapes) { out["\(t) -> \(l.name)"] = s.description }
        }
        return out
    }

    @Test("a sequential net: a chain of nodes, shapes on the edges, conv + bias + relu as one cluster each")
    func sequential() throws {
        let c = try Self.example("mnist002")
        let text = GraphPrinter.dot(c)
        #expect(text.hasPrefix(GraphPrinter.dotSignature))
        let g = try DOTGraph(text)
        #expect(g.nodes == ["input"] + c.network.layers.map(\.name))
        #expect(g.edges.count == c.network.layers.count)
        #expect(g.edges["input -> conv1"] == "28x28x1")
        #expect(g.edges["conv1 -> bias1"] == "28x28x16")
        #expect(g.edges["maxpool2 -> conv3"] == "7x7x32")
        #expect(g.edges["flatten1 -> dense1"] == "3136")
        #expect(g.edges["dense2 -> softmax1"] == "10")
        #expect(g.edges == Self.expectedEdges(c.network))
        #expect(g.clusters == ["conv1": ["conv1", "bias1", "relu1"], "conv2": ["conv2", "bias2", "relu2"],
                               "conv3": ["conv3", "bias3", "relu3"]])
        #expect(g.labels["input"] == #"input\n28x28x1\nscale 1/255"#)
        #expect(g.labels["conv1"] == #"conv1\nconv 16 3x3/1 pad 1, no bias\n144 parameters"#)
        #expect(g.labels["maxpool1"] == #"maxpool1\nmaxpool 3x3/2 pad same (t0 l0 b1 r1)"#)
    }

    @Test("residual: both shortcuts are edges into the adds, with their shapes")
    func residual() throws {
        let c = try Self.example("residual")
        let g = try DOTGraph(GraphPrinter.dot(c))
        #expect(g.nodes == ["input"] + c.network.layers.map(\.name))
        #expect(g.edges == Self.expectedEdges(c.network))
        #expect(g.edges["maxpool1 -> block1"] == "14x14x16")   // the identity shortcut
        #expect(g.edges["a2 -> block1"] == "14x14x16")
        #expect(g.edges["block1 -> proj"] == "14x14x16")       // from=block1
        #expect(g.edges["proj -> block2"] == "7x7x32")
        #expect(g.edges["b2 -> block2"] == "7x7x32")
        #expect(g.edges["globalavgpool1 -> dense1"] == "1x1x32")
        #expect(g.labels["block2"] == #"block2\nadd proj + b2, relu"#)
        // The adds are the epilogues of the convs before them (a residual each): one kernel, one cluster.
        #expect(g.clusters == ["a2": ["a2", "block1"], "proj": ["proj", "block2"]])
        let fused = c.plan.groups.filter(\.isFused)
        #expect(g.clusters == Dictionary(uniqueKeysWithValues: fused.map {
            ($0.name, $0.layers.map { c.network.layers[$0].name })
        }))
    }

    @Test("inception: four branches out of pool1, four edges into the concat")
    func inception() throws {
        let c = try Self.example("inception")
        let g = try DOTGraph(GraphPrinter.dot(c))
        #expect(g.nodes == ["input"] + c.network.layers.map(\.name))
        #expect(g.edges == Self.expectedEdges(c.network))
        #expect(g.edges.keys.filter { $0.hasPrefix("pool1 -> ") }.sorted()
                == ["pool1 -> branch1", "pool1 -> maxpool2", "pool1 -> reduce3", "pool1 -> reduce5"])
        #expect(g.edges["branch1 -> mixed"] == "14x14x8")
        #expect(g.edges["branch3 -> mixed"] == "14x14x12")
        #expect(g.edges["branch5 -> mixed"] == "14x14x6")
        #expect(g.edges["branchpool -> mixed"] == "14x14x6")
        #expect(g.edges["mixed -> maxpool3"] == "14x14x32")
        #expect(g.labels["mixed"] == #"mixed\nconcat branch1 | branch3 | branch5 | branchpool"#)
    }

    @Test("the one escaping function: quotes and backslashes escaped, control characters dropped")
    func escaping() {
        #expect(GraphPrinter.quoted("plain") == #""plain""#)
        #expect(GraphPrinter.quoted(#"a"b"#) == #""a\"b""#)
        #expect(GraphPrinter.quoted(#"ends in \"#) == #""ends in \\""#)
        #expect(GraphPrinter.quoted(#"\N\G"#) == #""\\N\\G""#)
        #expect(GraphPrinter.quoted("two\nlines\r\tx\u{7F}") == #""twolinesx""#)
        #expect(GraphPrinter.quoted("a", "b\"") == #""a\nb\"""#)
        #expect(GraphPrinter.quoted("ünïcode ✓") == "\"ünïcode ✓\"")
        #expect(GraphPrinter.quoted("a\u{2028}b\u{85}c") == #""abc""#)
    }

    /// Layer and net names are identifiers; the file name is anything. One that tries to close the label and add
    /// a node must stay text: the graph Graphviz reads has the network's nodes and nothing else.
    @Test("a hostile file name stays inside the graph's label")
    func hostileFileName() throws {
        let file = "x\"]; \"evil\" [label=\"pwned\"]; #\n\\\"\\.cnn"
        let c = try Compilation(source: Array("input 4x4x1\nconv 2 3x3 name=a-b\nflatten\ndense 2\nsoftmax\n".utf8),
                                file: file)
        let text = GraphPrinter.dot(c)
        #expect(!text.contains("\"evil\" ["))
        let escaped = #"x\"]; \"evil\" [label=\"pwned\"]; #\\\"\\.cnn"#
        let lines = text.split(separator: "\n")
        #expect(lines[2] == "digraph \"\(escaped.dropLast(4))\" {")
        #expect(lines[3] == "  label=\"\(escaped.dropLast(4)) (\(escaped)): 4 layers, 38 parameters\\n"
                + "fused kernels of several layers are dashed boxes\";")
        let g = try DOTGraph(text)
        #expect(g.nodes == ["input", "a-b", "flatten1", "dense1", "softmax1"])
        // Graphviz itself reads exactly these nodes.
        if let dot = Graphviz.findDot(searchPath: ProcessInfo.processInfo.environment["PATH"]) {
            let run = try Graphviz.run(dot, arguments: ["-Tplain"], input: Array(text.utf8), timeout: 60)
            #expect(run.status == 0, "\(String(decoding: run.errors, as: UTF8.self))")
            let nodes = String(decoding: run.output, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("node ") }.map { $0.split(separator: " ")[1] }
            #expect(nodes.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                    == ["input", "a-b", "flatten1", "dense1", "softmax1"])
        }
    }
}
