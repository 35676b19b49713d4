/// The one walk over a lowered kernel's statements that both printers share: C and GLSL write statements,
/// loops and expressions alike, so they differ only in `KernelLanguage`'s words and in how an array element is
/// reached (`element`: a C pointer indexed directly, a GLSL binding with the parameter's offset added).
struct KernelPrinter {
    let lang: KernelLanguage
    /// Spells element `index` (already printed) of the kernel array named `array`.
    let element: (_ array: String, _ index: String) -> String
    /// A printer's own spelling of some statements (the C vector lanes); nil leaves a statement to the walk.
    var spell: ((Stmt) -> [String]?)? = nil

    func print(_ body: [Stmt], into c: inout CodeWriter) {
        for s in body { statement(s, &c) }
    }

    private func statement(_ s: Stmt, _ c: inout CodeWriter) {
        if let lines = spell?(s) {
            lines.forEach { c.line($0) }
            return
        }
        switch s {
        case let .constant(name, type, e):
            c.line("\(lang.constant(type)) \(name) = \(expr(e));")
        case let .variable(name, type, e):
            c.line("\(lang.type(type)) \(name) = \(expr(e));")
        case let .assign(name, e):
            c.line("\(name) = \(expr(e));")
        case let .addAssign(name, e):
            c.line("\(name) += \(expr(e));")
        case let .store(array, index, e):
            c.line("\(element(array, expr(index))) = \(expr(e));")
        case let .accumulate(array, index, e):
            c.line("\(element(array, expr(index))) += \(expr(e));")
        case let .loop(v, from, to, body):
            let head = "for (int \(v) = \(expr(from)); \(v) < \(expr(to)); \(v)++)"
            var inner = CodeWriter()
            print(body, into: &inner)
            let lines = inner.text.split(separator: "\n")
            if lines.count == 1, case .loop = body[0] {} else if lines.count == 1 {
                c.line(head + " " + lines[0])  // one statement: on the loop's line, as a person writes it
                return
            }
            c.block(head) { c in print(body, into: &c) }
        case let .when(condition, body):
            if body.count == 1, case .next = body[0] {
                c.line("if (\(expr(condition))) continue;")
            } else {
                c.block("if (\(expr(condition)))") { c in print(body, into: &c) }
            }
        case .next:
            c.line("continue;")
        case let .comment(text):
            c.line("// " + text)
        }
    }

    /// An expression, parenthesized only where C's precedence needs it; `context` is the precedence of the
    /// operator it is an operand of (0: a whole statement's expression).
    func expr(_ e: Expr, context: Int = 0) -> String {
        switch e {
        case let .int(v): return String(v)
        case let .uint(v): return (v < 65536 ? String(v) : "0x" + String(v, radix: 16)) + "u"
        case let .float(v): return lang.lit(v)
        case let .name(n): return n
        case let .load(array, index): return element(array, expr(index))
        case let .binary(op, a, b):
            // Left-associative: the right operand of an operator of equal precedence needs parentheses; a bitwise
            // operator's operands that are operations get them too.
            let left = op.isBitwise ? BinaryOperator.unary : op.precedence
            let right = op.isBitwise ? BinaryOperator.unary : op.precedence + 1
            let text = "\(expr(a, context: left)) \(op.rawValue) \(expr(b, context: right))"
            return op.precedence < context ? "(\(text))" : text
        case let .call(f, args):
            return "\(name(f))(\(args.map { expr($0) }.joined(separator: ", ")))"
        case let .select(condition, a, b):
            let text = "\(expr(condition, context: 1)) ? \(expr(a, context: 1)) : \(expr(b, context: 1))"
            return context > 0 ? "(\(text))" : text
        case let .negate(x):
            return "-" + expr(x, context: BinaryOperator.unary)
        case let .toFloat(x):
            return lang.toFloat(expr(x, context: lang.castBindsTightly ? BinaryOperator.unary : 0))
        case let .toUnsigned(x):
            return lang.toUnsigned(expr(x, context: lang.castBindsTightly ? BinaryOperator.unary : 0))
        case let .wide(x):
            return lang.wide(expr(x, context: lang.castBindsTightly ? BinaryOperator.unary : 0))
        case .negativeInfinity:
            return lang.negativeInfinity
        }
    }

    func name(_ f: Builtin) -> String {
        switch f {
        case .exp: return lang.exp
        case .log: return lang.log
        case .tanh: return lang.tanh
        case .max: return lang.max
        case .min: return lang.min
        case .sqrt: return lang.sqrt
        }
    }
}
