/// What each statement accepts after its keyword.
struct StatementSpec: Sendable {
    var keyword: String
    var usage: String
    var attributes: [String]
    var takesActivation = false
    /// `add` takes `relu` (only) after the sum.
    var takesRelu = false
    /// Bare words the statement takes as switches (`augment hflip`).
    var flags: [String] = []

    static let all: [StatementSpec] = [
        StatementSpec(keyword: "net", usage: "net NAME", attributes: []),
        StatementSpec(keyword: "input", usage: "input HxWxC (or HxW for one channel)", attributes: []),
        StatementSpec(keyword: "scale", usage: "scale X (e.g. 1/255 or 0.5)", attributes: []),
        StatementSpec(keyword: "normalize", usage: "normalize mean=A[,B,C] std=A[,B,C] (one value, or one per channel)",
                      attributes: ["mean", "std"]),
        StatementSpec(keyword: "conv", usage: "conv N KhxKw [stride=S] [pad=P|same|valid] "
                        + "[bias=channel|element|none] [relu|sigmoid|tanh|leakyrelu [slope=X]] [name=ID]",
                      attributes: ["stride", "pad", "bias", "slope", "name", "from"], takesActivation: true),
        StatementSpec(keyword: "dense", usage: "dense N [bias=channel|none] [relu|sigmoid|tanh|leakyrelu [slope=X]] "
                        + "[name=ID]",
                      attributes: ["bias", "slope", "name", "from"], takesActivation: true),
        StatementSpec(keyword: "bias", usage: "bias element|channel [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "relu", usage: "relu [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "sigmoid", usage: "sigmoid [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "tanh", usage: "tanh [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "leakyrelu", usage: "leakyrelu [slope=X] [name=ID]", attributes: ["slope", "name", "from"]),
        StatementSpec(keyword: "maxpool", usage: "maxpool KhxKw [stride=S] [pad=P|same|valid] [name=ID]",
                      attributes: ["stride", "pad", "name", "from"]),
        StatementSpec(keyword: "avgpool", usage: "avgpool KhxKw [stride=S] [pad=P|same|valid] [name=ID]",
                      attributes: ["stride", "pad", "name", "from"]),
        StatementSpec(keyword: "flatten", usage: "flatten [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "softmax", usage: "softmax [name=ID]", attributes: ["name", "from"]),
        StatementSpec(keyword: "add", usage: "add NAME[,NAME...] [relu] [name=ID] [from=NAME]",
                      attributes: ["name", "from"], takesRelu: true),
        StatementSpec(keyword: "concat", usage: "concat NAME[,NAME...] [name=ID] [from=NAME]", attributes: ["name", "from"]),
        StatementSpec(keyword: "globalavgpool", usage: "globalavgpool [name=ID] [from=NAME]", attributes: ["name", "from"]),
        StatementSpec(keyword: "batchnorm", usage: "batchnorm [eps=X] [momentum=X] [relu] [name=ID] [from=NAME]",
                      attributes: ["eps", "momentum", "name", "from"], takesRelu: true),
        StatementSpec(keyword: "dropout", usage: "dropout P [name=ID] [from=NAME]", attributes: ["name", "from"]),
        StatementSpec(keyword: "augment", usage: "augment [hflip] [crop=P]", attributes: ["crop"], flags: ["hflip"]),
        StatementSpec(keyword: "train", usage: "train [epochs=N] [batch=N] [lr=X] [optimizer=sgd|adam|adamw] "
                          + "[momentum=X] [beta1=X] [beta2=X] [eps=X] [weight_decay=X] [seed=N] "
                          + "[schedule=constant|step|cosine] [warmup=N] [step=E] [gamma=X]",
                      attributes: ["epochs", "batch", "lr", "optimizer", "momentum", "beta1", "beta2", "eps",
                                   "weight_decay", "seed", "schedule", "warmup", "step", "gamma"]),
    ]

    static func named(_ keyword: String) -> StatementSpec? { all.first { $0.keyword == keyword } }

    /// "valid attributes for 'conv': stride, pad, bias, name, and one activation (relu, sigmoid, tanh)".
    var attributeList: String {
        if attributes.isEmpty { return "'\(keyword)' takes no attributes" }
        var list = attributes.filter { $0 != "from" }.joined(separator: ", ")
        if takesActivation { list += ", and one activation (relu, sigmoid, tanh, leakyrelu)" }
        if takesRelu { list += ", and 'relu'" }
        if attributes.contains("from") { list += "; every layer takes from=NAME" }
        return "valid attributes for '\(keyword)': " + list
    }
}

/// The attributes of one statement, as read (nil: not written).
struct StatementAttributes: Sendable {
    var stride: Size2?
    var padding: PaddingSpec?
    var bias: BiasKind?
    var activation: Activation?
    /// `slope=X` and where it was written, for leakyrelu.
    var slope: (value: Double, word: Word)?
    /// batchnorm's `eps=X` and `momentum=X` (the latter is the running statistics' weight, not SGD's).
    var eps: Double?
    var statisticsMomentum: Double?
    var name: String?
    /// `from=NAME`: the tensor the layer reads instead of the previous statement's output.
    var from: NameReference?
    var train = TrainConfig()
    /// `schedule=`, `warmup=`, `step=` and `gamma=` as written: they are read together (TrainAttributes.swift).
    var scheduleWords: [String: Word] = [:]
    /// A train statement's `optimizer=`, `momentum=`, `beta1=`, `beta2=`, `eps=` and `weight_decay=` as written:
    /// read together, as which apply depends on the optimizer (TrainAttributes.swift).
    var optimizerWords: [String: Word] = [:]
    /// The statement's switches that were written (`hflip`).
    var flags: Set<String> = []
    /// `crop=P` and where it was written.
    var crop: (value: Int, word: Word)?
    /// normalize's `mean=` and `std=` lists and where they were written.
    var mean: (values: [Double], word: Word)?
    var std: (values: [Double], word: Word)?
}

/// Reads one statement's words after its keyword: operands in order, then attributes.
struct StatementReader {
    let ctx: LineContext
    let spec: StatementSpec
    let keyword: Word
    private let words: [Word]
    private var next = 1
    /// The last word consumed, for errors about what is missing after it.
    private var last: Word

    init(ctx: LineContext, spec: StatementSpec, words: [Word]) {
        self.ctx = ctx; self.spec = spec; self.words = words
        keyword = words[0]
        last = words[0]
    }

    /// The column just past the statement's last word: where "missing ..." errors point.
    var endColumn: Int { words[words.count - 1].end }

    /// Reads the next operand (a word without `=`) and converts it with `parse`. Throws "expected WHAT after
    /// AFTER" when it is missing; errors from `parse` get the statement's usage as their hint.
    mutating func operand<T>(_ what: String, after: String, _ parse: (Word) throws -> T) throws -> T {
        let usage = "usage: " + spec.usage
        guard next < words.count, !words[next].text.contains("=") else {
            if next < words.count {
                throw ctx.error("expected \(what) after \(after), got \(words[next].quoted)", at: words[next],
                                hint: usage)
            }
            throw ctx.error("expected \(what) after \(after)", column: last.end, hint: usage)
        }
        last = words[next]
        next += 1
        do {
            return try parse(last)
        } catch var diagnostic as Diagnostic {
            if diagnostic.hint == nil { diagnostic.hint = usage }
            throw diagnostic
        }
    }

    /// Reads the rest of the line: `key=value` attributes and, where the statement takes one, an activation.
    /// A `name=` is checked against (and added to) `names`.
    mutating func attributes(names: inout [String: SourceLocation]) throws -> StatementAttributes {
        var result = StatementAttributes()
        var seen: [String: Word] = [:]
        var activationWord: Word?
        while next < words.count {
            let w = words[next]
            next += 1
            guard let eq = w.text.firstIndex(of: "=") else {
                if spec.takesActivation || (spec.takesRelu && w.text == "relu"),
                   let activation = Activation(keyword: w.text) {
                    if let first = activationWord {
                        throw ctx.error("more than one activation: \(first.quoted) and \(w.quoted)", at: w,
                                        hint: "'\(spec.keyword)' takes at most one; add another as its own statement")
                    }
                    activationWord = w
                    result.activation = activation
                    continue
                }
                if spec.flags.contains(w.text) {
                    guard !result.flags.contains(w.text) else {
                        throw ctx.error("'\(w.text)' given twice", at: w, hint: "write it once")
                    }
                    result.flags.insert(w.text)
                    continue
                }
                throw ctx.error("unexpected extra operand \(w.quoted)", at: w, hint: strayHint(w))
            }
            let key = Word(text: String(w.text[..<eq]), column: w.column)
            let value = Word(text: String(w.text[w.text.index(after: eq)...]), column: key.end + 1)
            if key.text.isEmpty { throw ctx.error("expected an attribute name before '='", column: w.column) }
            guard spec.attributes.contains(key.text) else {
                let near = Scan.nearest(key.text, in: spec.attributes).map { "did you mean '\($0)'? " } ?? ""
                throw ctx.error("unknown attribute \(key.quoted) for '\(spec.keyword)'", at: key,
                                hint: near + spec.attributeList)
            }
            if let first = seen[key.text] {
                throw ctx.error("attribute '\(key.text)' given twice", at: key,
                                hint: "first given at column \(first.column)")
            }
            seen[key.text] = key
            if value.text.isEmpty { throw ctx.error("expected a value after '\(key.text)='", column: value.column) }
            try read(key.text, value, into: &result, names: &names)
        }
        return result
    }

    private func read(_ key: String, _ v: Word, into r: inout StatementAttributes,
                      names: inout [String: SourceLocation]) throws {
        switch key {
        case "stride": r.stride = try ctx.stride(v)
        case "pad": r.padding = try ctx.padding(v)
        case "bias": r.bias = try ctx.biasKind(v, for: spec.keyword)
        case "name":
            let name = try ctx.identifier(v, "layer name")
            if let first = names[name] {
                throw ctx.error("duplicate layer name '\(name)', first used at line \(first.line)", at: v,
                                hint: "the first use is at \(first); layer names must be unique")
            }
            names[name] = ctx.location(v.column)
            r.name = name
        case "from":
            let name = try ctx.identifier(v, "layer name")
            r.from = NameReference(name: name, location: ctx.location(v.column), length: v.length)
        case "epochs":
            r.train.epochs = try ctx.count(v, "epoch count", expected: "a non-negative integer epoch count")
        case "batch":
            r.train.batch = try ctx.size(v, "batch size")
        case "lr":
            r.train.learningRate = try ctx.learningRate(v)
        case "momentum" where spec.keyword == "batchnorm":
            r.statisticsMomentum = try ctx.statisticsMomentum(v)
        case "optimizer", "momentum", "beta1", "beta2", "weight_decay":
            r.optimizerWords[key] = v
        case "eps" where spec.keyword == "train":
            r.optimizerWords[key] = v
        case "schedule", "warmup", "step", "gamma":
            r.scheduleWords[key] = v
        case "crop":
            r.crop = (try ctx.count(v, "crop padding", expected: "a padding in pixels like 4"), v)
        case "eps":
            r.eps = try ctx.eps(v)
        case "mean":
            r.mean = (try ctx.normalizationList(v, std: false), v)
        case "std":
            r.std = (try ctx.normalizationList(v, std: true), v)
        case "slope":
            r.slope = (try ctx.slope(v), v)
        case "seed":
            switch Scan.digits(v.text) {
            case .value(let seed): r.train.seed = seed
            case .overflow:
                throw ctx.error("seed \(v.quoted) does not fit in 64 bits", at: v,
                                hint: "the largest seed is \(UInt64.max)")
            case .invalid:
                throw ctx.error("expected a non-negative integer seed, got \(v.quoted)", at: v)
            }
        default:
            break
        }
    }

    /// A hint for a bare word where an attribute was expected.
    private func strayHint(_ w: Word) -> String {
        if spec.attributes.contains(w.text) { return "attributes are written key=value, e.g. '\(w.text)=...'" }
        if Activation(keyword: w.text) != nil {
            if spec.takesRelu { return "'\(spec.keyword)' takes only 'relu'; write '\(w.text)' as its own statement on the next line" }
            return "'\(spec.keyword)' takes no activation; write '\(w.text)' as its own statement on the next line"
        }
        var candidates = spec.attributes.map { $0 + "=" }
        if spec.takesActivation { candidates += Activation.keywords }
        if spec.takesRelu { candidates.append("relu") }
        if let near = Scan.nearest(w.text, in: candidates) { return "did you mean '\(near)'?" }
        return "usage: " + spec.usage
    }
}
