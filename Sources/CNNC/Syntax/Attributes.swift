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
        StatementSpec(keyword: "train", usage: "train [epochs=N] [batch=N] [lr=X] [momentum=X] [seed=N] "
                          + "[schedule=constant|step|cosine] [warmup=N] [step=E] [gamma=X]",
                      attributes: ["epochs", "batch", "lr", "momentum", "seed", "schedule", "warmup", "step", "gamma"]),
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

/// Typed values of statement operands and attributes; each throws a diagnostic pointing at the word.
extension LineContext {
    /// A positive integer of at most `Scan.maxSize`, e.g. a filter count.
    func size(_ w: Word, _ noun: String) throws -> Int {
        switch Scan.digits(w.text) {
        case .invalid:
            throw error("expected a positive integer \(noun), got \(w.quoted)", at: w)
        case .overflow:
            throw tooLarge(w, noun)
        case .value(let v):
            if v == 0 { throw error("\(noun) must be positive, got 0", at: w) }
            if v > UInt64(Scan.maxSize) { throw tooLarge(w, noun) }
            return Int(v)
        }
    }

    /// An integer in 0...Scan.maxSize (padding, epochs).
    func count(_ w: Word, _ noun: String, expected: String) throws -> Int {
        switch Scan.digits(w.text) {
        case .invalid: throw error("expected \(expected), got \(w.quoted)", at: w)
        case .overflow: throw tooLarge(w, noun)
        case .value(let v):
            if v > UInt64(Scan.maxSize) { throw tooLarge(w, noun) }
            return Int(v)
        }
    }

    func tooLarge(_ w: Word, _ noun: String) -> Diagnostic {
        error("\(noun) \(w.quoted) is too large (at most \(Scan.maxSize))", at: w)
    }

    /// Sizes written `AxBx...` with a count in `counts`: kernels and strides (1 or 2), input shapes (2 or 3).
    func sizes(_ w: Word, _ noun: String, counts: ClosedRange<Int>, expected: String, hint: String? = nil)
        throws -> [Int] {
        let parts = w.text.split(separator: "x", omittingEmptySubsequences: false)
        var values: [UInt64] = []
        var overflow = false
        for part in parts {
            switch Scan.digits(part) {
            case .value(let v): values.append(v)
            case .overflow: overflow = true; values.append(0)
            case .invalid: break
            }
        }
        guard values.count == parts.count, counts.contains(values.count) else {
            let upper = w.text.contains("X") ? "write the 'x' in lowercase, e.g. 3x3" : hint
            throw error("expected \(expected), got \(w.quoted)", at: w, hint: upper)
        }
        if overflow || values.contains(where: { $0 > UInt64(Scan.maxSize) }) { throw tooLarge(w, noun) }
        if values.contains(0) { throw error("\(noun) must be positive, got \(w.text)", at: w) }
        return values.map { Int($0) }
    }

    func kernel(_ w: Word) throws -> Size2 {
        let v = try sizes(w, "kernel size", counts: 1...2, expected: "a kernel size like 3x3",
                          hint: "a kernel is K or KhxKw; the channel count comes from the input")
        return Size2(v[0], v.last!)
    }

    func stride(_ w: Word) throws -> Size2 {
        let v = try sizes(w, "stride", counts: 1...2, expected: "a stride like 2 or 2x1")
        return Size2(v[0], v.last!)
    }

    func inputShape(_ w: Word) throws -> Shape {
        let v = try sizes(w, "input size", counts: 2...3, expected: "an input shape like 28x28x1 or 28x28",
                          hint: "write HxWxC, or HxW for one channel")
        return Shape(h: v[0], w: v[1], c: v.count == 3 ? v[2] : 1)
    }

    func padding(_ w: Word) throws -> PaddingSpec {
        switch w.text {
        case "same": return .same
        case "valid": return .explicit(0)
        default:
            return .explicit(try count(w, "padding", expected: "a padding like 1, 'same' or 'valid'"))
        }
    }

    func biasKind(_ w: Word, for keyword: String) throws -> BiasKind {
        guard let kind = BiasKind(rawValue: w.text) else {
            throw error("expected a bias kind ('channel', 'element' or 'none'), got \(w.quoted)", at: w)
        }
        if keyword == "dense", kind == .element {
            throw error("bias=element is not allowed on 'dense'", at: w,
                        hint: "a dense layer has one bias per unit: use bias=channel (the default) or bias=none")
        }
        return kind
    }

    /// `NAME[,NAME...]`: the tensors `add` and `concat` read besides their input, each with its column.
    func nameList(_ w: Word) throws -> [NameReference] {
        var out: [NameReference] = []
        var column = w.column
        for part in w.text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = Word(text: String(part), column: column)
            if part.isEmpty {
                throw error("expected a layer name in \(w.quoted)", column: column,
                            hint: "names are separated by commas without spaces: 'add a,b'")
            }
            out.append(NameReference(name: try identifier(word, "layer name"), location: location(column),
                                     length: word.length))
            column = word.end + 1
        }
        return out
    }

    func identifier(_ w: Word, _ noun: String) throws -> String {
        guard Scan.isIdentifier(w.text) else {
            throw error("expected a \(noun) (letters, digits, '_' or '-', not starting with a digit or '-'), "
                        + "got \(w.quoted)", at: w)
        }
        return w.text
    }

    /// The trainer computes in 32-bit floats, so a learning rate must be one: positive, finite and normal
    /// (1.2e-38 ... 3.4e38). Anything else would become infinity or (silently) zero in the generated code.
    func learningRate(_ v: Word) throws -> Double {
        let lr = try number(v, expected: "a learning rate like 0.01")
        guard lr > 0, lr.isFinite else {
            throw error("lr must be positive and finite, got \(v.quoted)", at: v, hint: "a learning rate like 0.01")
        }
        let f = Float(lr)
        guard f.isFinite else {
            throw error("lr \(v.quoted) does not fit in a 32-bit float", at: v,
                        hint: "the trainer computes in Float: lr is at most \(Float.greatestFiniteMagnitude)")
        }
        guard f.isNormal else {
            throw error("lr \(v.quoted) is too small for a 32-bit float (it would become \(f == 0 ? "0" : "denormal"))", at: v,
                        hint: "the trainer computes in Float: lr is at least \(Float.leastNormalMagnitude)")
        }
        return lr
    }

    /// A momentum in [0, 1) that stays in [0, 1) as a 32-bit float: 0, or a normal Float below 1
    /// (at most 0.99999994; 0.99999999 would round to 1 and never forget a gradient).
    /// A leaky ReLU's slope for negative inputs: finite, at least 0 (so that the output's sign is the input's, which
    /// its gradient relies on) and a value a 32-bit float keeps.
    func slope(_ v: Word) throws -> Double {
        let s = try number(v, expected: "a slope like 0.01")
        guard s.isFinite, s >= 0 else {
            throw error("slope must be finite and at least 0, got \(v.quoted)", at: v, hint: "PyTorch's default is 0.01")
        }
        guard s == 0 || Float(s).isNormal, Float(s).isFinite else {
            throw error("slope \(v.quoted) does not fit a 32-bit float", at: v, hint: "PyTorch's default is 0.01")
        }
        return s
    }

    /// Dropout's drop probability: in [0, 1), and below 1 at the generator's precision (an element is dropped when
    /// 24 bits of its hash fall below round(P * 2^24)), so that some elements always survive.
    func dropProbability(_ v: Word) throws -> Double {
        let p = try number(v, expected: "a drop probability like 0.5")
        guard p >= 0, p < 1 else {
            throw error("dropout probability must be in [0, 1), got \(v.quoted)", at: v,
                        hint: "P is the fraction of elements dropped while training, e.g. 0.5; 0 keeps every one")
        }
        guard (p * 16_777_216).rounded() < 16_777_216 else {
            throw error("dropout probability \(v.quoted) rounds to 1 at the mask generator's 24-bit precision", at: v,
                        hint: "the largest usable P is \(1 - 1 / 16_777_216.0)")
        }
        return p
    }

    /// batchnorm's eps: positive, finite, and normal as a 32-bit float (it is added to a variance in Float).
    func eps(_ v: Word) throws -> Double {
        let e = try number(v, expected: "an epsilon like 1e-5")
        guard e.isFinite, e > 0 else {
            throw error("eps must be finite and greater than 0, got \(v.quoted)", at: v, hint: "PyTorch's default is 1e-5")
        }
        guard Float(e).isNormal else {
            throw error("eps \(v.quoted) does not fit a 32-bit float", at: v, hint: "PyTorch's default is 1e-5")
        }
        return e
    }

    /// batchnorm's momentum: the weight of the batch's statistics in the running ones, in [0, 1].
    func statisticsMomentum(_ v: Word) throws -> Double {
        let m = try number(v, expected: "a momentum like 0.1")
        guard m >= 0, m <= 1 else {
            throw error("batchnorm momentum must be in [0, 1], got \(v.quoted)", at: v,
                        hint: "the weight of each batch's statistics in the running ones; PyTorch's default is 0.1")
        }
        guard m == 0 || Float(m).isNormal else {
            throw error("momentum \(v.quoted) is too small for a 32-bit float", at: v, hint: "write momentum=0, or at least \(Float.leastNormalMagnitude)")
        }
        return m
    }

    func momentum(_ v: Word) throws -> Double {
        let m = try number(v, expected: "a momentum like 0.9")
        guard m >= 0, m < 1 else {
            throw error("momentum must be in [0, 1), got \(v.quoted)", at: v, hint: "a momentum like 0.9, or 0 for plain SGD")
        }
        let f = Float(m)
        guard f < 1 else {
            throw error("momentum \(v.quoted) rounds to 1 as a 32-bit float", at: v,
                        hint: "the largest momentum below 1 in Float is \(Float(1).nextDown)")
        }
        guard m == 0 || f.isNormal else {
            throw error("momentum \(v.quoted) is too small for a 32-bit float (it would become \(f == 0 ? "0" : "denormal"))", at: v,
                        hint: "write momentum=0, or at least \(Float.leastNormalMagnitude)")
        }
        return m
    }

    /// A decimal, or `a/b` where `allowFraction`; `noun` names the value in a division-by-zero error.
    func number(_ w: Word, expected: String, allowFraction: Bool = false, noun: String = "value") throws -> Double {
        if allowFraction, w.text.contains("/") {
            let parts = w.text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = Scan.decimal(parts[0]), let b = Scan.decimal(parts[1]) else {
                throw error("expected \(expected), got \(w.quoted)", at: w)
            }
            if b == 0 { throw error("\(noun) \(w.quoted) divides by zero", at: w) }
            return a / b
        }
        guard let value = Scan.decimal(w.text) else { throw error("expected \(expected), got \(w.quoted)", at: w) }
        return value
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
    /// The statement's switches that were written (`hflip`).
    var flags: Set<String> = []
    /// `crop=P` and where it was written.
    var crop: (value: Int, word: Word)?
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
        case "momentum":
            r.train.momentum = try ctx.momentum(v)
        case "schedule", "warmup", "step", "gamma":
            r.scheduleWords[key] = v
        case "crop":
            r.crop = (try ctx.count(v, "crop padding", expected: "a padding in pixels like 4"), v)
        case "eps":
            r.eps = try ctx.eps(v)
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
