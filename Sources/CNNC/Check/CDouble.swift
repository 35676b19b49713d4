/// The CPU target's kernels in double precision, for `cnnc check`: the same kernel functions and step functions
/// the trainer compiles, with every `float` a `double`, so that central finite differences (whose rounding error
/// grows as the step shrinks) can be compared with the analytic gradients to many digits.
///
/// The printers spell C directly (conv and dense are still hand-printed), so the double variant is made from
/// their output by one rewrite of its tokens rather than by a second spelling in every printer: `float` becomes
/// `double`, a float literal's `f` suffix goes, libm's float functions become their double ones, and the 16-float
/// vectors `vf16`/`vi16` become 16-double ones `vd16`/`vl16` (64-bit masks, so that a comparison of two `vd16`
/// has the type of `vl16`). Comments and strings are copied unchanged. A function of the trainer's kernel prelude
/// that this one lacks is an error, so a word a printer learns later cannot silently stay float. The kernel file's
/// prelude (vectors, exp and tanh) is this file's own.
enum CDouble {
    /// The double kernel file: prelude, kernels, step functions (the header is `header(_:)`).
    static func kernels(_ emitter: CEmitter) throws -> String {
        LineWrap.wrap(prelude + (try widen(emitter.kernelFunctions())) + "\n" + (try widen(emitter.stepFunctions())))
    }

    /// The header of the double kernel file: the buffer struct and the step functions, in doubles.
    static func header(_ emitter: CEmitter) throws -> String { LineWrap.wrap(try widen(emitter.header())) }

    /// Identifiers renamed: the type, the vector types and their macros, libm's float functions and the kernel
    /// file's own exp and tanh.
    static let renamed: [String: String] = {
        var table = ["float": "double", "net_expf": "exp", "net_tanhf": "tanh"]
        for name in ["vf16", "vf16_load", "vf16_store", "vf16_select", "vf16_relu", "vf16_map"] {
            table[name] = "vd16" + name.dropFirst(4)
        }
        for name in ["vi16", "vi16_store", "vi16_select"] { table[name] = "vl16" + name.dropFirst(4) }
        for f in libmFloatFunctions { table[f] = String(f.dropLast()) }
        return table
    }()

    /// The float functions of math.h (C99), each renamed to its double one by dropping the `f`.
    static let libmFloatFunctions = [
        "acosf", "acoshf", "asinf", "asinhf", "atanf", "atan2f", "atanhf", "cbrtf", "ceilf", "copysignf", "cosf",
        "coshf", "erff", "erfcf", "expf", "exp2f", "expm1f", "fabsf", "fdimf", "floorf", "fmaf", "fmaxf", "fminf",
        "fmodf", "frexpf", "hypotf", "ilogbf", "ldexpf", "lgammaf", "llrintf", "llroundf", "logf", "log10f", "log1pf",
        "log2f", "logbf", "lrintf", "lroundf", "modff", "nanf", "nearbyintf", "nextafterf", "nexttowardf", "powf",
        "remainderf", "remquof", "rintf", "roundf", "scalblnf", "scalbnf", "sinf", "sinhf", "sqrtf", "tanf", "tanhf",
        "tgammaf", "truncf",
    ]

    /// `source` with every token of float precision spelled in double precision; comments and string literals
    /// are left as they are.
    static func widen(_ source: String) throws -> String {
        let s = Array(source.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count + s.count / 8)
        var i = 0
        func isIdentifierStart(_ c: UInt8) -> Bool { c == UInt8(ascii: "_") || (c | 0x20) >= 97 && (c | 0x20) <= 122 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < s.count {
            let c = s[i]
            let slash = UInt8(ascii: "/"), star = UInt8(ascii: "*")
            if c == slash && i + 1 < s.count && (s[i + 1] == slash || s[i + 1] == star) {
                let block = s[i + 1] == UInt8(ascii: "*")
                var j = i + 2
                if block {
                    while j + 1 < s.count && !(s[j] == UInt8(ascii: "*") && s[j + 1] == UInt8(ascii: "/")) { j += 1 }
                    j = min(j + 2, s.count)
                } else {
                    while j < s.count && s[j] != UInt8(ascii: "\n") { j += 1 }
                }
                out += s[i..<j]
                i = j
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var j = i + 1
                while j < s.count && s[j] != c {
                    j += s[j] == UInt8(ascii: "\\") ? 2 : 1
                }
                j = min(j + 1, s.count)
                out += s[i..<j]
                i = j
            } else if isIdentifierStart(c) {
                var j = i + 1
                while j < s.count && (isIdentifierStart(s[j]) || isDigit(s[j])) { j += 1 }
                let word = String(decoding: s[i..<j], as: UTF8.self)
                if let renamed = renamed[word] {
                    out += Array(renamed.utf8)
                } else {
                    if word.hasPrefix("net_") && word.hasSuffix("f") {
                        // A function of the trainer's prelude (Templates/cpu/kernels.c.template) without a double
                        // form here: a printer learned a word that `renamed` must learn too.
                        throw CompileError("error: cnnc check has no double-precision form of the kernels' '\(word)'")
                    }
                    out += s[i..<j]
                }
                i = j
            } else if isDigit(c) || (c == UInt8(ascii: ".") && i + 1 < s.count && isDigit(s[i + 1])) {
                // A number: digits, a point, an exponent with its sign; then a suffix, of which `f` goes.
                var j = i
                while j < s.count {
                    let d = s[j]
                    if isDigit(d) || d == UInt8(ascii: ".") || isIdentifierStart(d) && d != UInt8(ascii: "f")
                        && d != UInt8(ascii: "F") {
                        let exponent = d == UInt8(ascii: "e") || d == UInt8(ascii: "E")
                        j += 1
                        let sign = j < s.count && (s[j] == UInt8(ascii: "+") || s[j] == UInt8(ascii: "-"))
                        if exponent && sign { j += 1 }
                    } else {
                        break
                    }
                }
                out += s[i..<j]
                let hex = j - i > 1 && s[i] == UInt8(ascii: "0") && (s[i + 1] | 0x20) == UInt8(ascii: "x")
                if !hex && j < s.count && (s[j] | 0x20) == UInt8(ascii: "f") { j += 1 }  // drop the float suffix
                i = j
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The double kernel file's prelude: what the trainer's kernels.c.template defines, in doubles. The vectors
    /// keep 16 lanes (as the printers step by 16), two AVX-512 registers or more; speed does not matter here.
    static let prelude = """
        // Generated by cnnc check: the network's C kernels in double precision, for finite differences.
        #include <math.h>
        #include <stddef.h>
        #include <string.h>
        #include "kernels.h"

        #define SCALAR_LOOP
        #define UNROLLED_LOOP
        #define TIMED(k, call) do { (void)times; call; } while (0)

        typedef double vd16 __attribute__((vector_size(128)));
        typedef long vl16 __attribute__((vector_size(128)));
        #define vd16_load(p) __extension__({ vd16 v_; memcpy(&v_, (p), sizeof v_); v_; })
        #define vd16_store(p, v) do { const vd16 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
        /// Stores 16 int lanes (argmax offsets) into an int array.
        #define vl16_store(p, v) \\
            do { const vl16 s_ = (v); for (int l_ = 0; l_ < 16; l_++) (p)[l_] = (int)s_[l_]; } while (0)
        #define vd16_select(m, a, b) ((vd16)(((vl16)(a) & (m)) | ((vl16)(b) & ~(m))))
        #define vl16_select(m, a, b) (((a) & (m)) | ((b) & ~(m)))
        #define vd16_relu(v) __extension__({ const vd16 r_ = (v); (vd16)((vl16)r_ & (r_ > (vd16){0})); })
        #define vd16_map(f, v) __extension__({ vd16 m_ = (v); for (int l_ = 0; l_ < 16; l_++) m_[l_] = f(m_[l_]); m_; })


        """
}
