/// The C spelling of a lowered body whose innermost grid coordinate (`ch`) runs `width` values at a time
/// (`Grid.Coordinate.lanes`): the frame's loop steps by `width`, and every local that depends on the coordinate
/// becomes a vector (`vf16`, `vi16` of the kernel file's prelude), so a max pool keeps its running maxima and their
/// offsets in registers. What does not depend on it (tap indices, padding skips, a window's cell count) stays
/// scalar. A load or store that depends on it must index `... + ch` (consecutive lanes); a condition that depends on
/// it may only guard assignments, which become selects (the first maximum wins, as in the scalar form), except that
/// `ch == k` (true in at most one lane) may guard scalar statements: they run once, in the vector holding lane k.
/// A one-argument builtin of a vector applies lane by lane (`vf16_map`).
struct CLanes {
    let body: [Stmt]
    let coordinate: String
    let width: Int
    let arrays: [LoweredArray]
    /// The locals that depend on the coordinate.
    let varying: Set<String>
    /// Every local's type, by name.
    let types: [String: ScalarType]
    let scalar: KernelPrinter

    init(_ body: [Stmt], coordinate: String, width: Int, arrays: [LoweredArray], scalar: KernelPrinter) {
        self.body = body
        self.coordinate = coordinate
        self.width = width
        self.arrays = arrays
        self.scalar = scalar
        var types: [String: ScalarType] = [:], varying: Set<String> = [coordinate]
        func depends(_ e: Expr) -> Bool { CLanes.names(e).contains { varying.contains($0) } }
        func visit(_ s: Stmt) -> Bool {  // true when it made a local varying
            switch s {
            case let .constant(n, t, e), let .variable(n, t, e):
                types[n] = t
                return depends(e) && varying.insert(n).inserted
            case let .assign(n, e), let .addAssign(n, e):
                return depends(e) && varying.insert(n).inserted
            case let .loop(_, _, _, body):
                return body.map(visit).contains(true)
            case let .when(c, body):
                var changed = body.map(visit).contains(true)
                if depends(c) { for case let .assign(n, _) in body { changed = varying.insert(n).inserted || changed } }
                return changed
            case .store, .accumulate, .next, .comment:
                return false
            }
        }
        while body.map(visit).contains(true) {}
        self.varying = varying
        self.types = types
    }

    /// The printer that spells the vector statements and leaves the scalar ones to the shared walk.
    var printer: KernelPrinter {
        var p = scalar
        p.spell = { s in self.statement(s) }
        return p
    }

    /// Whether the body uses the coordinate's value itself (not only to index), so the frame declares `lane`.
    static func usesLaneValue(_ body: [Stmt], coordinate: String) -> Bool {
        func uses(_ e: Expr) -> Bool {
            switch e {
            case let .name(n): return n == coordinate
            case .load: return false
            case let .binary(_, a, b): return uses(a) || uses(b)
            case let .call(_, args): return args.contains(where: uses)
            case let .select(c, a, b): return uses(c) || uses(a) || uses(b)
            case let .toFloat(x), let .wide(x), let .negate(x), let .toUnsigned(x): return uses(x)
            case .int, .uint, .float, .negativeInfinity: return false
            }
        }
        return body.contains { s in
            switch s {
            case let .constant(_, _, e), let .variable(_, _, e), let .assign(_, e), let .addAssign(_, e): return uses(e)
            case let .store(_, _, e), let .accumulate(_, _, e): return uses(e)
            case let .loop(_, _, _, b): return usesLaneValue(b, coordinate: coordinate)
            case let .when(c, b):
                return (oneLane(c, coordinate: coordinate) == nil && uses(c)) || usesLaneValue(b, coordinate: coordinate)
            case .next, .comment: return false
            }
        }
    }

    /// The `k` of a condition `coordinate == k` (k a literal), which holds in at most one lane.
    static func oneLane(_ c: Expr, coordinate: String) -> Int? {
        switch c {
        case let .binary(.equal, .name(n), .int(k)), let .binary(.equal, .int(k), .name(n)):
            return n == coordinate ? k : nil
        default: return nil
        }
    }

    // MARK: statements

    /// The vector spelling of `s`, or nil where it is scalar.
    private func statement(_ s: Stmt) -> [String]? {
        switch s {
        case let .constant(n, t, e) where varying.contains(n) && n != coordinate:
            return ["const \(vector(t)) \(n) = \(value(e, as: t));"]
        case let .variable(n, t, e) where varying.contains(n):
            return ["\(vector(t)) \(n) = \(value(e, as: t));"]
        case let .assign(n, e) where varying.contains(n):
            return ["\(n) = \(value(e, as: types[n]!));"]
        case let .addAssign(n, e) where varying.contains(n):
            return ["\(n) += \(value(e, as: types[n]!));"]
        case let .store(a, i, e) where isVarying(i):
            let t = type(of: a)
            return ["\(vector(t))_store(&\(element(a, i)), \(value(e, as: t)));"]
        case let .accumulate(a, i, e) where isVarying(i):
            let t = type(of: a)
            return ["\(vector(t))_store(&\(element(a, i)), \(load(a, i)) + \(value(e, as: t)));"]
        case let .when(c, body) where isVarying(c) && !body.contains(where: isVaryingStatement):
            // Scalar statements under `ch == k`: once, in the vector whose lanes hold k (`ch` steps by the width
            // from a multiple of it).
            guard let k = CLanes.oneLane(c, coordinate: coordinate) else {
                preconditionFailure("scalar statements under a condition on lanes other than one lane's")
            }
            var w = CodeWriter()
            w.block("if (\(coordinate) == \(k / width * width))") { w in printer.print(body, into: &w) }
            return w.text.split(separator: "\n").map(String.init)
        case let .when(c, body) where isVarying(c):
            // Each assignment becomes a select on the condition's mask.
            let selects = body.map { s -> String in
                guard case let .assign(n, e) = s, let t = types[n] else {
                    preconditionFailure("a condition on lanes may only guard assignments")
                }
                return " \(n) = \(vector(t))_select(take, \(value(e, as: t)), \(n));"
            }
            return ["{ const \(vector(.int)) take = \(mask(c));" + selects.joined() + " }"]
        default:
            precondition(!isVaryingStore(s), "a store that depends on the lanes must index them")
            return nil
        }
    }

    /// Whether a statement (or one inside it) sets a vector local or a vector of an array.
    private func isVaryingStatement(_ s: Stmt) -> Bool {
        switch s {
        case let .constant(n, _, _), let .variable(n, _, _), let .assign(n, _), let .addAssign(n, _):
            return varying.contains(n)
        case let .store(_, i, e), let .accumulate(_, i, e): return isVarying(i) || isVarying(e)
        case let .loop(_, _, _, b): return b.contains(where: isVaryingStatement)
        case let .when(c, b): return isVarying(c) || b.contains(where: isVaryingStatement)
        case .next, .comment: return false
        }
    }

    private func isVaryingStore(_ s: Stmt) -> Bool {
        switch s {
        case let .store(_, _, e), let .accumulate(_, _, e): return isVarying(e)
        default: return false
        }
    }

    // MARK: expressions

    private func vector(_ t: ScalarType) -> String { t == .float ? "vf\(width)" : "vi\(width)" }

    private func isVarying(_ e: Expr) -> Bool { CLanes.names(e).contains { varying.contains($0) } }

    private func type(of array: String) -> ScalarType { arrays.first { $0.name == array }?.type ?? .float }

    /// `array[index]` with the coordinate as the first lane's value: the address of the lanes.
    private func element(_ array: String, _ index: Expr) -> String {
        precondition(isLaneIndex(index), "lanes must be consecutive elements: \(scalar.expr(index))")
        return scalar.element(array, scalar.expr(index))
    }

    private func load(_ array: String, _ index: Expr) -> String {
        precondition(type(of: array) == .float, "only float arrays are loaded as lanes")
        return "vf\(width)_load(&\(element(array, index)))"
    }

    /// Whether `index` is a scalar expression plus the coordinate (so consecutive lanes are consecutive elements).
    private func isLaneIndex(_ index: Expr) -> Bool {
        switch index {
        case let .name(n): return n == coordinate
        case let .binary(.add, a, b): return (isLaneIndex(a) && !isVarying(b)) || (!isVarying(a) && isLaneIndex(b))
        case let .wide(x): return isLaneIndex(x)
        default: return false
        }
    }

    /// `e` as a vector of type t: a scalar is broadcast.
    private func value(_ e: Expr, as t: ScalarType) -> String {
        if isVarying(e) { return expr(e) }
        let s = scalar.expr(e, context: 4)
        return s == "0" || s == "0.0f" ? "(\(vector(t))){0}" : "(\(vector(t))){0} + \(s)"
    }

    /// A condition on the lanes as a mask (-1 where it holds).
    private func mask(_ e: Expr) -> String {
        guard case let .binary(op, a, b) = e, [.less, .greater, .greaterOrEqual, .equal, .notEqual].contains(op) else {
            preconditionFailure("a condition on lanes is one comparison")
        }
        let t: ScalarType = typeOf(a) == .float || typeOf(b) == .float ? .float : .int
        return "\(value(a, as: t)) \(op.rawValue) \(value(b, as: t))"
    }

    /// A varying expression; `context` is the precedence of the operator it is an operand of.
    private func expr(_ e: Expr, context: Int = 0) -> String {
        switch e {
        case let .name(n): return n == coordinate ? "(lane + \(n))" : n
        case let .load(a, i): return load(a, i)
        case let .binary(op, a, b) where !op.isComparison:
            let operand = { (x: Expr, c: Int) in self.isVarying(x) ? self.expr(x, context: c) : self.scalar.expr(x, context: c) }
            let text = "\(operand(a, op.precedence)) \(op.rawValue) \(operand(b, op.precedence + 1))"
            return op.precedence < context ? "(\(text))" : text
        case let .select(c, a, b):
            let t: ScalarType = typeOf(a) == .float || typeOf(b) == .float ? .float : .int
            return "\(vector(t))_select(\(mask(c)), \(value(a, as: t)), \(value(b, as: t)))"
        case let .negate(x): return "-" + expr(x, context: BinaryOperator.unary)
        case let .call(f, args) where args.count == 1:
            return "vf\(width)_map(\(scalar.name(f)), \(value(args[0], as: .float)))"
        default: preconditionFailure("no vector spelling for \(scalar.expr(e))")
        }
    }

    /// The scalar type an expression has (its lanes' type where it is varying).
    private func typeOf(_ e: Expr) -> ScalarType {
        switch e {
        case .float, .toFloat, .negativeInfinity, .call: return .float
        case .int, .wide, .uint, .toUnsigned: return .int
        case let .name(n): return types[n] == .float ? .float : .int
        case let .load(a, _): return type(of: a)
        case let .binary(op, a, b):
            if op.isComparison { return .int }
            return typeOf(a) == .float || typeOf(b) == .float ? .float : .int
        case let .select(_, a, b): return typeOf(a) == .float || typeOf(b) == .float ? .float : .int
        case let .negate(x): return typeOf(x)
        }
    }

    /// The names an expression reads (a load's index included).
    static func names(_ e: Expr) -> [String] {
        switch e {
        case let .name(n): return [n]
        case let .load(_, i): return names(i)
        case let .binary(_, a, b): return names(a) + names(b)
        case let .call(_, args): return args.flatMap(names)
        case let .select(c, a, b): return names(c) + names(a) + names(b)
        case let .toFloat(x), let .wide(x), let .negate(x), let .toUnsigned(x): return names(x)
        case .int, .uint, .float, .negativeInfinity: return []
        }
    }
}

extension CLanes {
    /// The spelling for a coordinate taken whole where its extent is no multiple of the vector width: each local
    /// that changes with it (a running maximum, a sum) becomes a local array over it, and each run of statements
    /// that depends on it becomes one loop over it, which the compiler vectorizes; a condition on it guards
    /// assignments as selects. Returns the arrays' declarations and the rewritten body for the shared walk.
    func arrayForm(count: Int) -> (declarations: [String], body: [Stmt]) {
        var locals: [(String, ScalarType)] = []
        func isArray(_ n: String) -> Bool { locals.contains { $0.0 == n } }
        func visit(_ s: Stmt) {
            switch s {
            case let .variable(n, t, _) where varying.contains(n): locals.append((n, t))
            case let .loop(_, _, _, b), let .when(_, b): b.forEach(visit)
            default: break
            }
        }
        body.forEach(visit)
        let lane = Expr.name(coordinate)
        func swap(_ e: Expr) -> Expr {
            switch e {
            case let .name(n) where isArray(n): return .load(n, lane)
            case let .load(a, i): return .load(a, swap(i))
            case let .binary(op, a, b): return .binary(op, swap(a), swap(b))
            case let .call(f, args): return .call(f, args.map(swap))
            case let .select(c, a, b): return .select(swap(c), swap(a), swap(b))
            case let .toFloat(x): return .toFloat(swap(x))
            case let .wide(x): return .wide(swap(x))
            case let .negate(x): return .negate(swap(x))
            case let .toUnsigned(x): return .toUnsigned(swap(x))
            case .int, .uint, .float, .name, .negativeInfinity: return e
            }
        }
        func set(_ n: String, _ e: Expr) -> Stmt { isArray(n) ? .store(n, lane, swap(e)) : .assign(n, swap(e)) }
        /// One statement inside the loop over the coordinate.
        func inLoop(_ s: Stmt) -> [Stmt] {
            switch s {
            case let .constant(n, t, e): return [.constant(n, t, swap(e))]
            case let .variable(n, t, e): return isArray(n) ? [.store(n, lane, swap(e))] : [.variable(n, t, swap(e))]
            case let .assign(n, e): return [set(n, e)]
            case let .addAssign(n, e): return [isArray(n) ? .accumulate(n, lane, swap(e)) : .addAssign(n, swap(e))]
            case let .store(a, i, e): return [.store(a, swap(i), swap(e))]
            case let .accumulate(a, i, e): return [.accumulate(a, swap(i), swap(e))]
            case let .when(c, b) where isVarying(c):
                return [.constant("take", .int, swap(c))] + b.map { s -> Stmt in
                    guard case let .assign(n, e) = s else { preconditionFailure("a condition on lanes guards assignments") }
                    return set(n, .select("take", e, .name(n)))
                }
            default: preconditionFailure("no loop over \(coordinate) around a loop or skip")
            }
        }
        func depends(_ s: Stmt) -> Bool {
            switch s {
            case let .constant(n, _, _), let .variable(n, _, _), let .assign(n, _), let .addAssign(n, _):
                return varying.contains(n)
            case let .store(_, i, e), let .accumulate(_, i, e): return isVarying(i) || isVarying(e)
            case let .when(c, b): return isVarying(c) && b.allSatisfy { if case .assign = $0 { true } else { false } }
            case .loop, .next, .comment: return false
            }
        }
        func rewrite(_ stmts: [Stmt]) -> [Stmt] {
            var out: [Stmt] = [], run: [Stmt] = []
            func flush() {
                if !run.isEmpty { out.append(.loop(coordinate, from: 0, to: .int(count), run)) }
                run = []
            }
            for s in stmts {
                if depends(s) { run += inLoop(s); continue }
                flush()
                switch s {
                case let .loop(v, from, to, b): out.append(.loop(v, from: from, to: to, rewrite(b)))
                case let .when(c, b): out.append(.when(c, rewrite(b)))
                default: out.append(s)
                }
            }
            flush()
            return out
        }
        let declarations = locals.map { "\(scalar.lang.type($0.1)) \($0.0)[\(count)];" }
        return (declarations, rewrite(body))
    }
}
