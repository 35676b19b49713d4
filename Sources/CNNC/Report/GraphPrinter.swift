/// What `cnnc graph` writes: Graphviz's DOT text, or an SVG drawing of it (rendered by Graphviz's `dot`).
public enum GraphFormat: String, CaseIterable, Sendable {
    case dot, svg
}

/// `cnnc graph`: the network's DAG as Graphviz DOT. The input and every layer are nodes (name, operation,
/// parameter count), every tensor a layer reads is an edge labelled with its shape, and every fused kernel group
/// of more than one layer is a cluster, so the drawing shows what runs as one kernel.
///
/// Layer, network and file names reach the DOT text only through `quoted`, the one escaping function for DOT.
public enum GraphPrinter {
    /// The first line of every DOT file cnnc writes: `-o` replaces an existing file only when it starts so.
    public static let dotSignature = "// Graphviz DOT written by cnnc graph\n"

    /// The bytes `cnnc graph` writes: the DOT text, or its SVG drawing by the `dot` on `searchPath` (a PATH value).
    public static func render(_ c: Compilation, format: GraphFormat, searchPath: String?) throws -> [UInt8] {
        switch format {
        case .dot: return Array(dot(c).utf8)
        case .svg: return try Graphviz.svg(dot(c), searchPath: searchPath)
        }
    }

    /// Writes `bytes` to `path` exclusively and atomically (`ExclusiveFile`), replacing only a DOT or SVG file
    /// that `cnnc graph` wrote.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let signatures = [dotSignature, Graphviz.svgSignature].map { Array($0.utf8) }
        try ExclusiveFile.write(bytes, to: path, replacing: { head in signatures.contains { head.starts(with: $0) } },
                                what: "a graph written by cnnc graph")
    }

    public static func dot(_ c: Compilation) -> String {
        let net = c.network
        var out = dotSignature
        out += "// render it with: dot -Tsvg FILE.dot -o FILE.svg\n"
        out += "digraph \(quoted(net.name)) {\n"
        let title = "\(net.name) (\(net.sourceFile)): \(net.layers.count) layers, \(net.parameterCount) parameters"
        out += "  label=\(quoted(title, "fused kernels of several layers are dashed boxes"));\n"
        out += "  labelloc=t;\n  fontname=\"Helvetica\";\n"
        out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", fontname=\"Helvetica\", "
            + "fontsize=10];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=9];\n\n"

        var inputLines = ["input", net.input.description]
        if net.scale != 1 { inputLines.append("scale " + (net.scaleText ?? ReportModel.number(net.scale))) }
        if let norm = net.normalization { inputLines.append("normalize " + norm.text) }
        out += "  \(quoted(Network.inputTensor)) [label=\(quoted(inputLines)), shape=ellipse, fillcolor=\"#ffffff\"];\n"

        for g in c.plan.groups {
            var indent = "  "
            if g.isFused {
                out += "  subgraph \(quoted("cluster_" + g.name)) {\n"
                out += "    label=\(quoted("kernel " + g.name));\n    style=dashed;\n    fontsize=10;\n"
                indent = "    "
            }
            for i in g.layers { out += indent + node(c, i) + "\n" }
            if g.isFused { out += "  }\n" }
        }

        out += "\n"
        for layer in net.layers {
            for (tensor, shape) in zip(layer.inputs, layer.inputShapes) {
                out += "  \(quoted(tensor)) -> \(quoted(layer.name)) [label=\(quoted(shape.description))];\n"
            }
        }
        out += "}\n"
        return out
    }

    /// One layer's node: its name, its operation as `cnnc report` words it, and its parameter count. Layers with
    /// parameters are blue, layers that join several tensors (add, concat) yellow.
    static func node(_ c: Compilation, _ index: Int) -> String {
        let layer = c.network.layers[index]
        // Layers and layer statements correspond one to one; the syntax says whether padding was `same`.
        let padding = index < c.syntax.layers.count ? ReportModel.paddingSpec(c.syntax.layers[index].syntax) : nil
        var lines = [layer.name, ReportModel.describe(layer, padding: padding)]
        if layer.parameterCount > 0 { lines.append(ReportModel.plural(layer.parameterCount, "parameter")) }
        var attributes = "label=\(quoted(lines))"
        if layer.parameterCount > 0 {
            attributes += ", fillcolor=\"#dbe8f7\""
        } else if layer.inputs.count > 1 {
            attributes += ", fillcolor=\"#fbefc4\""
        }
        return "\(quoted(layer.name)) [\(attributes)];"
    }

    /// A DOT quoted string (an ID or a label) of `lines`, one under the other. The one escaping function for DOT:
    /// `"` and `\` are escaped (so a name cannot end the string or start one of Graphviz's `\N`-style escapes),
    /// and control characters (newlines, carriage returns, tabs) are dropped; the lines are joined by `\n`,
    /// Graphviz's line break in labels.
    static func quoted(_ lines: String...) -> String { quoted(lines) }

    static func quoted(_ lines: [String]) -> String {
        let escaped = lines.map { line in
            var s = ""
            for u in line.unicodeScalars {
                switch u {
                case "\"": s += "\\\""
                case "\\": s += "\\\\"
                default:
                    let lineBreak = u == "\u{85}" || u == "\u{2028}" || u == "\u{2029}"
                    if u.value < 0x20 || u.value == 0x7F || lineBreak { continue }
                    s.unicodeScalars.append(u)
                }
            }
            return s
        }
        return "\"" + escaped.joined(separator: "\\n") + "\""
    }
}
