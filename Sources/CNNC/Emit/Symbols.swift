/// The identifiers of generated code. Every name derived from a user's layer name (kernels `conv1_forward`, buffers
/// `conv1_out` and `d_conv1_out`, shaders `conv1_backward_dw` and their files, Swift members `buffers.conv1_out`)
/// is its fused group's name plus a fixed prefix or suffix. `Symbols.assign` gives every group a base name that is
/// an identifier in C, GLSL and Swift (`Spelling.identifier`) and whose derived names are all unique, clear of
/// the keywords of the three languages and of the fixed names of the generated code (`net_*`, `input`, `probs`,
/// `vf16_*`, libc's functions, ...). Clashes resolve deterministically, in source order, with a `_2`, `_3`, ...
/// suffix, so readable names stay as they are: a base changes only when the user's name is not an identifier
/// everywhere, or collides.
///
/// It runs between fusion and planning, so the plan, the emitters and `cnnc plan` all see the same names.
/// Names compare case-insensitively: the C header spells buffers in upper case (`NET_SIZE_CONV1_OUT`) and shader
/// files may land on a case-insensitive file system. Checkpoint tensor names (`a-b.weight`) stay the user's.
public enum Symbols {
    /// Suffixes appended to a group's base (Planner: kernels and buffers; CEmitter: transposed weights and the
    /// batch-wide dense stages; GLSLProgram: shaders and their reductions).
    static let suffixes = ["", "_forward", "_backward", "_xent", "_out", "_argmax", "_wt", "_wgrad", "_din",
                           "_backward_dz", "_backward_dx", "_backward_dw", "_backward_dw_sum", "_backward_db", "_backward_db_sum",
                           "_statistics", "_stats", "_backward_sums"]
    /// Prefixes put before a derived name: input gradients (`d_conv1_out`) and the partial sums of a reduction.
    static let prefixes = ["", "d_", "partials_"]

    /// Every name derived from base `b` for a group with `biases` bias parameters and `inputs` input tensors (each
    /// may get a gradient term `_dtermI` and its sum kernel `_backward_sumI`, Planner).
    static func derived(_ b: String, biases: Int, inputs: Int = 1) -> [String] {
        let numbered = (0..<max(1, biases)).flatMap { ["_backward_db\($0)", "_backward_db\($0)_sum"] }
            + (0..<max(1, inputs)).flatMap { ["_dterm\($0)", "_backward_sum\($0)"] }
        return prefixes.flatMap { p in (suffixes + numbered).map { p + b + $0 } }
    }

    /// The groups with their names replaced by their identifier bases, in order.
    /// Throws if a layer or parameter name is not plain comment text (the grammar rules that out; a syntax tree
    /// built by hand could not), since those reach comments of the generated code as they are.
    public static func assign(_ groups: [FusedGroup], network: Network) throws -> [FusedGroup] {
        for name in network.layers.map(\.name) + network.parameters.map(\.name) where Spelling.comment(name) != name {
            throw CompileError("\(network.sourceFile): error: layer or parameter name \(Spelling.swiftString(name)) "
                               + "is not an identifier")
        }
        var table = SymbolTable()
        return groups.map { g in
            var g = g
            g.name = table.claim(g.name, biases: g.biases.count, inputs: g.inputs.count)
            return g
        }
    }

    /// The Swift module (and library product) of a generated package, which apps `import`: the network's name as
    /// an identifier (`Spelling.identifier`: `mnist-002` -> `mnist_002`), with `_net` appended when that is a
    /// reserved word or, compared case-insensitively, the name of another module of the package or of the system
    /// (`train`, `Kernels`, `Foundation`, ...) or of a public type of the library (a module that exports a type of
    /// its own name cannot be qualified).
    public static func moduleName(_ network: String) -> String {
        let base = Spelling.identifier(network)
        let lower = base.lowercased()
        return Reserved.isReserved(base) || moduleNamesTaken.contains(lower) ? base + "_net" : base
    }

    /// Module names a generated package's library must not take (lower case): the package's other targets (CMPI:
    /// a `--distributed mpi` package's), the modules its code imports or that every Swift toolchain has, and the
    /// library's public types.
    static let moduleNamesTaken: Set<String> = [
        "train", "predict", "kernels", "czlib", "cpng", "cvulkan", "cmpi",
        "swift", "foundation", "foundationessentials", "foundationinternationalization", "corefoundation", "dispatch",
        "glibc", "darwin", "musl", "android", "wasilibc", "ucrt", "crt", "winsdk", "swiftglibc", "swiftshims",
        "_concurrency", "_stringprocessing", "packagedescription", "xctest", "testing",
        "model", "runtimeerror",
    ]
}

/// The names handed out so far, upper-cased, and the rule that says whether a new base may have its names.
struct SymbolTable {
    private var taken = Set<String>()

    /// A base for user name `name`: its identifier spelling, or that with `_2`, `_3`, ... until neither it nor
    /// any name derived from it is reserved or already handed out. Claims all of them.
    mutating func claim(_ name: String, biases: Int, inputs: Int = 1) -> String {
        var base = Spelling.identifier(name)
        // A numbered suffix cannot free a base with a reserved prefix (NET_SIZE_2 and net_2 start with net_; every
        // reserved prefix ends in `_`). Without one, `base_N` is free for some N: the reserved words are finite.
        if Reserved.prefixes.contains(where: { (base + "_").lowercased().hasPrefix($0) }) { base = "layer_" + base }
        var candidate = base
        var n = 2
        while !isFree(candidate, biases: biases, inputs: inputs) {
            candidate = "\(base)_\(n)"
            n += 1
        }
        for d in Symbols.derived(candidate, biases: biases, inputs: inputs) { taken.insert(d.uppercased()) }
        return candidate
    }

    private func isFree(_ base: String, biases: Int, inputs: Int) -> Bool {
        Symbols.derived(base, biases: biases, inputs: inputs).allSatisfy { d in
            let key = d.uppercased()
            return !taken.contains(key) && !Reserved.isReserved(d)
        }
    }
}

/// Words no generated identifier may be: keywords of C, GLSL and Swift, and the fixed names of the generated
/// code and of the libraries it calls.
enum Reserved {
    static func isReserved(_ name: String) -> Bool {
        let lower = name.lowercased()
        if words.contains(lower) || prefixes.contains(where: { lower.hasPrefix($0) }) || lower.contains("__") { return true }
        return isTypeOrSlot(lower)
    }

    /// GLSL's vector, matrix, sampler and image types (vec3, dmat2x3, isampler2darray, ...) and the gradient slots
    /// grad0, grad1, ... (A regex literal here was parsed again on every call: naming 20,000 layers took minutes.)
    static func isTypeOrSlot(_ lower: String) -> Bool {
        if lower.hasPrefix("grad") && lower.count > 4 && lower.dropFirst(4).allSatisfy({ $0 >= "0" && $0 <= "9" }) {
            return true
        }
        return typeNames.contains(lower)
    }

    /// Every GLSL type name of those families (a few hundred): each pattern is a sequence of parts, each part a
    /// list of choices, an empty choice making the part optional.
    static let typeNames: Set<String> = {
        let patterns: [[[String]]] = [
            [["", "b", "i", "u", "d"], ["vec"], ["2", "3", "4"]],
            [["", "d"], ["mat"], ["2", "3", "4"], ["", "x2", "x3", "x4"]],
            [["", "i", "u"], ["sampler", "image", "texture"], ["1d", "2d", "3d", "cube", "2drect", "buffer", "2dms"],
             ["", "array"], ["", "shadow"]],
        ]
        return Set(patterns.flatMap { parts in
            parts.reduce([""]) { prefixes, part in prefixes.flatMap { p in part.map { p + $0 } } }
        })
    }()

    /// Prefixes of generated helpers (`net_forward`, `NET_SIZE_*`, `vf16_load`) and of GLSL built-ins.
    static let prefixes = ["net_", "vf16_", "vi16_", "gl_"]

    /// Lower case; the check lower-cases too, so `Int`, `INPUT` and `Self` are covered.
    static let words: Set<String> = [
        // C (C11 and C23), preprocessor words, and what the kernels' prelude and libc/libm give names to
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
        "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
        "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
        "alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert", "thread_local", "true",
        "typeof", "typeof_unqual", "define", "undef", "include", "ifdef", "ifndef", "elif", "endif", "pragma", "error",
        "line", "defined", "null", "size_t", "memcpy", "memset", "expf", "logf", "tanhf", "fmaxf", "fabsf",
        "nearbyintf", "sqrtf", "exp", "log", "tanh", "max", "min", "abs", "clock_gettime", "timespec", "main",
        "timed", "scalar_loop", "unrolled_loop", "net", "vf16", "vi16",
        // GLSL 4.50 keywords and reserved words (beyond C's)
        "attribute", "uniform", "varying", "buffer", "shared", "coherent", "readonly", "writeonly", "layout",
        "centroid", "flat", "smooth", "noperspective", "patch", "sample", "subroutine", "in", "out", "inout",
        "invariant", "precise", "discard", "lowp", "mediump", "highp", "precision", "uint", "atomic_uint", "struct",
        "common", "partition", "active", "asm", "class", "template", "this", "resource", "noinline", "public",
        "external", "interface", "half", "fixed", "superp", "input", "output", "hvec2", "hvec3", "hvec4", "fvec2",
        "fvec3", "fvec4", "filter", "sizeof", "cast", "namespace", "using", "mat2", "mat3", "mat4",
        // Swift keywords and the names the generated Swift and its runtime use
        "associatedtype", "actor", "borrowing", "consuming", "deinit", "extension", "fileprivate", "func", "import",
        "init", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "rethrows",
        "subscript", "typealias", "var", "defer", "fallthrough", "guard", "repeat", "where", "any", "as", "await",
        "catch", "is", "nil", "self", "super", "throw", "throws", "try", "async", "some", "type", "package",
        "_", "network", "netinfo", "program",
        // fixed names of the plan and its storages, kernels and shaders
        "x", "labels", "probs", "loss", "hits", "params", "grads", "momentum", "partials", "d_x", "d_input",
        "input_scale", "update", "sgd_update", "adam_update", "moment1", "moment2", "optimizer", "xent", "kernel_names", "kernel_macs", "b", "t", "n", "n0", "n1", "pc", "push",
    ]
}
