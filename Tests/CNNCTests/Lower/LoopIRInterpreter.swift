@testable import CNNC

/// Runs a lowered kernel's statements on arrays of numbers, with C's integer arithmetic (division truncates; 32-bit
/// unsigned values wrap), so
/// that a test can check what a rule computes, on every target's shape of work, against a direct computation.
/// The grid's lanes are a spelling of the C printer and change nothing here.
struct LoopIRInterpreter {
    enum Value {
        case int(Int), float(Double), uint(UInt32)
        var double: Double {
            switch self {
            case let .int(v): return Double(v)
            case let .float(v): return v
            case let .uint(v): return Double(v)
            }
        }
        var int: Int {
            switch self {
            case let .int(v): return v
            case let .float(v): return Int(v)
            case let .uint(v): return Int(v)
            }
        }
        /// C's conversion of an integer to uint32_t: modulo 2^32.
        var uint: UInt32 {
            switch self {
            case let .uint(v): return v
            default: return UInt32(truncatingIfNeeded: int)
            }
        }
    }

    var arrays: [String: [Double]]
    /// Step values and, after a run, the kernel's totals.
    var values: [String: Value] = [:]

    /// Runs `k` on samples 0..<samples.
    mutating func run(_ k: LoweredKernel, samples: Int) {
        for t in k.totals { values[t.name] = t.type == .float ? .float(0) : .int(0) }
        for n in 0..<samples {
            for item in 0..<k.grid.count {
                var env: [String: Value] = ["n": .int(n)]
                var rest = item
                for c in k.grid.items.reversed() {
                    env[c.name] = .int(rest % c.count)
                    rest /= c.count
                }
                _ = execute(k.body, &env)
            }
        }
    }

    /// False when a `next` left the innermost loop's iteration.
    private mutating func execute(_ body: [Stmt], _ env: inout [String: Value]) -> Bool {
        for s in body {
            switch s {
            case let .constant(name, type, e), let .variable(name, type, e):
                let v = eval(e, env)
                env[name] = type == .float ? .float(v.double) : type == .uint ? .uint(v.uint) : .int(v.int)
            case let .assign(name, e):
                env[name] = convert(eval(e, env), like: env[name]!)
            case let .addAssign(name, e):
                if let v = env[name] {
                    env[name] = convert(.float(v.double + eval(e, env).double), like: v)
                } else {
                    values[name] = convert(.float(values[name]!.double + eval(e, env).double), like: values[name]!)
                }
            case let .store(array, i, e):
                arrays[array]![eval(i, env).int] = eval(e, env).double
            case let .accumulate(array, i, e):
                arrays[array]![eval(i, env).int] += eval(e, env).double
            case let .loop(v, from, to, inner):
                for i in eval(from, env).int..<max(eval(from, env).int, eval(to, env).int) {
                    var scope = env
                    scope[v] = .int(i)
                    _ = execute(inner, &scope)
                    for key in env.keys { env[key] = scope[key] }
                }
            case let .when(c, inner):
                if eval(c, env).double != 0 {
                    var scope = env
                    let going = execute(inner, &scope)
                    for key in env.keys { env[key] = scope[key] }
                    if !going { return false }
                }
            case .next:
                return false
            case .comment:
                break
            }
        }
        return true
    }

    private func convert(_ v: Value, like old: Value) -> Value {
        if case .int = old { return .int(v.int) }
        if case .uint = old { return .uint(v.uint) }
        return .float(v.double)
    }

    private func eval(_ e: Expr, _ env: [String: Value]) -> Value {
        switch e {
        case let .int(v): return .int(v)
        case let .uint(v): return .uint(v)
        case let .float(v): return .float(v)
        case let .name(n): return env[n] ?? values[n]!
        case let .load(a, i): return .float(arrays[a]![eval(i, env).int])
        case let .binary(op, a, b):
            let x = eval(a, env), y = eval(b, env)
            if case let .uint(i) = x, case let .uint(j) = y {
                switch op {
                case .add: return .uint(i &+ j)
                case .subtract: return .uint(i &- j)
                case .multiply: return .uint(i &* j)
                case .xor: return .uint(i ^ j)
                case .shiftRight: return .uint(i >> j)
                case .less: return .int(i < j ? 1 : 0)
                default: preconditionFailure("no \(op) on unsigned values here")
                }
            }
            if case let .int(i) = x, case let .int(j) = y {
                switch op {
                case .add: return .int(i + j)
                case .subtract: return .int(i - j)
                case .multiply: return .int(i * j)
                case .divide: return .int(i / j)
                case .remainder: return .int(i % j)
                default: break
                }
            }
            let p = x.double, q = y.double
            switch op {
            case .add: return .float(p + q)
            case .subtract: return .float(p - q)
            case .multiply: return .float(p * q)
            case .divide: return .float(p / q)
            case .remainder: return .float(p.truncatingRemainder(dividingBy: q))
            case .less: return .int(p < q ? 1 : 0)
            case .greater: return .int(p > q ? 1 : 0)
            case .greaterOrEqual: return .int(p >= q ? 1 : 0)
            case .equal: return .int(p == q ? 1 : 0)
            case .notEqual: return .int(p != q ? 1 : 0)
            case .or: return .int(p != 0 || q != 0 ? 1 : 0)
            case .xor, .shiftRight: preconditionFailure("\(op) takes unsigned operands")
            }
        case let .call(f, args):
            let v = args.map { eval($0, env).double }
            switch f {
            case .exp: return .float(Foundation.exp(v[0]))
            case .log: return .float(Foundation.log(v[0]))
            case .tanh: return .float(Foundation.tanh(v[0]))
            case .max: return .float(Swift.max(v[0], v[1]))
            case .min: return .float(Swift.min(v[0], v[1]))
            case .sqrt: return .float(Foundation.sqrt(v[0]))
            }
        case let .select(c, a, b): return eval(c, env).double != 0 ? eval(a, env) : eval(b, env)
        case let .negate(x):
            if case let .int(i) = eval(x, env) { return .int(-i) }
            return .float(-eval(x, env).double)
        case let .toFloat(x): return .float(eval(x, env).double)
        case let .wide(x): return eval(x, env)
        case let .toUnsigned(x): return .uint(eval(x, env).uint)
        case .negativeInfinity: return .float(-.infinity)
        }
    }
}

import Foundation
