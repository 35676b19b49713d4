import Foundation

/// How `cnnc report` prints: an aligned plain-text table, GitHub-flavoured markdown tables, or JSON
/// (keys documented in Docs/report-json.md).
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, markdown, json
}

/// The per-layer report of a compiled network: shapes, parameter tensors, MACs, totals, memory and the fused
/// kernel groups. Every figure comes from the typed graph (`Network`) and the kernel plan; nothing is re-derived.
public enum ReportRenderer {
    public static func render(_ c: Compilation, format: ReportFormat, batch: Int) -> String {
        let report = ReportModel(c, batch: max(1, batch))
        switch format {
        case .text: return report.text()
        case .markdown: return report.markdown()
        case .json: return report.json()
        }
    }
}

/// Everything the three formats show, computed once.
struct ReportModel {
    struct Row {
        var index: Int
        var layer: Layer
        /// e.g. `conv 16 3x3/1 pad 1, no bias` or `maxpool 3x3/2 pad same (t0 l0 b1 r1)`.
        var operation: String
        /// The fused group (kernel) the layer runs in, its size, and the layer's 1-based place in it.
        var group: String
        var groupSize: Int
        var positionInGroup: Int
        /// The group is a view (flatten): no kernel runs.
        var isView: Bool
    }

    let network: Network
    let plan: KernelPlan
    let batch: Int
    let rows: [Row]

    init(_ c: Compilation, batch: Int) {
        network = c.network
        plan = c.plan
        self.batch = batch
        var groupOf: [Int: (FusedGroup, Int)] = [:]
        for g in c.plan.groups {
            for (k, li) in g.layers.enumerated() { groupOf[li] = (g, k + 1) }
        }
        rows = c.network.layers.enumerated().map { i, layer in
            // Layers and layer statements correspond one to one; the syntax says whether padding was `same`.
            let padding = i < c.syntax.layers.count ? Self.paddingSpec(c.syntax.layers[i].syntax) : nil
            let g = groupOf[i]
            let previous = i == 0 ? Network.inputTensor : c.network.layers[i - 1].name
            return Row(index: i + 1, layer: layer,
                       operation: Self.describe(layer, padding: padding) + Self.reads(layer, previous: previous),
                       group: g?.0.name ?? layer.name, groupSize: g?.0.layers.count ?? 1, positionInGroup: g?.1 ?? 1,
                       isView: g?.0.op == .flatten)
        }
    }

    // MARK: Figures

    var parameterBytes: Int { network.parameterCount * 4 }
    var activationBytes: Int { plan.activationBytes(batch: batch) }
    /// Buffers (batchnorm's running statistics) live in the flat weight array, whose gradient array has a slot
    /// for them too (the optimizer's state does not): 2 x 4 bytes each.
    var bufferBytes: Int { network.layers.reduce(0) { $0 + $1.buffers.reduce(0) { $0 + $1.count } } * 8 }
    /// The optimizer's state: one array as large as the weights for sgd (momentum), two for adam and adamw.
    var optimizerBytes: Int { (network.train.optimizer.kind == .sgd ? 1 : 2) * parameterBytes }
    var totalBytes: Int { 2 * parameterBytes + optimizerBytes + bufferBytes + activationBytes }
    var batchTrainingFLOPs: Int { network.trainingFLOPs * batch }

    /// `scale 1/255`, `scale 1/255, normalize mean=0.5 std=0.25`, or nil when the input is used as is.
    var scaleDescription: String? {
        var parts: [String] = []
        if network.scale != 1 { parts.append("scale " + (network.scaleText ?? Self.number(network.scale))) }
        if let norm = network.normalization { parts.append("normalize " + norm.text) }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// The kernel a layer runs in, with its place in a fused group: `conv1 2/3`, `dense2`, `flatten1 view`.
    func kernelLabel(_ row: Row) -> String {
        if row.isView { return "\(row.group) view" }
        if row.groupSize > 1 { return "\(row.group) \(row.positionInGroup)/\(row.groupSize)" }
        return row.group
    }

    // MARK: Wording

    static func paddingSpec(_ s: LayerSyntax) -> PaddingSpec? {
        switch s {
        case let .conv(_, _, _, padding, _, _): return padding
        case let .pool(_, _, _, padding): return padding
        default: return nil
        }
    }

    static func window(_ w: Window, padding: PaddingSpec?) -> String {
        let stride = w.stride.y == w.stride.x ? "\(w.stride.y)" : "\(w.stride)"
        var s = "\(w.kernel)/\(stride) pad "
        if padding == .same {
            s += "same (\(w.padding))"
        } else {
            s += "\(w.padding)"
        }
        return s
    }

    static func bias(_ kind: BiasKind, dense: Bool) -> String {
        switch kind {
        case .none: return "no bias"
        case .channel: return dense ? "bias" : "bias channel"
        case .element: return "bias element"
        }
    }

    /// One layer's operation in words, its own attributes only (fusion is shown separately).
    static func describe(_ layer: Layer, padding: PaddingSpec?) -> String {
        switch layer.op {
        case let .conv(filters, w, bias, act):
            var s = "conv \(filters) \(window(w, padding: padding)), \(Self.bias(bias, dense: false))"
            if let act { s += ", \(act.description)" }
            return s
        case let .dense(units, bias, act):
            var s = "dense \(units), \(Self.bias(bias, dense: true))"
            if let act { s += ", \(act.description)" }
            return s
        case let .bias(kind): return "bias \(kind.rawValue)"
        case let .activation(a): return a.description
        case let .pool(kind, w): return "\(kind.rawValue) \(window(w, padding: padding))"
        case .flatten: return "flatten"
        case .softmax: return "softmax, cross-entropy loss"
        case let .add(relu): return "add " + layer.inputs.joined(separator: " + ") + (relu ? ", relu" : "")
        case .concat: return "concat " + layer.inputs.joined(separator: " | ")
        case .globalAvgPool: return "globalavgpool"
        case let .dropout(p): return "dropout \(p) (training only)"
        case let .batchnorm(spec):
            return "batchnorm eps=\(spec.eps) momentum=\(spec.momentum)" + (spec.relu ? ", relu" : "")
        }
    }

    /// Where a layer reads from, when that is not the previous statement's output (add and concat name all
    /// their inputs already): `, from input`.
    static func reads(_ layer: Layer, previous: String) -> String {
        switch layer.op {
        case .add, .concat: return ""
        default: return layer.inputs == [previous] ? "" : ", from " + layer.inputs.joined(separator: ", ")
        }
    }

    /// `weight 16x1x3x3`, `bias 16x28x28`: names relative to the layer, PyTorch shapes.
    /// Buffers (not trained) follow after a semicolon: `weight 16, bias 16; buffers running_mean 16, ...`.
    static func parameterList(_ layer: Layer) -> String {
        func list(_ ps: [Parameter]) -> String {
            ps.map { p in
                let short = p.name.hasPrefix(layer.name + ".") ? String(p.name.dropFirst(layer.name.count + 1)) : p.name
                return p.layout.torchShape.isEmpty ? short : short + " " + dims(p.layout.torchShape)
            }.joined(separator: ", ")
        }
        return list(layer.parameters) + (layer.buffers.isEmpty ? "" : "; buffers " + list(layer.buffers))
    }

    static func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)" + (n == 1 ? "" : "s") }

    static func dims(_ d: [Int]) -> String { d.map(String.init).joined(separator: "x") }

    /// A shape as an array: [h, w, c] for spatial tensors, [n] for flat ones.
    static func shapeArray(_ s: Shape) -> [Int] { s.flat ? [s.count] : [s.h, s.w, s.c] }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }

    /// 1.37 MiB, 12.3 KiB, 512 B.
    static func bytes(_ n: Int) -> String {
        let v = Double(n)
        if n < 1024 { return "\(n) B" }
        if v < 1024 * 1024 { return String(format: "%.1f KiB", v / 1024) }
        if v < 1024 * 1024 * 1024 { return String(format: "%.2f MiB", v / (1024 * 1024)) }
        return String(format: "%.2f GiB", v / (1024 * 1024 * 1024))
    }

    /// 2.23 M, 13.18 GFLOP: a count in SI units (for parameters, MACs and FLOPs).
    static func si(_ n: Int, _ unit: String = "") -> String {
        let v = Double(n)
        let scaled: String
        if n < 1000 { return unit.isEmpty ? "\(n)" : "\(n) \(unit)" }
        if v < 1e6 { scaled = String(format: "%.1f k", v / 1e3) }
        else if v < 1e9 { scaled = String(format: "%.2f M", v / 1e6) }
        else if v < 1e12 { scaled = String(format: "%.2f G", v / 1e9) }
        else { scaled = String(format: "%.2f T", v / 1e12) }
        return scaled + unit
    }

    var trainText: String {
        let t = network.train
        let o = t.optimizer
        var optimizer = "optimizer=\(o.kind.rawValue) "
        optimizer += o.kind == .sgd ? "momentum=\(Self.number(o.momentum))"
            : "beta1=\(Self.number(o.beta1)) beta2=\(Self.number(o.beta2)) eps=\(Self.number(o.eps))"
        if o.effectiveWeightDecay != 0 { optimizer += " weight_decay=\(Self.number(o.effectiveWeightDecay))" }
        return "epochs=\(t.epochs) batch=\(t.batch) lr=\(Self.number(t.learningRate)) \(optimizer) seed=\(t.seed)"
    }

    // MARK: The layer table, shared by text and markdown

    static let headers = ["#", "layer", "operation", "input", "output", "parameters (PyTorch shape)", "params",
                          "fwd MACs", "bwd MACs", "kernel"]
    /// Right-aligned columns (numbers).
    static let rightAligned: Set<Int> = [0, 6, 7, 8]

    func tableRows() -> [[String]] {
        func n(_ v: Int) -> String { v == 0 ? "-" : String(v) }
        var out: [[String]] = []
        if let scale = scaleDescription {
            let s = network.input.description
            out.append(["0", "input", scale, s, s, "", "-", "-", "-", "input_scale"])
        }
        for r in rows {
            let l = r.layer
            out.append([String(r.index), l.name, r.operation, l.input.description, l.output.description,
                        Self.parameterList(l), n(l.parameterCount), n(l.forwardMACs), n(l.backwardMACs), kernelLabel(r)])
        }
        out.append(["", "total", "", "", "", "", String(network.parameterCount), String(network.forwardMACs),
                    String(network.backwardMACs), ""])
        return out
    }

    static let notes = [
        "Shapes are H x W x C per sample; a flat tensor (after flatten or dense) is its length.",
        "Parameter shapes are PyTorch's: conv weight out x in x kh x kw, dense weight out x in, element bias C x H x W.",
        "MACs count the multiply-accumulates of conv and dense layers per sample; biases, activations, pooling and",
        "softmax are elementwise and not counted. Backward MACs are the weight gradient plus the input gradient,",
        "which the first learnable layer does not need. Kernel: the fused kernel (group) the layer runs in, with",
        "its place in the group; see the group list below.",
    ]

    /// The rows of the totals and memory sections: (label, exact value, human-readable note).
    func totalsRows() -> [(String, String, String)] {
        [
            ("parameters", String(network.parameterCount), Self.si(network.parameterCount)),
            ("forward MACs / sample", String(network.forwardMACs), Self.si(network.forwardMACs)),
            ("backward MACs / sample", String(network.backwardMACs), Self.si(network.backwardMACs)),
            ("training FLOPs / sample", String(network.trainingFLOPs),
             Self.si(network.trainingFLOPs, "FLOP")),
            ("training FLOPs / batch of \(batch)", String(batchTrainingFLOPs), Self.si(batchTrainingFLOPs, "FLOP")),
        ]
    }

    func memoryRows() -> [(String, String, String)] {
        [
            ("weights", Self.bytes(parameterBytes), "\(network.parameterCount) x 4 bytes = \(parameterBytes) bytes"),
            ("gradients", Self.bytes(parameterBytes), "\(parameterBytes) bytes"),
            ("optimizer state", Self.bytes(optimizerBytes), "\(optimizerBytes) bytes: "
                + (network.train.optimizer.kind == .sgd ? "sgd's momentum" : "adam's two moments")),
            ("buffers", Self.bytes(bufferBytes),
             "\(bufferBytes) bytes: batchnorm's running statistics (not trained), x2 in the flat arrays"),
            ("activations", Self.bytes(activationBytes),
             "\(activationBytes) bytes: outputs kept for backward, pool indices, gradient buffers"),
            ("total", Self.bytes(totalBytes), "\(totalBytes) bytes"),
        ]
    }

    static let flopNote = "1 MAC = 2 FLOPs; training FLOPs = 2 x (forward + backward MACs), the SGD update not counted."

    func groupRows() -> [[String]] {
        plan.groups.map { g in
            let members = g.layers.map { network.layers[$0].name }.joined(separator: " + ")
            let macs = g.forwardMACs + g.backwardMACs
            return [g.name, PlanPrinter.describe(g), members, macs == 0 ? "-" : String(macs)]
        }
    }

    static let groupHeaders = ["kernel", "operation", "layers", "fwd+bwd MACs"]
}

// MARK: - Plain text

extension ReportModel {
    func text() -> String {
        var out = "\(network.name) (\(network.sourceFile))\n"
        var summary = "input \(network.input)"
        if let scale = scaleDescription { summary += ", \(scale)" }
        summary += "; \(Self.plural(network.layers.count, "layer")) in \(Self.plural(plan.groups.count, "fused group"))"
        summary += "; output \(network.output)"
        out += summary + "\n"
        out += "train \(trainText)\n\n"

        out += Self.align([Self.headers] + tableRows(), right: Self.rightAligned, rule: true, ruleBeforeLast: true)
        out += "\n" + Self.notes.joined(separator: "\n") + "\n\n"

        out += "totals:\n"
        out += Self.align(totalsRows().map { ["  " + $0.0, $0.1, $0.2] }, right: [1], rule: false)
        out += "  " + Self.flopNote + "\n\n"

        out += "memory at batch \(batch) (float32):\n"
        out += Self.align(memoryRows().map { ["  " + $0.0, $0.1, $0.2] }, right: [1], rule: false)
        out += "\n"

        out += "fused kernel groups (a forward kernel each, and a backward kernel where gradients flow;\n"
        out += "flatten is a view and runs no kernel):\n"
        out += Self.align([["  " + Self.groupHeaders[0]] + Self.groupHeaders.dropFirst()] + groupRows().map { ["  " + $0[0], $0[1], $0[2], $0[3]] },
                          right: [3], rule: false)
        return out
    }

    /// Left/right-aligned columns two spaces apart, trailing spaces trimmed; an optional rule under the header
    /// and above the last row.
    static func align(_ rows: [[String]], right: Set<Int>, rule: Bool, ruleBeforeLast: Bool = false) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for r in rows { for (i, cell) in r.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ r: [String]) -> String {
            var cells: [String] = []
            for i in 0..<columns {
                let cell = i < r.count ? r[i] : ""
                let fill = String(repeating: " ", count: widths[i] - cell.count)
                cells.append(right.contains(i) ? fill + cell : cell + fill)
            }
            return trimTrailing(cells.joined(separator: "  "))
        }
        let ruleLine = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        var out = ""
        for (i, r) in rows.enumerated() {
            if ruleBeforeLast && i == rows.count - 1 && i > 1 { out += ruleLine + "\n" }
            out += line(r) + "\n"
            if rule && i == 0 { out += ruleLine + "\n" }
        }
        return out
    }

    static func trimTrailing(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }
}

// MARK: - Markdown

extension ReportModel {
    func markdown() -> String {
        var out = "## \(network.name)\n\n"
        out += "- source: `\(network.sourceFile)`\n"
        out += "- input: \(network.input)" + (scaleDescription.map { ", \($0)" } ?? "") + "\n"
        out += "- output: \(network.output); \(Self.plural(network.layers.count, "layer")) in "
            + "\(Self.plural(plan.groups.count, "fused group"))\n"
        out += "- train: `\(trainText)`\n\n"

        out += "### Layers\n\n"
        out += Self.table(Self.headers, tableRows(), right: Self.rightAligned, bold: true)
        out += "\n" + Self.notes.joined(separator: " ") + "\n\n"

        out += "### Totals\n\n"
        out += Self.table(["quantity", "value", "note"], totalsRows().map { [$0.0, $0.1, $0.2] }, right: [1])
        out += "\n" + Self.flopNote + "\n\n"

        out += "### Memory at batch \(batch)\n\n"
        out += Self.table(["buffer", "size", "exact"], memoryRows().map { [$0.0, $0.1, $0.2] }, right: [1])
        out += "\n"

        out += "### Fused kernel groups\n\n"
        out += Self.table(Self.groupHeaders, groupRows(), right: [3])
        return out
    }

    /// A GitHub table; `bold` makes the last row (the total) bold.
    static func table(_ headers: [String], _ rows: [[String]], right: Set<Int>, bold: Bool = false) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|")
        }
        var out = "| " + headers.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + headers.indices.map { right.contains($0) ? " ---: " : " --- " }.joined(separator: "|") + "|\n"
        for (i, r) in rows.enumerated() {
            let last = bold && i == rows.count - 1
            out += "| " + r.map { c in
                let s = cell(c)
                return last && !s.isEmpty ? "**\(s)**" : s
            }.joined(separator: " | ") + " |\n"
        }
        return out
    }
}
