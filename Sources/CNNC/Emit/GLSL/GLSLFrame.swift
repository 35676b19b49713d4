/// The GLSL spelling of a lowered kernel: one compute shader whose invocation `t` is one item of one sample (the
/// grid's coordinates split from `t`, the sample outermost); buffers bound by storage, parameters read from the
/// flat `params` binding at their offsets.
extension GLSLProgram {
    func shader(_ k: LoweredKernel) -> GLSLShader {
        var bindings: [GLSLBinding] = []
        var offsets: [String: Int] = [:]  // array name -> offset into params or grads
        for a in k.arrays {
            switch a.source {
            case .buffer(let name):
                let access: GLSLBinding.Access = a.access == .read ? .read : a.access == .write ? .write : .readWrite
                bindings.append(bind(name, as: a.name, access))
            case .parameter(let name):
                // One binding for every parameter (and buffer) the kernel touches: batchnorm's statistics kernel
                // writes its running statistics there.
                offsets[a.name] = plan.parameterOffsets[name]!
                if !bindings.contains(where: { $0.storage == "params" }) {
                    bindings.append(GLSLBinding(storage: "params", array: "params", access: .read, comment: "parameters"))
                }
                let i = bindings.firstIndex { $0.storage == "params" }!
                bindings[i].comment += ", \(name) at \(offsets[a.name]!)"
                if a.access != .read { bindings[i].access = .readWrite }
            case .parameterGradient(let name):
                offsets[a.name] = plan.parameterOffsets[name]!
                if let i = bindings.firstIndex(where: { $0.storage == "grads" }) {
                    // A second gradient in one kernel: one binding, both parts of `grads` for the barriers.
                    bindings[i].comment += ", \(name) gradient at \(offsets[a.name]!)"
                    bindings[i].moreRegions.append(name)
                    continue
                }
                bindings.append(GLSLBinding(storage: "grads", array: "grads", access: .readWrite,
                                            comment: "\(name) gradient at \(offsets[a.name]!)", region: name))
            case .hostOutput(let name):
                bindings.append(GLSLBinding(storage: name, array: a.name, access: .write, integer: a.type == .int,
                                            comment: "\(name): \(a.comment)"))
            }
        }
        if k.stepValues.contains(where: { Self.stepKey.keys.contains($0) }) {
            bindings.append(GLSLBinding(storage: Self.stepKeyStorage, array: Self.stepKeyStorage, access: .read,
                                        integer: true, comment: "the masks' key: seed, training steps taken"))
        }
        let group = k.group.map { plan.groups[$0] }
        let items = k.grid.items.map(\.name).joined(separator: ", ")
        let invocations = k.overBatch ? "One invocation per \(items), each over the whole batch in order."
            : "One invocation per " + (k.grid.items.isEmpty ? "sample." : "item (n, \(items)).")
        let what = k.summary.dropFirst() + [k.arrays.map { "\($0.name) is \($0.comment)" }.joined(separator: ", "),
                                            invocations]
        let note = k.overBatch
            ? "one invocation per \(items) (\(k.grid.count)), each summing over the batch in a fixed order"
            : k.grid.items.isEmpty ? "one invocation per sample: it runs along the sample's values in order"
            : "one invocation per element (n, \(items)): all the independent work it has"
        return shader(k.name, kernel: k.kernel, group: group, what: Array(what), bindings: bindings,
                      threads: k.overBatch ? .fixed(k.grid.count) : .perSample(k.grid.count), note: note) { c in
            var inner = 1
            for item in k.grid.items.reversed() {
                c.line("int \(item.name) = \(inner == 1 ? "t" : "t / \(inner)") % \(item.count);")
                inner *= item.count
            }
            if !k.overBatch { c.line("int n = \(inner == 1 ? "t" : "t / \(inner)");") }
            for v in k.stepValues { c.line("\(lang.type(v.type)) \(v.rawValue) = \(Self.pushConstant(v));") }
            KernelPrinter(lang: lang) { array, index in
                guard let at = offsets[array] else { return "\(array)[\(index)]" }
                let storage = k.arrays.first { $0.name == array }!.source
                if case .parameterGradient = storage { return "grads[\(at) + \(index)]" }
                return "params[\(at) + \(index)]"
            }.print(k.body, into: &c)
        }
    }

    /// The push constant that carries a value of the step; the masks' key and the optimizer's values, which change
    /// every step while a recorded command buffer (and its push constants) is replayed, are in small buffers the
    /// host writes instead.
    static func pushConstant(_ v: StepValue) -> String {
        switch v {
        case .batch: return "pc.n"
        case .training: return "pc.train"
        case .lr, .mu, .wd, .keep, .beta1, .beta2, .eps, .stepSize, .bias2Sqrt:
            return "\(optimizerStorage)[\(StepValue.optimizerValues.firstIndex(of: v)!)]"
        case .seed, .trainStep: return "uint(\(stepKeyStorage)[\(stepKey[v]!)])"
        }
    }

    /// The storage of the optimizer's values (`float[9]`, in `StepValue.optimizerValues` order), uploaded before
    /// a step that updates: a buffer rather than push constants, so that a recorded command buffer serves every
    /// step of a schedule.
    static let optimizerStorage = "optimizer"

    /// The storage of the masks' key (`int[2]`, uploaded before every step) and each value's place in it.
    static let stepKeyStorage = "stepkey"
    static let stepKey: [StepValue: Int] = [.seed: 0, .trainStep: 1]

    /// A reduction kernel: the deterministic chunked sum of `GLSLProgram.reduction`, with the lowered body adding
    /// one row to `acc`.
    mutating func reductionShaders(_ k: LoweredKernel) {
        let r = k.reduction!
        let group = plan.groups[k.group!]
        let parameter = plan.parameters.first { $0.name == r.parameter }!
        let bindings = k.arrays.map { a -> GLSLBinding in
            guard case .buffer(let name) = a.source else { preconditionFailure("a reduction reads plan buffers") }
            return bind(name, as: a.name, .read)
        }
        reduction(k.name, kernel: k.kernel, group: group, parameter: parameter, what: r.what, bindings: bindings,
                  rowsPerSample: r.rowsPerSample, element: ["float acc = 0.0;"]) { [lang] c in
            if r.rowsPerSample > 1 { c.line("int row = r % \(r.rowsPerSample);") }
            KernelPrinter(lang: lang) { "\($0)[\($1)]" }.print(k.body, into: &c)
        }
    }

    /// Every kernel a lowering produced, in order.
    mutating func append(_ kernels: [LoweredKernel]) {
        for k in kernels {
            if k.reduction != nil { reductionShaders(k) } else { shaders.append(shader(k)) }
        }
    }
}
