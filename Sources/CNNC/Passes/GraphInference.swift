/// The graph part of shape inference: which tensors a layer reads (`from=`, the names of `add` and `concat`),
/// the shapes of the layers that read several, and the check that every output reaches the network's output.
extension ShapeInference {
    /// The tensors a layer reads: `from=NAME` or the previous statement's output, then the names `add` and
    /// `concat` list. Each must be the input or a layer above; none may be read twice by one layer.
    static func resolveInputs(_ decl: LayerDecl, previous: String, defined: [String: Shape], names: [String],
                              index: Int, later: [String: Int], tree: SyntaxTree) throws -> [String] {
        var inputs: [String] = []
        if let from = decl.from {
            try checkReference(from, defined: defined, names: names, index: index, later: later, tree: tree)
            inputs.append(from.name)
        } else {
            inputs.append(previous)
        }
        for ref in decl.operands {
            try checkReference(ref, defined: defined, names: names, index: index, later: later, tree: tree)
            if inputs.contains(ref.name) {
                let keyword = StatementSpec.keyword(of: decl.syntax)
                let how = ref.name == inputs[0] && decl.from == nil ? " (it is also this layer's input)" : ""
                throw Diagnostic("'\(keyword)' reads '\(ref.name)' twice\(how)", at: ref.location,
                                 lineText: tree.lineText(ref.location.line), length: ref.length,
                                 hint: "name each tensor once; read another with from=NAME")
            }
            inputs.append(ref.name)
        }
        return inputs
    }

    /// A name must be the network input or a layer defined above this statement.
    private static func checkReference(_ ref: NameReference, defined: [String: Shape], names: [String], index: Int,
                                       later: [String: Int], tree: SyntaxTree) throws {
        guard defined[ref.name] == nil else { return }
        func fail(_ message: String, _ hint: String) -> Diagnostic {
            Diagnostic(message, at: ref.location, lineText: tree.lineText(ref.location.line), length: ref.length,
                       hint: hint)
        }
        if let j = later[ref.name] {
            if j == index {
                throw fail("layer '\(ref.name)' cannot read its own output",
                           "name the input or a layer above this line")
            }
            throw fail("'\(ref.name)' is defined later, at line \(tree.layers[j].location.line)",
                       "a layer reads only the input and layers above it; move the line up")
        }
        let above = [Network.inputTensor] + names[..<index]
        if let near = Scan.nearest(ref.name, in: Array(above)) {
            throw fail("unknown layer '\(ref.name)'", "did you mean '\(near)'?")
        }
        throw fail("unknown layer '\(ref.name)'",
                   "name '\(Network.inputTensor)' or a layer above this line (e.g. \(names[..<index].last ?? "input"))")
    }

    /// `add`: every input has the first one's shape (the error names both tensors); so has the sum.
    static func addShape(_ decl: LayerDecl, inputs: [String], shapes: [Shape], tree: SyntaxTree) throws -> Shape {
        for (i, s) in shapes.enumerated().dropFirst() where s != shapes[0] {
            let ref = decl.operands[i - 1]
            throw Diagnostic("add of '\(inputs[i])' (\(describe(s))) and '\(inputs[0])' (\(describe(shapes[0]))): "
                             + "shapes differ", at: ref.location, lineText: tree.lineText(ref.location.line),
                             length: ref.length,
                             hint: s.flat != shapes[0].flat
                                ? "add a flat and a spatial tensor: flatten both, or neither"
                                : "a shortcut of another shape needs a projection, e.g. 'conv N 1x1 stride=S from=NAME'")
        }
        return shapes[0]
    }

    /// `concat`: spatial inputs of one height and width give their channels in order; flat inputs (of `dense`)
    /// give their values in order.
    static func concatShape(_ decl: LayerDecl, inputs: [String], shapes: [Shape], tree: SyntaxTree) throws -> Shape {
        let first = shapes[0]
        var total = first.c
        for (i, s) in shapes.enumerated() {
            let ref = i == 0 ? decl.from : decl.operands[i - 1]
            let at = ref?.location ?? decl.location, length = ref?.length ?? decl.keywordLength
            func fail(_ message: String, _ hint: String) -> Diagnostic {
                Diagnostic(message, at: at, lineText: tree.lineText(at.line), length: length, hint: hint)
            }
            if s.flat && (s.h > 1 || s.w > 1) {
                throw fail("concat of '\(inputs[i])' (\(describe(s))): a flattened tensor is not concatenated",
                           "concat the spatial tensors, then flatten the result")
            }
            guard i > 0 else { continue }
            if s.flat != first.flat {
                throw fail("concat of '\(inputs[i])' (\(describe(s))) and '\(inputs[0])' (\(describe(first))): "
                           + "one is flat, the other spatial", "concat spatial tensors with spatial ones")
            }
            if !s.flat && (s.h != first.h || s.w != first.w) {
                throw fail("concat of '\(inputs[i])' (\(s)) and '\(inputs[0])' (\(first)): height and width differ",
                           "concat joins channels: the tensors need the same H and W (pool or stride one of them)")
            }
            total = Checked.sum(total, s.c) ?? Int.max
        }
        return first.flat ? .flat(total) : Shape(h: first.h, w: first.w, c: total)
    }

    /// A flat shape that keeps a flattened tensor's dimensions reads `32 values (flattened 4x4x2)`.
    static func describe(_ s: Shape) -> String {
        guard s.flat else { return s.description }
        return s.h == 1 && s.w == 1 ? "\(s.count) values" : "\(s.count) values (flattened \(s.h)x\(s.w)x\(s.c))"
    }

    /// Every layer but the last feeds a later one: the last statement's output is the network's output, so a
    /// layer nothing reads is a dead branch (its parameters would never learn).
    static func checkEveryOutputIsRead(_ layers: [Layer], _ tree: SyntaxTree) throws {
        var read = Set<String>()
        for l in layers { read.formUnion(l.inputs) }
        for (i, l) in layers.enumerated().dropLast() where !read.contains(l.name) {
            let decl = tree.layers[i]
            throw error(decl, tree, "the output of '\(l.name)' reaches nothing: no later layer reads it",
                        hint: "the network's output is its last layer's; read '\(l.name)' later (from=\(l.name), "
                            + "add \(l.name), concat \(l.name)) or delete the line")
        }
    }
}
