/// The target-neutral form of a kernel: loops, scalars and array accesses over NHWC index expressions. Lowering
/// rules (Lowering.swift) build it once per kernel; the C and GLSL printers only spell it (KernelPrinter.swift),
/// since both languages share C's statement syntax and differ in a small table of words (`KernelLanguage`) and in
/// the frame around the body (a C function over a range of samples, a compute shader over an invocation grid).

/// A scalar expression. Integer and float literals, names and the arithmetic operators build it directly:
/// `"n" * 784 + "t"` is the expression `n * 784 + t`.
public indirect enum Expr: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case int(Int)
    case float(Double)
    /// A 32-bit unsigned literal (printed in hex with a `u`): the constants of the dropout generator's mixer.
    case uint(UInt32)
    /// A local, a loop variable or a grid coordinate.
    case name(String)
    /// Element `index` of one of the kernel's arrays (by its name in `LoweredKernel.arrays`).
    case load(String, Expr)
    case binary(BinaryOperator, Expr, Expr)
    case call(Builtin, [Expr])
    /// `condition ? a : b`, evaluated as a select (no branch).
    case select(Expr, Expr, Expr)
    case negate(Expr)
    /// An integer as a float.
    case toFloat(Expr)
    /// An integer as a 32-bit unsigned integer, whose arithmetic wraps modulo 2^32 alike in C and GLSL.
    case toUnsigned(Expr)
    /// An integer widened to the index type where batch-sized offsets can exceed 32 bits (`size_t` in C; GLSL's
    /// indices are 32-bit and the Vulkan target checks its limits instead).
    case wide(Expr)
    case negativeInfinity

    public init(stringLiteral name: String) { self = .name(name) }
    public init(integerLiteral value: Int) { self = .int(value) }

    public static func + (a: Expr, b: Expr) -> Expr { simplified(.add, a, b) }
    public static func - (a: Expr, b: Expr) -> Expr { simplified(.subtract, a, b) }
    public static func * (a: Expr, b: Expr) -> Expr { simplified(.multiply, a, b) }
    public static func / (a: Expr, b: Expr) -> Expr { .binary(.divide, a, b) }
    public static func % (a: Expr, b: Expr) -> Expr { .binary(.remainder, a, b) }
    public static func < (a: Expr, b: Expr) -> Expr { .binary(.less, a, b) }
    public static func > (a: Expr, b: Expr) -> Expr { .binary(.greater, a, b) }
    public static func >= (a: Expr, b: Expr) -> Expr { .binary(.greaterOrEqual, a, b) }
    public static func equal(_ a: Expr, _ b: Expr) -> Expr { .binary(.equal, a, b) }
    public static func notEqual(_ a: Expr, _ b: Expr) -> Expr { .binary(.notEqual, a, b) }
    public static func or(_ a: Expr, _ b: Expr) -> Expr { .binary(.or, a, b) }
    /// Bitwise exclusive or and logical right shift, on unsigned integers.
    public static func ^ (a: Expr, b: Expr) -> Expr { .binary(.xor, a, b) }
    public static func >> (a: Expr, b: Expr) -> Expr { .binary(.shiftRight, a, b) }

    /// Leaves out `+ 0`, `* 1` and `0 *` so that printed indices read as written by hand.
    static func simplified(_ op: BinaryOperator, _ a: Expr, _ b: Expr) -> Expr {
        switch (op, a, b) {
        case (.add, .int(0), _): return b
        case (.add, _, .int(0)), (.subtract, _, .int(0)): return a
        case (.multiply, .int(1), _): return b
        case (.multiply, _, .int(1)): return a
        case (.multiply, .int(0), _), (.multiply, _, .int(0)): return .int(0)
        case let (.add, _, .int(k)) where k < 0: return .binary(.subtract, a, .int(-k))
        default: return .binary(op, a, b)
        }
    }

    /// Structural equality (`==` is not offered: the operators above build expressions).
    func isEqual(to other: Expr) -> Bool {
        switch (self, other) {
        case let (.int(a), .int(b)): return a == b
        case let (.uint(a), .uint(b)): return a == b
        case let (.float(a), .float(b)): return a == b
        case let (.name(a), .name(b)): return a == b
        case let (.load(a, i), .load(b, j)): return a == b && i.isEqual(to: j)
        case let (.binary(o, a, b), .binary(p, c, d)): return o == p && a.isEqual(to: c) && b.isEqual(to: d)
        case let (.call(f, a), .call(g, b)):
            return f == g && a.count == b.count && zip(a, b).allSatisfy { $0.isEqual(to: $1) }
        case let (.select(a, b, c), .select(d, e, f)): return a.isEqual(to: d) && b.isEqual(to: e) && c.isEqual(to: f)
        case let (.toFloat(a), .toFloat(b)), let (.wide(a), .wide(b)), let (.negate(a), .negate(b)),
             let (.toUnsigned(a), .toUnsigned(b)):
            return a.isEqual(to: b)
        case (.negativeInfinity, .negativeInfinity): return true
        default: return false
        }
    }
}

public enum BinaryOperator: String, Sendable, Equatable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case less = "<", greater = ">", greaterOrEqual = ">=", equal = "==", notEqual = "!=", or = "||"
    case xor = "^", shiftRight = ">>"

    /// C's precedence (GLSL's is the same): higher binds tighter; `unary` is that of a prefix operator or cast.
    var precedence: Int {
        switch self {
        case .multiply, .divide, .remainder: return 7
        case .add, .subtract: return 6
        case .shiftRight: return 5
        case .less, .greater, .greaterOrEqual: return 4
        case .equal, .notEqual: return 3
        case .xor: return 2
        case .or: return 1
        }
    }
    static let unary = 8

    /// `^` and `>>`: their operands are printed in parentheses when they are operations themselves, as C
    /// compilers ask (-Wparentheses) and readers prefer.
    var isBitwise: Bool { self == .xor || self == .shiftRight }

    /// Whether the result is a truth value (0 or 1), whatever the operands' type.
    var isComparison: Bool { [.less, .greater, .greaterOrEqual, .equal, .notEqual, .or].contains(self) }
}

/// Functions every kernel language has, under its own names (KernelLanguage spells them).
public enum Builtin: String, Sendable, Equatable {
    case exp, log, tanh, max, min, sqrt
}

public enum ScalarType: String, Sendable, Equatable {
    case int, float
    /// 32-bit unsigned, wrapping (the dropout generator's hash).
    case uint
    /// An offset into a batch-sized buffer (see `Expr.wide`).
    case index
}

/// A statement. Loops count up by one from a lower bound to an exclusive upper bound.
public indirect enum Stmt: Sendable {
    /// A local set once.
    case constant(String, ScalarType, Expr)
    /// A local that later statements change.
    case variable(String, ScalarType, Expr)
    case assign(String, Expr)
    case addAssign(String, Expr)
    /// `array[index] = value`, `array[index] += value`.
    case store(String, Expr, Expr)
    case accumulate(String, Expr, Expr)
    case loop(String, from: Expr, to: Expr, [Stmt])
    case when(Expr, [Stmt])
    /// Skips to the next iteration of the innermost loop.
    case next
    case comment(String)
}

/// One array a lowered kernel touches, by the role it plays: a plan buffer (per sample, `stride` elements apart)
/// or a parameter tensor (its slice of the flat parameter, gradient or momentum array).
public struct LoweredArray: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case buffer(String)
        case parameter(String)
        case parameterGradient(String)
        /// A per-sample array of the target's own that the host reads after the step (the hit flags).
        case hostOutput(String)
    }
    public enum Access: Sendable, Equatable { case read, write, readWrite }
    /// The name the kernel's code uses.
    public var name: String
    public var source: Source
    public var type: ScalarType
    public var access: Access
    /// What it holds, for the comment beside its declaration: `(N,28,28,16)`.
    public var comment: String
}

/// How a lowered kernel's work is split: the printers turn it into C loops over a thread's samples or a GLSL
/// invocation grid. The body sees the sample `n` and the coordinates of its item within the sample, outermost
/// first (`("p", 784), ("ch", 16)`); a sample with one item has no coordinates.
public struct Grid: Sendable, Equatable {
    public var items: [Coordinate]
    public struct Coordinate: Sendable, Equatable {
        public var name: String
        public var count: Int
        /// For the innermost coordinate: how many consecutive values a C thread takes at once; 1 elsewhere. The
        /// target's vector width (the locals that depend on the coordinate become vector registers), or the whole
        /// extent where that is no multiple of it (they become local arrays over it). An invocation grid ignores it.
        public var lanes: Int = 1
    }
    /// Items per sample.
    public var count: Int { items.reduce(1) { $0 * $1.count } }

    /// One item per sample, or the given coordinates with every coordinate of size 1 left out (no loop runs once).
    public static func perSample(_ items: (String, Int)...) -> Grid {
        Grid(items: items.filter { $0.1 > 1 }.map { Coordinate(name: $0.0, count: $0.1) })
    }
}

/// What a target asks of the lowering: the two ways cnnc's targets run a step.
public struct LoweringTarget: Sendable, Equatable {
    /// How a parameter gradient, a sum over the batch, is formed: each thread adds its samples' terms into a
    /// gradient array of its own (summed in thread order afterwards), or separate reduction kernels add every
    /// sample's terms in a fixed order (no atomics), after the terms are stored.
    public enum GradientSums: Sendable, Equatable { case perThread, reductionKernels }
    /// How far apart samples of a gradient buffer are: its shared slot's size (threads that own different samples
    /// never overlap), or its own size.
    public enum GradientStride: Sendable, Equatable { case slot, compact }
    /// How the input gradient of a kernel whose outputs each read several inputs (pooling) is formed: each output
    /// adds its terms into the inputs it read (a thread owns whole samples, so no two threads add into one
    /// element), or each input element gathers the terms of the outputs that read it (no atomics).
    public enum InputGradient: Sendable, Equatable { case scatter, gather }
    public var gradientSums: GradientSums
    public var gradientStride: GradientStride
    public var inputGradient: InputGradient
    /// Floats a thread handles at once along a kernel's innermost coordinate (`Grid.Coordinate.lanes`), where the
    /// coordinate's extent is a multiple of it: the C kernel file's `vf16` registers; 1 on an invocation grid.
    public var vectorWidth: Int

    /// Threads over ranges of samples (the C printer).
    public static let sampleRanges = LoweringTarget(gradientSums: .perThread, gradientStride: .slot,
                                                    inputGradient: .scatter, vectorWidth: 16)
    /// An invocation per item (the GLSL printer).
    public static let invocationGrid = LoweringTarget(gradientSums: .reductionKernels, gradientStride: .compact,
                                                      inputGradient: .gather, vectorWidth: 1)
}

/// A parameter gradient as a sum over the batch, for targets with reduction kernels: `elements` sums, each over
/// `rowsPerSample` rows of every sample. The body adds row `row` of sample `n` to the local `acc` of element `b`.
public struct Reduction: Sendable {
    public var parameter: String
    public var elements: Int
    public var rowsPerSample: Int
    public var what: String
}

public struct LoweredKernel: Sendable {
    public var name: String
    /// The plan kernel it implements (index into `KernelPlan.kernels`).
    public var kernel: Int
    /// The fused group it belongs to, nil for the input scaling.
    public var group: Int?
    /// What it computes, in words: the comment above it.
    public var summary: [String]
    public var arrays: [LoweredArray]
    public var grid: Grid
    /// Whether the grid's items are per batch, not per sample (`Kernel.overBatch`): the body sees no sample `n`
    /// and loops over the batch's samples itself (it reads `batch`). Its one coordinate is never left out.
    public var overBatch = false
    /// Set for a reduction kernel (its grid is then empty): the body adds one row to `acc`.
    public var reduction: Reduction? = nil
    /// Values of the step the body reads by name (`batch`, `training`, `lr`, `mu`): arguments of a C function,
    /// push constants of a shader.
    public var stepValues: [StepValue] = []
    /// Sums over the kernel's samples that the body adds to by name (`.addAssign`) and the caller reads: the C
    /// function's out-parameters (`double` for a float). Empty on targets that store per-sample terms instead.
    public var totals: [Total] = []
    public var body: [Stmt]
}

/// A value every item of a step sees alike, set by the trainer.
public enum StepValue: String, Sendable, Equatable, CaseIterable {
    /// Samples in this batch.
    case batch
    /// 1 when the step computes gradients (training), 0 when it only evaluates.
    case training
    /// The optimizer's values for this step (Lowering.optimizerStep says what each means): the learning rate,
    /// SGD's momentum, the coupled weight decay (L2), AdamW's decoupled decay factor, Adam's betas and eps, and
    /// Adam's step size and second-moment bias correction (which change every step).
    case lr, mu, wd, keep, beta1, beta2, eps, stepSize = "step_size", bias2Sqrt = "bias2_sqrt"
    /// The key of dropout's masks: the run's seed (folded to 32 bits) and the training steps taken before this one.
    case seed, trainStep = "train_step"

    /// The optimizer's values in the order of the trainer's `OptimizerValues` (the C struct's fields, the floats of
    /// the Vulkan target's `optimizer` buffer).
    public static let optimizerValues: [StepValue] = [.lr, .mu, .wd, .keep, .beta1, .beta2, .eps, .stepSize, .bias2Sqrt]

    public var type: ScalarType {
        switch self {
        case .lr, .mu, .wd, .keep, .beta1, .beta2, .eps, .stepSize, .bias2Sqrt: return .float
        case .seed, .trainStep: return .uint
        case .batch, .training: return .int
        }
    }
}

/// A sum over the samples a kernel runs on, returned to its caller.
public struct Total: Sendable, Equatable {
    public var name: String
    public var type: ScalarType
}

extension LoweredKernel {
    /// The kernel with each array's access taken from what the body does with it: an array both loaded and stored
    /// is read-write, so a printer never declares it read-only or write-only by mistake.
    func withAccessFromBody() -> LoweredKernel {
        var loads = Set<String>(), stores = Set<String>()
        func visit(_ e: Expr) {
            switch e {
            case let .load(a, i): loads.insert(a); visit(i)
            case let .binary(_, a, b): visit(a); visit(b)
            case let .call(_, args): args.forEach(visit)
            case let .select(c, a, b): visit(c); visit(a); visit(b)
            case let .toFloat(x), let .wide(x), let .negate(x), let .toUnsigned(x): visit(x)
            case .int, .uint, .float, .name, .negativeInfinity: break
            }
        }
        func visit(_ s: Stmt) {
            switch s {
            case let .constant(_, _, e), let .variable(_, _, e), let .assign(_, e), let .addAssign(_, e): visit(e)
            case let .store(a, i, e): stores.insert(a); visit(i); visit(e)
            case let .accumulate(a, i, e): loads.insert(a); stores.insert(a); visit(i); visit(e)
            case let .loop(_, from, to, body): visit(from); visit(to); body.forEach(visit)
            case let .when(c, body): visit(c); body.forEach(visit)
            case .next, .comment: break
            }
        }
        body.forEach(visit)
        var k = self
        for i in k.arrays.indices {
            let name = k.arrays[i].name
            k.arrays[i].access = stores.contains(name) ? (loads.contains(name) ? .readWrite : .write) : .read
        }
        return k
    }
}
