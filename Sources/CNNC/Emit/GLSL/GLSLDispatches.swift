/// The dispatches of one Vulkan training step, decided here and not by the trainer: what each shader touches (a
/// storage, or a range of elements of it), the dependency level it runs at (its phase: shaders of one level run
/// between the same two barriers), and how many invocations and workgroups it launches at a batch size. The trainer
/// records the shaders in level order and places a barrier where a shader touches a range an earlier one of the same
/// phase wrote (or writes one it read), so the levels here are the phases it runs; `cnnc plan --target vulkan` lists
/// them.

/// Part of a storage a shader reads or writes: elements [start, end) of it (`end` nil: to its end).
struct GLSLSpan: Equatable {
    var storage: String
    var start = 0
    var end: Int? = nil

    func overlaps(_ other: GLSLSpan) -> Bool {
        storage == other.storage && start < (other.end ?? Int.max) && other.start < (end ?? Int.max)
    }
}

/// One dispatch of a training step at a batch size.
struct GLSLDispatch {
    /// Index into `GLSLProgram.shaders`.
    var shader: Int
    /// The phase it runs in: 0, 1, ... (a barrier separates consecutive ones).
    var level: Int
    var invocations: Int
    /// Workgroups of `GLSLProgram.localSize`, and the grid the trainer dispatches them as (x at most 65535).
    var workgroups: Int
    var grid: (x: Int, y: Int)
}

extension GLSLProgram {
    /// Invocations a dispatch should have in flight to fill a large GPU (100+ compute units x a few hundred
    /// resident invocations each); a dispatch with fewer states why (`GLSLShader.note`). The schedule's
    /// reduction target: the number reductions and split-K sums are split for.
    static let enoughInvocations = GPUBudget.standard.reductionTarget

    /// The element ranges a binding touches: the whole storage, or the parameters its regions name.
    func spans(_ b: GLSLBinding) -> [GLSLSpan] {
        guard let first = b.region else { return [GLSLSpan(storage: b.storage)] }
        return ([first] + b.moreRegions).map { name in
            let p = plan.parameters.first { $0.name == name }!
            return GLSLSpan(storage: b.storage, start: offset(p), end: offset(p) + p.count)
        }
    }

    func reads(_ s: GLSLShader) -> [GLSLSpan] { s.bindings.filter { $0.access != .write }.flatMap(spans) }
    func writes(_ s: GLSLShader) -> [GLSLSpan] { s.bindings.filter { $0.access != .read }.flatMap(spans) }

    /// Whether `later` must wait for `earlier`: it reads what `earlier` writes, or writes what `earlier` reads or
    /// writes.
    func depends(_ later: GLSLShader, on earlier: GLSLShader) -> Bool {
        let (r, w) = (reads(later), writes(later))
        let (er, ew) = (reads(earlier), writes(earlier))
        return r.contains { a in ew.contains { a.overlaps($0) } }
            || w.contains { a in (ew + er).contains { a.overlaps($0) } }
    }

    /// The shaders of a training step in program order: the optimizer's update first (the trainer runs the
    /// previous step's update at the start of the next submission), then the forward pass, the loss and the
    /// backward pass.
    var stepOrder: [Int] {
        let update = shaders.indices.filter { shaders[$0].phase == .update }
        return update + shaders.indices.filter { shaders[$0].phase != .update }
    }

    /// Each shader's dependency level in a training step: 0 for one that waits for nothing, else one more than the
    /// deepest earlier shader it depends on. The update shaders are alternatives (one runs per step), so none waits
    /// for another.
    func levels() -> [Int] {
        var level = [Int](repeating: 0, count: shaders.count)
        let order = stepOrder
        for (position, i) in order.enumerated() {
            for j in order.prefix(position) where depends(shaders[i], on: shaders[j]) {
                if shaders[i].phase == .update && shaders[j].phase == .update { continue }
                level[i] = max(level[i], level[j] + 1)
            }
        }
        return level
    }

    /// Invocations of shader `s` at `batch` samples (the trainer's count: `perSample * ceil(n / sampleBlock) + fixed`).
    static func invocations(_ s: GLSLShader, batch: Int) -> Int {
        switch s.threads {
        case .perSample(let k): return batch * k
        case .fixed(let k): return k
        case let .sampleBlocks(block, k): return (batch + block - 1) / block * k
        }
    }

    /// The dispatches of one training step that updates with `optimizer`'s shader, in the order the trainer records
    /// them: by level, then program order.
    func dispatches(batch: Int, optimizer: String = "sgd_update") -> [GLSLDispatch] {
        let level = levels()
        let used = stepOrder.filter { shaders[$0].phase != .update || shaders[$0].name == optimizer }
        return used.sorted { (level[$0], $0) < (level[$1], $1) }.map { i in
            let n = Self.invocations(shaders[i], batch: batch)
            let groups = (n + Self.localSize - 1) / Self.localSize
            let x = min(groups, 65535)
            return GLSLDispatch(shader: i, level: level[i], invocations: n, workgroups: groups,
                                grid: (x, x == 0 ? 0 : (groups + x - 1) / x))
        }
    }
}
