/// The size limits of `Limits`, checked by shape inference at the statement that first exceeds one: the input's
/// elements, each layer's output and parameter tensors, and the running totals of parameters, activation elements
/// and forward MACs. Counts arrive saturated at `Int.max` when they overflowed 64 bits (`Checked`).
extension ShapeInference {
    /// Running totals over the layers inferred so far.
    struct Totals {
        var parameters = 0
        var activations = 0
        var forwardMACs = 0
    }

    static func checkInput(_ tree: SyntaxTree, _ totals: inout Totals) throws {
        let count = tree.input.count
        guard count > Limits.maxTensorElements else { totals.activations = count; return }
        let line = tree.lineText(tree.inputLocation.line)
        let (column, length) = secondWord(of: line) ?? (tree.inputLocation.column, 5)
        var at = tree.inputLocation
        at.column = column
        throw Diagnostic("input \(tree.input) has \(amount(count)) elements per sample; a tensor may have at most "
                         + Limits.describe(Limits.maxTensorElements), at: at, lineText: line, length: length,
                         hint: "downscale the images, or crop them, before training")
    }

    static func checkLimits(_ layer: Layer, _ decl: LayerDecl, _ tree: SyntaxTree, _ totals: inout Totals) throws {
        let out = layer.output.count
        if out > Limits.maxTensorElements {
            throw error(decl, tree, "\(layer.name) output \(layer.output) has \(amount(out)) elements per sample; "
                        + "a tensor may have at most \(Limits.describe(Limits.maxTensorElements))",
                        hint: "use fewer channels, or a stride or pooling before this layer")
        }
        for p in layer.parameters where p.count > Limits.maxTensorElements {
            let shape = p.layout.internalShape.map(String.init).joined(separator: "x")
            throw error(decl, tree, "\(p.name) has \(amount(p.count)) elements (\(shape)); a parameter tensor may have "
                        + "at most \(Limits.describe(Limits.maxTensorElements))",
                        hint: "use fewer filters or units, or shrink the input first (stride, pooling)")
        }
        totals.parameters += layer.parameterCount  // each term <= 2^30, the total so far <= 2^31
        if totals.parameters > Limits.maxParameters {
            throw error(decl, tree, "the network has \(totals.parameters) parameters up to \(layer.name); at most "
                        + Limits.describe(Limits.maxParameters) + " are supported",
                        hint: "use fewer filters or units")
        }
        totals.activations += out  // each term <= 2^30, the total so far <= 2^36
        if totals.activations > Limits.maxActivationElements {
            throw error(decl, tree, "the activations of one sample total \(totals.activations) elements up to "
                        + "\(layer.name); at most \(Limits.describe(Limits.maxActivationElements)) are supported",
                        hint: "use fewer or smaller layers")
        }
        let macs = layer.forwardMACs
        if macs > Limits.maxForwardMACs || totals.forwardMACs + macs > Limits.maxForwardMACs {
            let total = macs > Limits.maxForwardMACs ? amount(macs) : "\(totals.forwardMACs + macs)"
            throw error(decl, tree, "the forward pass needs \(total) multiply-accumulates per sample up to "
                        + "\(layer.name); at most \(Limits.describe(Limits.maxForwardMACs)) are supported",
                        hint: "use fewer filters, a smaller kernel, or a stride or pooling before this layer")
        }
        totals.forwardMACs += macs
    }

    /// A count for a message; `Int.max` stands for one that overflowed 64 bits.
    private static func amount(_ n: Int) -> String { n == Int.max ? "more than 2^63" : "\(n)" }

    /// The 1-based column and length of the second word of a statement (the input's shape).
    private static func secondWord(of line: String) -> (Int, Int)? {
        let chars = Array(line)
        var i = 0
        func skipSpace() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        func skipWord() { while i < chars.count, chars[i] != " ", chars[i] != "\t", chars[i] != "#" { i += 1 } }
        skipSpace(); skipWord(); skipSpace()
        let start = i
        skipWord()
        return i > start ? (start + 1, i - start) : nil
    }
}
