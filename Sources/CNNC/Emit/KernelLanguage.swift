/// The small table of spelling differences between kernel languages. Everything else a kernel says
/// (index expressions, fused epilogues and prologues) is built once from it and shared by the printers.
struct KernelLanguage: Sendable {
    var float: String          // scalar type
    var int: String
    var literalSuffix: String  // "f" in C
    var exp: String
    var log: String
    var tanh: String
    var max: String
    /// A local integer that is set once (`const int` in C; GLSL's `const` wants a constant initializer).
    var letInt: String
    /// A local float that is set once.
    var letFloat: String
    var min: String
    var sqrt: String
    /// `float(x)` of an integer; `castBindsTightly` when it is C's prefix cast, whose operand needs parentheses
    /// unless it is a name or a call.
    var toFloat: @Sendable (String) -> String
    var castBindsTightly: Bool
    var negativeInfinity: String
    /// An index widened to the type of batch-sized offsets.
    var wide: @Sendable (String) -> String
    /// The type of batch-sized offsets.
    var index: String
    /// The 32-bit unsigned type, and an integer converted to it.
    var uint: String
    var toUnsigned: @Sendable (String) -> String

    /// C's exp and tanh are the vectorizable ones of the kernel file's prelude (Templates/cpu/kernels.c.template).
    static let c = KernelLanguage(float: "float", int: "int", literalSuffix: "f", exp: "net_expf", log: "logf",
                                  tanh: "net_tanhf", max: "fmaxf", letInt: "const int", letFloat: "const float",
                                  min: "fminf", sqrt: "sqrtf", toFloat: { "(float)\($0)" }, castBindsTightly: true,
                                  negativeInfinity: "-INFINITY",
                                  wide: { "(size_t)\($0)" }, index: "size_t",
                                  uint: "uint32_t", toUnsigned: { "(uint32_t)\($0)" })
    /// The lowered form as `cnnc plan --lowered` shows it: C's syntax without any target's types or library names.
    static let neutral = KernelLanguage(float: "float", int: "int", literalSuffix: "", exp: "exp", log: "log",
                                        tanh: "tanh", max: "max", letInt: "let int", letFloat: "let float", min: "min",
                                        sqrt: "sqrt", toFloat: { "float(\($0))" }, castBindsTightly: false,
                                        negativeInfinity: "-inf", wide: { "wide(\($0))" }, index: "index",
                                        uint: "uint", toUnsigned: { "uint(\($0))" })
    static let glsl = KernelLanguage(float: "float", int: "int", literalSuffix: "", exp: "exp", log: "log", tanh: "tanh",
                                     max: "max", letInt: "int", letFloat: "float", min: "min", sqrt: "sqrt",
                                     toFloat: { "float(\($0))" }, castBindsTightly: false,
                                     negativeInfinity: "uintBitsToFloat(0xff800000u)",
                                     wide: { $0 }, index: "int", uint: "uint", toUnsigned: { "uint(\($0))" })

    /// The type of a local.
    func type(_ t: ScalarType) -> String {
        switch t {
        case .int: return int
        case .float: return float
        case .index: return index
        case .uint: return uint
        }
    }

    /// The declaration of a local set once: `const size_t` in C; GLSL's `const` wants a constant initializer.
    func constant(_ t: ScalarType) -> String {
        switch t {
        case .int: return letInt
        case .float: return letFloat
        case .index: return letInt == int ? index : letInt.replacingOccurrences(of: int, with: index)
        case .uint: return letInt == int ? uint : letInt.replacingOccurrences(of: int, with: uint)
        }
    }

    /// A float literal: `lit(1)` is `1.0f` in C and `1.0` in GLSL.
    func lit(_ x: Double) -> String {
        var s = x == x.rounded() && abs(x) < 1e15 ? String(format1: x) : "\(x)"
        if !s.contains(".") && !s.contains("e") && !s.contains("inf") { s += ".0" }
        return s + literalSuffix
    }

    /// Statements applying a fused epilogue to `v`: biases in order, then the activation.
    /// `channel` indexes a channel bias, `element` an element bias (the output's per-sample flat index).
    func epilogue(_ v: String, biases: [(kind: BiasKind, pointer: String, comment: String)], activation: Activation?,
                  channel: String, element: String) -> [String] {
        var lines: [String] = []
        for b in biases {
            switch b.kind {
            case .channel: lines.append("\(v) += \(b.pointer)[\(channel)];  // \(b.comment)")
            case .element: lines.append("\(v) += \(b.pointer)[\(element)];  // \(b.comment)")
            case .none: break
            }
        }
        if let a = activation { lines.append("\(v) = \(activate(v, a));  // \(a.description)") }
        return lines
    }

    /// The activation of `x` (an expression in this language), as the lowering defines it.
    func activate(_ x: String, _ a: Activation) -> String {
        printer.expr(Lowering.activate(.name(x), a))
    }

    /// The gradient through an activation, from the gradient `dy` and the activation's output `y`, as the lowering
    /// defines it; a select is parenthesized so that it can stand inside a larger expression.
    func activationGradient(_ dy: String, output y: String, _ a: Activation?) -> String {
        printer.expr(Lowering.activationGradient(.name(dy), output: .name(y), a), context: 1)
    }

    /// The shared walk, for expressions that name no kernel array.
    private var printer: KernelPrinter { KernelPrinter(lang: self) { array, index in "\(array)[\(index)]" } }
}

extension KernelLanguage {
    /// Loops over the kernel taps (ky, kx) of output (oy, ox) that land inside the input, with the input row and
    /// column in iy, ix. Padding is skipped, never copied; without padding on an axis no tap can fall outside,
    /// since the output size is floor((in - k) / s) + 1, so that axis needs no check.
    func taps(_ c: inout CodeWriter, _ w: Window, _ i: Shape, _ body: (inout CodeWriter) -> Void) {
        c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
            c.line("\(letInt) iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.block("for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                c.line("\(letInt) ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                body(&c)
            }
        }
    }
}

extension String {
    init(format1 x: Double) { self = String(Int64(x)) }
}

/// Index arithmetic shared by every printer: NHWC activations, [kh][kw][c][oc] conv weights.
enum Index {
    /// Flat offset of (n, y, x, c) in an NHWC tensor of shape s; the batch index is widened first, and a zero
    /// column, a zero channel or a single channel is left out so that the expression reads as written by hand.
    static func nhwc(_ n: String, _ y: String, _ x: String, _ c: String, _ s: Shape, in lang: KernelLanguage = .c)
        -> String {
        var e = "(" + add("(\(lang.wide(n)) * \(s.h) + \(y)) * \(s.w)", x) + ")"
        if s.c != 1 { e += " * \(s.c)" }
        if c != "0" { e += " + \(c)" }
        return e
    }
    /// Flat offset of element `offset` of sample n in a buffer whose samples are `stride` elements apart. Gradient
    /// buffers that share a storage slot use the slot's per-sample size as their stride, so that sample n owns the
    /// same memory in every buffer of the slot and threads working on different samples never overlap.
    static func sample(_ n: String, stride: Int, _ offset: String) -> String {
        offset == "0" ? "(size_t)\(n) * \(stride)" : "(size_t)\(n) * \(stride) + \(offset)"
    }
    /// Offset of (y, x, c) within one sample of shape s.
    static func hwc(_ y: String, _ x: String, _ c: String, _ s: Shape) -> String {
        var e = "(" + add("\(y) * \(s.w)", x) + ")"
        if s.c != 1 { e += " * \(s.c)" }
        if c != "0" { e += " + \(c)" }
        return e
    }
    /// `e + k`, `e - |k|` or `e` alone for k = 0, so that printed offsets read as written by hand.
    static func plus(_ e: String, _ k: Int) -> String {
        k == 0 ? e : k < 0 ? "\(e) - \(-k)" : "\(e) + \(k)"
    }
    /// `e * k`, with `e` parenthesized where it is a sum; `e` alone for k = 1 and `0` for e = `0`, so that an index
    /// that a loop running once left at `0` (`CodeWriter.counted`) drops out.
    static func times(_ e: String, _ k: Int) -> String {
        if e == "0" || k == 1 { return e }
        return e.contains(" + ") || e.contains(" - ") ? "(\(e)) * \(k)" : "\(e) * \(k)"
    }
    /// `a + b`, or one of them alone where the other is `0`.
    static func add(_ a: String, _ b: String) -> String {
        a == "0" ? b : b == "0" ? a : "\(a) + \(b)"
    }
    /// `array[i][j]...` without the indices of dimensions of one element (nil): `acc[k][o]` of one row is `acc[o]`.
    static func element(_ array: String, _ indices: String?...) -> String {
        array + indices.compactMap { $0.map { "[\($0)]" } }.joined()
    }
    /// Input row/column read by output position `o` and kernel tap `k`.
    static func tap(_ o: String, _ k: String, stride: Int, pad: Int) -> String {
        var s = stride == 1 ? o : "\(o) * \(stride)"
        if pad != 0 { s += " - \(pad)" }
        return "\(s) + \(k)"
    }
}
