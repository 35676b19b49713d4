/// The .cnn parser: checks syntax, statement order and attribute values, and builds a `SyntaxTree`.
///
/// Errors are thrown as a `Diagnostic` that points at the offending word; the first error wins. Shapes
/// (e.g. a kernel larger than its padded input) are checked later, by shape inference.
public enum Parser {
    /// Parses .cnn source text. `file` is the path used in diagnostics. Throws `Diagnostic`.
    public static func parse(_ source: String, file: String) throws -> SyntaxTree {
        let lines = Lexer.lines(source)
        try Lexer.checkNUL(lines, file: file)
        var state = ParseState(file: file, lines: lines)
        for index in lines.indices { try state.statement(at: index) }
        return try state.finish()
    }

    /// Reads bytes (any bytes: invalid UTF-8 is an error with a location, not a crash) and parses them.
    public static func parse(bytes: [UInt8], file: String) throws -> SyntaxTree {
        try Lexer.checkUTF8(bytes, file: file)
        return try parse(String(decoding: bytes, as: UTF8.self), file: file)
    }
}

/// What the parser has seen so far, statement by statement.
private struct ParseState {
    let file: String
    let lines: [String]
    var firstStatementLine: Int?
    /// Just past the last word of the last statement: where "missing input" points when nothing better exists.
    var end: SourceLocation?
    var netLine: Int?
    var netName: String?
    var input: (shape: Shape, location: SourceLocation)?
    var scale: (value: Double, text: String, line: Int)?
    var normalize: (value: InputNormalization, line: Int)?
    var layers: [LayerDecl] = []
    var softmax: LayerDecl?
    var trainLine: Int?
    var augmentLine: Int?
    var train = TrainConfig()
    var names: [String: SourceLocation] = [:]

    init(file: String, lines: [String]) {
        self.file = file
        self.lines = lines
    }

    func context(line: Int) -> LineContext {
        LineContext(file: file, line: line, text: line >= 1 && line <= lines.count ? lines[line - 1] : "")
    }

    mutating func statement(at index: Int) throws {
        let ctx = context(line: index + 1)
        let words = try ctx.words()
        guard let keyword = words.first else { return }
        guard let spec = StatementSpec.named(keyword.text) else { throw unknownStatement(keyword, ctx) }
        var reader = StatementReader(ctx: ctx, spec: spec, words: words)
        switch spec.keyword {
        case "net": try net(&reader)
        case "input": try inputStatement(&reader)
        case "scale": try scaleStatement(&reader)
        case "normalize": try normalizeStatement(&reader)
        case "train": try trainStatement(&reader)
        case "augment": try augmentStatement(&reader)
        default: try layer(&reader, index: index)
        }
        if firstStatementLine == nil { firstStatementLine = ctx.line }
        end = ctx.location(words[words.count - 1].end)
    }

    func unknownStatement(_ word: Word, _ ctx: LineContext) -> Diagnostic {
        let keywords = StatementSpec.all.map(\.keyword)
        let hint: String
        if word.text.contains("=") {
            hint = "attributes go on the same line as their statement"
        } else if let near = Scan.nearest(word.text, in: keywords) {
            hint = near == word.text.lowercased() ? "keywords are lowercase: did you mean '\(near)'?"
                                                  : "did you mean '\(near)'?"
        } else {
            hint = "statements are " + keywords.joined(separator: ", ")
        }
        return ctx.error("unknown statement \(word.quoted)", at: word, hint: hint)
    }

    mutating func net(_ r: inout StatementReader) throws {
        if let line = netLine {
            throw r.ctx.error("duplicate 'net' statement", at: r.keyword,
                              hint: "the network is already named at line \(line)")
        }
        if let first = firstStatementLine {
            throw r.ctx.error("'net' must be the first statement", at: r.keyword, hint: "move it above line \(first)")
        }
        let ctx = r.ctx
        netName = try r.operand("a network name", after: "'net'") { try ctx.identifier($0, "network name") }
        _ = try r.attributes(names: &names)
        netLine = ctx.line
    }

    mutating func inputStatement(_ r: inout StatementReader) throws {
        if let first = input?.location {
            throw r.ctx.error("duplicate 'input' statement", at: r.keyword,
                              hint: "the input is already declared at line \(first.line)")
        }
        let ctx = r.ctx
        let shape = try r.operand("an input shape like 28x28x1", after: "'input'") { try ctx.inputShape($0) }
        _ = try r.attributes(names: &names)
        input = (shape, ctx.location(r.keyword.column))
    }

    /// `scale` and `normalize` describe the network's input: they come before the first layer.
    func requireNoLayerYet(_ r: StatementReader) throws {
        guard let first = layers.first else { return }
        let keyword = StatementSpec.keyword(of: first.syntax)
        throw r.ctx.error("'\(r.keyword.text)' must come before the first layer", at: r.keyword,
                          hint: "the first layer ('\(keyword)') is at line \(first.location.line)")
    }

    mutating func scaleStatement(_ r: inout StatementReader) throws {
        guard input != nil else {
            throw r.ctx.error("'scale' must come after 'input'", at: r.keyword,
                              hint: "declare the input first, e.g. 'input 28x28x1', then 'scale'")
        }
        if let first = scale {
            throw r.ctx.error("duplicate 'scale' statement", at: r.keyword,
                              hint: "scale is already given at line \(first.line)")
        }
        try requireNoLayerYet(r)
        if let normalize {
            throw r.ctx.error("'scale' must come before 'normalize'", at: r.keyword,
                              hint: "normalize applies to the scaled input; move 'scale' above line \(normalize.line)")
        }
        let ctx = r.ctx
        let (value, text) = try r.operand("a scale like 1/255 or 0.5", after: "'scale'") { w in
            let value = try ctx.number(w, expected: "a scale like 1/255 or 0.5", allowFraction: true,
                                      noun: "scale")
            guard value.isFinite else { throw ctx.error("scale must be finite, got \(w.quoted)", at: w) }
            guard value != 0 else { throw ctx.error("scale must be non-zero, got \(w.quoted)", at: w) }
            return (value, w.text)
        }
        _ = try r.attributes(names: &names)
        scale = (value, text, ctx.line)
    }

    /// `normalize mean=A[,B,C] std=A[,B,C]`: after `input` (whose channels the lists are checked against) and
    /// `scale` if there is one (it applies to the scaled values), before the first layer, at most once. Without
    /// `scale` it applies to the raw values (data already in [0, 1], say).
    mutating func normalizeStatement(_ r: inout StatementReader) throws {
        guard let input else {
            throw r.ctx.error("'normalize' must come after 'input'", at: r.keyword,
                              hint: "the mean and std are given per input channel; declare 'input' first")
        }
        if let first = normalize {
            throw r.ctx.error("duplicate 'normalize' statement", at: r.keyword,
                              hint: "normalize is already given at line \(first.line)")
        }
        try requireNoLayerYet(r)
        let ctx = r.ctx, channels = input.shape.c
        let attributes = try r.attributes(names: &names)
        let end = r.endColumn
        guard let mean = attributes.mean else {
            throw ctx.error("'normalize' needs mean=", column: end, hint: "usage: " + r.spec.usage)
        }
        guard let std = attributes.std else {
            throw ctx.error("'normalize' needs std=", column: end, hint: "usage: " + r.spec.usage)
        }
        func perChannel(_ list: (values: [Double], word: Word), _ noun: String) throws -> [Double] {
            if list.values.count == 1 { return Array(repeating: list.values[0], count: channels) }
            guard list.values.count == channels else {
                throw ctx.error("\(noun) has \(list.values.count) values but the input has "
                                + "\(channels) channel\(channels == 1 ? "" : "s")", at: list.word,
                                hint: "give one value for every channel, or one value per channel (\(channels))")
            }
            return list.values
        }
        let text = "mean=\(mean.word.text) std=\(std.word.text)"
        normalize = (InputNormalization(mean: try perChannel(mean, "mean"), std: try perChannel(std, "std"), text: text),
                     ctx.line)
    }

    /// `augment [hflip] [crop=P]`: the trainer's augmentation of training samples (TrainConfig.augmentation).
    mutating func augmentStatement(_ r: inout StatementReader) throws {
        if let first = augmentLine {
            throw r.ctx.error("duplicate 'augment' statement", at: r.keyword,
                              hint: "'augment' is already given at line \(first)")
        }
        guard let input else {
            throw r.ctx.error("'augment' must come after 'input'", at: r.keyword,
                              hint: "the crop is checked against the input's size")
        }
        let attributes = try r.attributes(names: &names)
        if let crop = attributes.crop, crop.value > max(input.shape.h, input.shape.w) {
            throw r.ctx.error("crop=\(crop.value) pads more than the input is wide or high "
                              + "(\(input.shape.h)x\(input.shape.w))", at: crop.word,
                              hint: "a few pixels, like crop=4 for 32x32 images")
        }
        train.augmentation = Augmentation(hflip: attributes.flags.contains("hflip"), crop: attributes.crop?.value ?? 0)
        augmentLine = r.ctx.line
    }

    mutating func trainStatement(_ r: inout StatementReader) throws {
        if let first = trainLine {
            throw r.ctx.error("duplicate 'train' statement", at: r.keyword,
                              hint: "'train' is already given at line \(first)")
        }
        let attributes = try r.attributes(names: &names)
        let augmentation = train.augmentation
        train = attributes.train
        train.augmentation = augmentation
        (train.schedule, train.warmup) = try r.ctx.schedule(attributes.scheduleWords)
        train.optimizer = try r.ctx.optimizer(attributes.optimizerWords)
        trainLine = r.ctx.line
    }

    /// The activation written on a conv or dense line, with its `slope=` (which only leakyrelu takes).
    func inlineActivation(_ attributes: StatementAttributes, _ ctx: LineContext) throws -> Activation? {
        guard let slope = attributes.slope else { return attributes.activation }
        guard case .leakyrelu = attributes.activation else {
            throw ctx.error("slope= applies to leakyrelu only", at: slope.word,
                            hint: "write 'leakyrelu slope=\(slope.word.text)' or remove slope=")
        }
        return .leakyrelu(slope: slope.value)
    }

    mutating func layer(_ r: inout StatementReader, index: Int) throws {
        let ctx = r.ctx, keyword = r.keyword
        guard input != nil else {
            if let later = lines[(index + 1)...].firstIndex(where: { Lexer.firstWord($0) == "input" }) {
                throw ctx.error("layer '\(keyword.text)' before 'input'", at: keyword,
                                hint: "move the 'input' statement at line \(later + 1) above the first layer")
            }
            throw ctx.error("missing 'input' statement before the first layer", at: keyword,
                            hint: "declare the input shape first, e.g. 'input 28x28x1'")
        }
        if let last = softmax {
            throw context(line: last.location.line).error(
                "'softmax' must be the last layer", column: last.location.column, length: last.keywordLength,
                hint: "'\(keyword.text)' follows it at line \(ctx.line); only 'train' may come after 'softmax'")
        }
        var kernelWord: Word?
        func kernel(after: String) throws -> Size2 {
            try r.operand("a kernel size like 3x3", after: after) { w in kernelWord = w; return try ctx.kernel(w) }
        }
        let syntax: LayerSyntax
        let attributes: StatementAttributes
        var operands: [NameReference] = []
        switch keyword.text {
        case "conv":
            let filters = try r.operand("a filter count", after: "'conv'") { try ctx.size($0, "filter count") }
            let size = try kernel(after: "the filter count")
            attributes = try r.attributes(names: &names)
            syntax = .conv(filters: filters, kernel: size, stride: attributes.stride ?? Size2(1, 1),
                           padding: attributes.padding ?? .explicit(0), bias: attributes.bias ?? .channel,
                           activation: try inlineActivation(attributes, ctx))
        case "dense":
            let units = try r.operand("a unit count", after: "'dense'") { try ctx.size($0, "unit count") }
            attributes = try r.attributes(names: &names)
            syntax = .dense(units: units, bias: attributes.bias ?? .channel,
                            activation: try inlineActivation(attributes, ctx))
        case "bias":
            let kind = try r.operand("a bias kind ('element' or 'channel')", after: "'bias'") { w in
                guard let kind = BiasKind(rawValue: w.text), kind != .none else {
                    throw ctx.error("expected a bias kind ('element' or 'channel'), got \(w.quoted)", at: w,
                                    hint: w.text == "none" ? "'bias none' adds nothing: delete the line" : nil)
                }
                return kind
            }
            attributes = try r.attributes(names: &names)
            syntax = .bias(kind)
        case "maxpool", "avgpool":
            let size = try kernel(after: "'\(keyword.text)'")
            attributes = try r.attributes(names: &names)
            syntax = .pool(keyword.text == "maxpool" ? .max : .avg, kernel: size, stride: attributes.stride,
                           padding: attributes.padding ?? .explicit(0))
        case "flatten":
            attributes = try r.attributes(names: &names)
            syntax = .flatten
        case "softmax":
            attributes = try r.attributes(names: &names)
            syntax = .softmax
        case "add", "concat":
            operands = try r.operand("the names of the layers to \(keyword.text == "add" ? "add" : "concatenate")",
                                     after: "'\(keyword.text)'") { try ctx.nameList($0) }
            attributes = try r.attributes(names: &names)
            syntax = keyword.text == "add" ? .add(relu: attributes.activation == .relu) : .concat
        case "globalavgpool":
            attributes = try r.attributes(names: &names)
            syntax = .globalAvgPool
        case "dropout":
            let p = try r.operand("a drop probability like 0.5", after: "'dropout'") { try ctx.dropProbability($0) }
            attributes = try r.attributes(names: &names)
            syntax = .dropout(p: p)
        case "batchnorm":
            attributes = try r.attributes(names: &names)
            syntax = .batchnorm(BatchNormSpec(eps: attributes.eps ?? BatchNormSpec.defaultEps,
                                              momentum: attributes.statisticsMomentum ?? BatchNormSpec.defaultMomentum,
                                              relu: attributes.activation == .relu))
        default:
            attributes = try r.attributes(names: &names)
            var activation = Activation(keyword: keyword.text) ?? .relu
            if let slope = attributes.slope { activation = .leakyrelu(slope: slope.value) }
            syntax = .activation(activation)
        }
        let decl = LayerDecl(syntax: syntax, name: attributes.name, location: ctx.location(keyword.column),
                             keywordLength: keyword.length, kernelLocation: kernelWord.map { ctx.location($0.column) },
                             kernelLength: kernelWord?.length ?? 1, from: attributes.from, operands: operands)
        layers.append(decl)
        if case .softmax = syntax { softmax = decl }
    }

    func finish() throws -> SyntaxTree {
        guard let input else {
            guard let end else {
                throw context(line: 1).error("missing 'input' statement: the file has no statements", column: 1,
                                             hint: "a network starts with e.g. 'input 28x28x1' followed by its layers")
            }
            throw context(line: end.line).error("missing 'input' statement", column: end.column,
                                                hint: "declare the input shape, e.g. 'input 28x28x1', then the layers")
        }
        return SyntaxTree(file: file, lines: lines, netName: netName, input: input.shape, inputLocation: input.location,
                          scale: scale?.value ?? 1, scaleText: scale?.text, normalization: normalize?.value,
                          layers: layers, train: train)
    }
}

extension StatementSpec {
    /// The keyword a layer was written with.
    static func keyword(of syntax: LayerSyntax) -> String {
        switch syntax {
        case .conv: return "conv"
        case .dense: return "dense"
        case .bias: return "bias"
        case .activation(let a): return a.keyword
        case .pool(let kind, _, _, _): return kind.rawValue
        case .flatten: return "flatten"
        case .softmax: return "softmax"
        case .add: return "add"
        case .concat: return "concat"
        case .globalAvgPool: return "globalavgpool"
        case .dropout: return "dropout"
        case .batchnorm: return "batchnorm"
        }
    }
}
