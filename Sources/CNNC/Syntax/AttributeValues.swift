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

    /// SGD's momentum: a decay rate in [0, 1).
    func momentum(_ v: Word) throws -> Double {
        try decayRate(v, "momentum", expected: "a momentum like 0.9", hint: "a momentum like 0.9, or 0 for plain SGD")
    }

    /// A decay rate (SGD's momentum, Adam's betas) in [0, 1) that stays in [0, 1) as a 32-bit float: 0, or a normal
    /// Float below 1 (at most 0.99999994; 0.99999999 would round to 1 and never forget a gradient).
    func decayRate(_ v: Word, _ name: String, expected: String, hint: String) throws -> Double {
        let m = try number(v, expected: expected)
        guard m >= 0, m < 1 else { throw error("\(name) must be in [0, 1), got \(v.quoted)", at: v, hint: hint) }
        let f = Float(m)
        guard f < 1 else {
            throw error("\(name) \(v.quoted) rounds to 1 as a 32-bit float", at: v,
                        hint: "the largest \(name) below 1 in Float is \(Float(1).nextDown)")
        }
        guard m == 0 || f.isNormal else {
            throw error("\(name) \(v.quoted) is too small for a 32-bit float (it would become \(f == 0 ? "0" : "denormal"))",
                        at: v, hint: "write \(name)=0, or at least \(Float.leastNormalMagnitude)")
        }
        return m
    }

    /// normalize's `mean=A[,B,C]` or `std=A[,B,C]`: decimals separated by commas, each a finite 32-bit float; a std
    /// is also positive and normal (it divides). Errors point at the offending value. The count is checked against
    /// the input's channels by the statement.
    func normalizationList(_ w: Word, std: Bool) throws -> [Double] {
        let noun = std ? "std" : "mean", example = std ? "0.229" : "0.485"
        var out: [Double] = []
        var column = w.column
        for part in w.text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = Word(text: String(part), column: column)
            column = word.end + 1
            if part.isEmpty {
                throw error("expected a \(noun) value in \(w.quoted)", column: word.column,
                            hint: "values are separated by commas without spaces: '\(noun)=0.485,0.456,0.406'")
            }
            let value = try number(word, expected: "a \(noun) like \(example)")
            if std {
                guard value > 0, value.isFinite else {
                    throw error("std must be positive and finite, got \(word.quoted)", at: word,
                                hint: "each channel's values are divided by its std")
                }
                guard Float(value).isNormal, Float(value).isFinite else {
                    throw error("std \(word.quoted) does not fit a 32-bit float", at: word,
                                hint: "a std is at least \(Float.leastNormalMagnitude)")
                }
            } else {
                guard Float(value).isFinite else {
                    throw error("mean \(word.quoted) does not fit a 32-bit float", at: word,
                                hint: "a mean is at most \(Float.greatestFiniteMagnitude) in magnitude")
                }
            }
            out.append(value)
        }
        return out
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
