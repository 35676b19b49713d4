/// The Vulkan target's lowering of the kernel plan: every plan kernel becomes one or more GLSL compute shaders
/// (a conv backward, for instance, is the activation gradient, the input gradient and one deterministic reduction
/// per parameter gradient), each with the buffers it binds and how many invocations it runs.

/// A buffer the Vulkan trainer allocates: a storage of the plan (per sample), or one of its own.
struct GLSLStorage: Equatable {
    enum Host: String { case upload, download, device }
    var name: String
    /// Elements per sample (times the batch) plus fixed elements.
    var perSample: Int
    var fixed: Int
    var integer: Bool
    /// `upload`: written by the host before a step (images, labels); `download`: read after it (loss, hits,
    /// probabilities); `device`: never touched by the host during a step.
    var host: Host
    var comment: String
}

/// One binding of a shader: a storage, the name the GLSL gives its array, and how the shader uses it.
struct GLSLBinding {
    enum Access { case read, write, readWrite }
    var storage: String
    var array: String
    var access: Access
    var integer: Bool = false
    var comment: String
    /// The parameter whose elements of the storage the shader touches, for barrier placement (nil: all of it;
    /// `GLSLProgram.spans` turns it into a range).
    var region: String? = nil
    /// Further parameters it touches (batchnorm's sums write two parameters' gradients through one binding).
    var moreRegions: [String] = []
}

/// One compute shader and one dispatch of it.
struct GLSLShader {
    enum Threads: Equatable {
        case perSample(Int)   // pc.n * k invocations
        case fixed(Int)
        /// ceil(pc.n / block) * k invocations: each handles `block` samples.
        case sampleBlocks(block: Int, Int)
    }
    var name: String
    /// Index of the plan kernel it implements.
    var kernel: Int
    var phase: Phase
    var bindings: [GLSLBinding]
    var threads: Threads
    var source: String
    var location: SourceLocation?
    /// Why it launches as many invocations as it does, where that can be fewer than `enoughInvocations`.
    var note: String? = nil
    /// Bytes of shared memory (workgroup memory) it declares.
    var sharedBytes = 0
    /// Invocations splitting each of its sums (its specialization constant LANES; 1: none). Its invocation count
    /// is proportional to it.
    var lanes = 1
}

/// The lowered program: storages and shaders in execution order.
struct GLSLProgram {
    /// Invocations per workgroup (`GPUBudget.localSize`); the generated Network.swift passes it to the trainer's dispatch.
    static let localSize = GPUBudget.standard.localSize

    let plan: KernelPlan
    var storages: [GLSLStorage] = []
    var shaders: [GLSLShader] = []

    init(plan: KernelPlan) throws {
        self.plan = plan
        guard let last = plan.groups.last, last.op == .softmax else {
            throw CompileError("\(plan.network.sourceFile): error: training needs 'softmax' as the last layer (cross-entropy is computed on it)")
        }
        addStorages()
        for (ki, k) in plan.kernels.enumerated() { lower(k, index: ki) }
    }

    /// The plan's storages (aliases and gradient slots once), then the parameter arrays and the hit flags.
    private mutating func addStorages() {
        var at: [String: Int] = [:]  // storage name -> position in `storages`
        for b in plan.buffers {
            let size = b.role == .loss || b.role == .labels ? 1 : b.shape.count
            if let i = at[b.storage] {
                storages[i].perSample = max(storages[i].perSample, size)
                storages[i].comment += ", " + b.name
                continue
            }
            let host: GLSLStorage.Host
            switch b.role {
            case .input, .labels: host = .upload
            case .loss: host = .download
            default: host = b.name == "probs" ? .download : .device
            }
            let comment = b.role == .gradient ? "gradient slot: \(b.name)" : "\(GLSLText.nhwc(b.shape)): \(b.name)"
            at[b.storage] = storages.count
            if b.role == .statistics {  // one per channel for the whole batch
                storages.append(GLSLStorage(name: b.storage, perSample: 0, fixed: size, integer: false, host: .device,
                                            comment: "(\(size)): \(b.name), per channel for the whole batch"))
                continue
            }
            storages.append(GLSLStorage(name: b.storage, perSample: size, fixed: 0, integer: b.isInteger, host: host, comment: comment))
        }
        storages.append(GLSLStorage(name: "hits", perSample: 1, fixed: 0, integer: true, host: .download,
                                    comment: "(N): 1 where the arg max of the logits is the label"))
        if plan.groups.contains(where: { if case .dropout = $0.op { return true } else { return false } }) {
            storages.append(GLSLStorage(name: Self.stepKeyStorage, perSample: 0, fixed: 2, integer: true, host: .upload,
                                        comment: "dropout's mask key: the seed and the training steps taken"))
        }
        storages.append(GLSLStorage(name: Self.optimizerStorage, perSample: 0, fixed: StepValue.optimizerValues.count,
                                    integer: false, host: .upload, comment: "the optimizer's values for this step"))
        let what = ["params": "every parameter and buffer", "grads": "every parameter's gradient",
                    "moment1": "every trainable parameter's first optimizer state (sgd's velocity, adam's exp_avg)",
                    "moment2": "every trainable parameter's second optimizer state (adam's exp_avg_sq)"]
        for name in ["params", "grads", "moment1", "moment2"] {
            let count = name.hasPrefix("moment") ? plan.trainableCount : plan.parameterCount
            storages.append(GLSLStorage(name: name, perSample: 0, fixed: count, integer: false, host: .device,
                                        comment: what[name]! + ", offsets as in the plan"))
        }
    }

    func storage(_ buffer: String) -> String { plan.buffer(buffer)?.storage ?? buffer }
    func shape(_ buffer: String) -> Shape { plan.buffer(buffer)!.shape }
    func offset(_ p: Parameter) -> Int { plan.parameterOffsets[p.name]! }

    /// A binding of plan buffer `buffer` (by its storage).
    func bind(_ buffer: String, as array: String, _ access: GLSLBinding.Access) -> GLSLBinding {
        let b = plan.buffer(buffer)!
        return GLSLBinding(storage: b.storage, array: array, access: access, integer: b.isInteger,
                           comment: "\(buffer): \(GLSLText.nhwc(b.shape))")
    }

    func params(_ group: FusedGroup) -> GLSLBinding {
        GLSLBinding(storage: "params", array: "params", access: .read,
                    comment: group.parameters.map { "\($0.name) at \(offset($0))" }.joined(separator: ", "))
    }

    private mutating func lower(_ k: Kernel, index ki: Int) {
        // The loss stores the softmax (Lowering.softmaxInLoss): the softmax layer has no pass of its own.
        if k.phase == .forward, let gi = k.group, plan.groups[gi].op == .softmax,
           Lowering.softmaxInLoss(.invocationGrid) {
            return
        }
        if let lowered = Lowering.lower(plan, kernel: ki, for: .invocationGrid) {
            append(lowered)
            return
        }
        guard let gi = k.group else {
            switch k.phase {
            case .update: shaders += updateShaders(ki)
            default: break
            }
            return
        }
        let g = plan.groups[gi]
        switch (k.phase, g.op) {
        case let (.forward, .conv(f, w)): shaders.append(convForward(k, ki, g, filters: f, window: w))
        case let (.backward, .conv(f, w)): convBackward(k, ki, g, filters: f, window: w)
        case let (.forward, .dense(u)): shaders.append(denseForward(k, ki, g, units: u))
        case let (.backward, .dense(u)): denseBackward(k, ki, g, units: u)
        default: break
        }
    }

    // MARK: the shader text

    /// A complete shader: the provenance header, bindings, constants, and `main` with the invocation index `t`
    /// bounds-checked against the dispatch size. `body` writes the statements of `main` after that check. A shader
    /// with shared memory (`sharedFloats`) has barriers that every invocation of a workgroup must reach: instead
    /// of returning past the dispatch size, its invocations there see `inRange` false.
    func shader(_ name: String, kernel ki: Int, group: FusedGroup?, what: [String], bindings: [GLSLBinding],
                constants: [(name: String, value: Int, comment: String)] = [], threads: GLSLShader.Threads,
                note: String? = nil, sharedFloats: Int = 0, lanes: Int = 1,
                body: (inout CodeWriter) -> Void) -> GLSLShader {
        let k = plan.kernels[ki]
        var c = CodeWriter()
        c.line("#version 450")
        c.line("// Generated by cnnc from \(GLSLText.basename(plan.network.sourceFile)); do not edit.")
        var title = "// \(name): kernel \(k.name)"
        if let g = group {
            let layers = g.layers.map { plan.network.layers[$0].name }.joined(separator: " + ")
            title += ", \(PlanPrinter.describe(g))  [\(layers); \(GLSLText.basename(g.location.file)):\(g.location.line)]"
        }
        c.line(title)
        what.forEach { c.line("// " + $0) }
        c.line("// Activations are NHWC (N = the batch, pc.n), conv weights [kh][kw][c][oc], dense weights [in][out].")
        c.line()
        c.line("layout(local_size_x = \(Self.localSize)) in;")
        c.line("layout(push_constant) uniform Push { int n; int train; } pc;  // n: samples in this batch")
        for (i, b) in bindings.enumerated() {
            let access = b.access == .read ? "readonly " : b.access == .write ? "writeonly " : ""
            let type = b.integer ? "int" : "float"
            c.line("layout(std430, binding = \(i)) \(access)buffer B\(i) { \(type) \(b.array)[]; };  // \(b.comment)")
        }
        for k in constants { c.line("const int \(k.name) = \(k.value);  // \(k.comment)") }
        if lanes > 1 {
            c.line("// Invocations splitting each sum: a specialization constant, which the trainer sets to 1 on a CPU")
            c.line("// device (where the tree's barriers cost more than the parallelism gains).")
            c.line("layout(constant_id = 0) const int LANES = \(lanes);")
        }
        if sharedFloats > 0 {
            c.line("shared float part[\(sharedFloats)];  "
                   + "// [value][invocation]: the lanes' sums, added in a fixed tree")
        }
        c.line()
        c.block("void main()") { c in
            c.line("int t = int(gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x);")
            // With lanes, the count is proportional to LANES (the trainer may specialize it).
            func k(_ n: Int) -> String { lanes > 1 ? "\(n / lanes) * LANES" : "\(n)" }
            let count: String
            switch threads {
            case .perSample(let n): count = "pc.n * \(k(n))"
            case .fixed(let n): count = k(n)
            case let .sampleBlocks(block, n): count = "(pc.n + \(block - 1)) / \(block) * \(k(n))"
            }
            c.line(sharedFloats > 0 ? "bool inRange = t < \(count);" : "if (t >= \(count)) return;")
            body(&c)
        }
        return GLSLShader(name: name, kernel: ki, phase: k.phase, bindings: bindings, threads: threads,
                          source: LineWrap.wrap(c.text),
                          location: group?.location ?? k.location, note: note, sharedBytes: 4 * sharedFloats,
                          lanes: lanes)
    }

    // MARK: deterministic reductions

    /// A parameter gradient as a sum over the batch, in one pass: `lanes` invocations of one workgroup per block of
    /// elements b, lane l summing rows [l * R / lanes, (l + 1) * R / lanes) of the R rows in order, then the lanes'
    /// sums added in a fixed tree in shared memory (split-K: the same order on every run, no atomics, no second
    /// shader). A row is one sample (rowsPerSample 1) or one output row of a sample. `element` declares the block's
    /// coordinates from `b` (in 0..<blocks) and its accumulators; `row` adds one row (with `n`, `r` in scope). The
    /// block's `perBlock` sums: sum `e` is `value(e)` (an accumulator) and goes to element `index(e)` of the
    /// gradient (e an int expression).
    mutating func reduction(_ name: String, kernel ki: Int, group g: FusedGroup, parameter p: Parameter, what: String,
                            bindings: [GLSLBinding], rowsPerSample: Int, blocks: Int? = nil, perBlock: Int = 1,
                            element: [String], row: (inout CodeWriter) -> Void,
                            index: @escaping (String) -> String = { _ in "b" },
                            value: @escaping (String) -> String = { _ in "acc" }) {
        let e = p.count
        let blocks = blocks ?? e
        let lanes = Schedule.reductionChunks(blocks: blocks)
        var binds = bindings
        binds.append(GLSLBinding(storage: "grads", array: "grads", access: .write, comment: "\(p.name) at \(offset(p))",
                                 region: p.name))
        let rows = rowsPerSample == 1 ? "pc.n" : "pc.n * \(rowsPerSample)"
        let elements = blocks == e ? "element" : "block of \(e / blocks) elements"
        let at = offset(p)
        shaders.append(shader(name, kernel: ki, group: g, what: [
            what,
            lanes == 1 ? "One invocation per \(elements); it sums over the batch in order."
                : "\(lanes) invocations per \(elements) b: lane l sums rows "
                + "[l * R / \(lanes), (l + 1) * R / \(lanes)) of the R = \(rows) rows, "
                + "then the lanes' sums are added in a fixed tree (deterministic).",
        ], bindings: binds, threads: .fixed(blocks * lanes),
        note: lanes == Self.localSize
            ? "\(blocks) sums (\(e) gradient elements, \(e / blocks) per sum) x \(lanes) lanes splitting the batch, "
                + "a workgroup's most"
            : nil,
        sharedFloats: lanes > 1 ? perBlock * Self.localSize : 0, lanes: lanes) { c in
            if lanes > 1 {
                c.line("// Every invocation reaches each barrier: one past the dispatch size only sums nothing.")
            }
            let L = lanes > 1 ? "LANES" : "1"
            c.line("int b = t / \(L);")
            c.line("int lane = t % \(L);")
            c.line("bool live = \(lanes > 1 ? "inRange && " : "")b < \(blocks);")
            if lanes > 1 { c.line("int li = int(gl_LocalInvocationID.x);") }
            element.forEach { c.line($0) }
            c.line("int rows = live ? \(rows) : 0;")
            c.block("for (int r = lane * rows / \(L); r < (lane + 1) * rows / \(L); r++)") { c in
                c.line(rowsPerSample == 1 ? "int n = r;" : "int n = r / \(rowsPerSample);")
                row(&c)
            }
            guard lanes > 1 else {
                c.line("if (live) for (int e = 0; e < \(perBlock); e++) grads[\(at) + \(index("e"))] = \(value("e"));")
                return
            }
            let li = "li"
            c.line("for (int e = 0; e < \(perBlock); e++) part[e * \(Self.localSize) + \(li)] = \(value("e"));")
            Self.laneTree(&c, values: perBlock)
            c.line("if (live && lane == 0) for (int e = 0; e < \(perBlock); e++) "
                   + "grads[\(at) + \(index("e"))] = part[e * \(Self.localSize) + \(li)];")
        })
    }
}

extension GLSLProgram {
    /// Adds the `values` sums of each run of LANES consecutive invocations (stored at part[e * localSize + li])
    /// in a fixed tree: halves, quarters, ... down to lane 0, which holds the totals. Every invocation of the
    /// workgroup must run it (barriers).
    static func laneTree(_ c: inout CodeWriter, values: Int) {
        c.block("for (int s = LANES / 2; s > 0; s /= 2)") { c in
            c.line("barrier();")
            c.line("if (lane < s) for (int e = 0; e < \(values); e++) part[e * \(localSize) + li] += "
                   + "part[e * \(localSize) + li + s];")
        }
    }
}

/// Small text helpers of the GLSL printer.
enum GLSLText {
    /// A path's last component as comment text (`Spelling.comment`): the generated code names no user path.
    static func basename(_ path: String) -> String { Spelling.fileName(path) }
    static func nhwc(_ s: Shape) -> String { s.flat ? "(N,\(s.count))" : "(N,\(s.h),\(s.w),\(s.c))" }
    /// The GLSL type of `n` floats.
    static func vec(_ n: Int) -> String { n == 1 ? "float" : "vec\(n)" }
    /// Component k of a value of `n` floats.
    static func comp(_ v: String, _ k: Int, _ n: Int) -> String { n == 1 ? v : "\(v)[\(k)]" }
    /// `n` floats of `array` from `index`, `stride` apart, as one value of type vec(n).
    static func load(_ array: String, _ index: String, _ n: Int, stride: String = "1") -> String {
        guard n > 1 else { return "\(array)[\(index)]" }
        let step = stride == "1" ? "" : " * \(stride)"
        return "vec\(n)(" + (0..<n).map { $0 == 0 ? "\(array)[\(index)]" : "\(array)[\(index) + \($0)\(step)]" }.joined(separator: ", ") + ")"
    }
    /// Flat NHWC offset of (n, y, x, c) in a tensor of shape s, in GLSL int arithmetic.
    static func nhwc(_ n: String, _ y: String, _ x: String, _ c: String, _ s: Shape) -> String {
        Index.nhwc(n, y, x, c, s, in: .glsl)
    }
}
