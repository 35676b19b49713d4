/// The Vulkan target's scheduling rules: how many outputs one invocation computes, how many chunks a sum (a
/// parameter-gradient reduction, a split-K dense layer) splits into, and where the activation's gradient is applied.
extension Schedule {
    public static func gpu(_ plan: KernelPlan, budget b: GPUBudget = .standard) -> GPUSchedule {
        GPUSchedule(budget: b, groups: plan.groups.map { gpu($0, budget: b) })
    }

    public static func gpu(_ g: FusedGroup, budget b: GPUBudget = .standard) -> GPUGroupSchedule {
        switch g.op {
        case let .conv(oc, w): return .conv(gpuConv(g, filters: oc, window: w, b))
        case let .dense(units): return .dense(gpuDense(g, units: units, b))
        default: return .fixed
        }
    }

    /// A vector of filters x a few columns per forward invocation, a vector of channels x a few columns per
    /// input-gradient invocation, a vector of channels x a vector of filters per weight-gradient block.
    public static func gpuConv(_ g: FusedGroup, filters oc: Int, window w: Window,
                               _ b: GPUBudget = .standard) -> GPUConvSchedule {
        let i = g.input, o = g.output
        let (cb, ob) = (vector(i.c, b), vector(oc, b))
        let taps = w.kernel.y * w.kernel.x
        return GPUConvSchedule(
            forward: GPUTile(columns: columns(o.w, b), channels: ob),
            inputGradient: GPUTile(columns: columns(i.w, b), channels: cb),
            weightGradient: reductionBlock(inputs: cb, outputs: ob, elements: taps * i.c * oc, b))
    }

    /// A block of samples x a vector of outputs (or inputs) per invocation; a vector of inputs x a vector of
    /// outputs per weight-gradient block.
    public static func gpuDense(_ g: FusedGroup, units: Int, _ b: GPUBudget = .standard) -> GPUDenseSchedule {
        let n = g.input.count
        let (ib, ob) = (vector(n, b), vector(units, b))
        return GPUDenseSchedule(
            samples: b.denseSamples, outputs: ob, inputs: ib,
            weightGradient: reductionBlock(inputs: ib, outputs: ob, elements: n * units, b))
    }

    /// A weight gradient's blocks: `inputs` x `outputs` elements (vectors of each), as large on every device. A
    /// smaller block spreads a small gradient over more invocations, which only pays where the lanes of a workgroup
    /// split each sum (a GPU); a CPU device runs one lane per sum (LANES = 1), where a block of 1 x 1 loads two
    /// values per multiply-add instead of 2 per 4 (mnist002 on lavapipe: conv1's weight gradient 33-38 -> 25-29
    /// ms/step, conv2's 104-109 -> 77-78 with vector blocks).
    static func reductionBlock(inputs: Int, outputs: Int, elements: Int, _ b: GPUBudget) -> GPUReductionBlock {
        GPUReductionBlock(inputs: inputs, outputs: outputs,
                          chunks: reductionChunks(blocks: elements / (inputs * outputs), b))
    }

    /// Columns per conv invocation along a row of `width`: the most in `columns` that divides the width (no idle
    /// tail), else the fewest (or the whole row when it is narrower).
    static func columns(_ width: Int, _ b: GPUBudget) -> Int {
        b.columns.reversed().first { width % $0 == 0 } ?? min(b.columns.lowerBound, width)
    }

    /// Values per invocation along a dimension of `n`: the largest power of two up to `maxVector` dividing it.
    static func vector(_ n: Int, _ b: GPUBudget) -> Int {
        stride(from: b.maxVector, through: 1, by: -1).first { n % $0 == 0 && $0 & ($0 - 1) == 0 }!
    }

    /// Chunks a reduction over `blocks` blocks splits each sum of `terms` terms into (the batch's rows, or a dense
    /// layer's inputs for split-K), one lane of a workgroup each (their sums added in a fixed tree): the fewest, a
    /// power of two, for at least `reductionTarget` invocations in all, at most `maxChunks` (a workgroup) and at
    /// most the terms.
    public static func reductionChunks(blocks: Int, terms: Int = .max, _ b: GPUBudget = .standard) -> Int {
        var lanes = 1
        while lanes < b.maxChunks && lanes * 2 <= terms && blocks * lanes < b.reductionTarget { lanes *= 2 }
        return lanes
    }

    /// Whether the backward shaders of a conv or dense group apply its activation's gradient as they load dz
    /// (dz = dy * act'(y): they read dy and the saved output), so that no pass writes dz first: where nothing else
    /// reads dz (a residual's gradient is dz, left in place) and its readers read each element of it at most
    /// `fusedActivationReads` times in all. Otherwise a pass writes dz in place (dy and y loaded and dz stored once
    /// per element, and one barrier), which costs less than loading y again at every read: a conv's readers read
    /// each element taps x channel blocks times.
    public static func gpuFusesActivationGradient(_ g: FusedGroup, _ b: GPUBudget = .standard) -> Bool {
        g.activation != nil && g.residualInputs.isEmpty && gpuDzReads(g, b) <= b.fusedActivationReads
    }

    /// How many times the backward shaders of a conv or dense group read each element of dz (about, for a strided
    /// conv's input gradient): once per bias, and once per block of the other operand each gradient sums over.
    public static func gpuDzReads(_ g: FusedGroup, _ b: GPUBudget = .standard) -> Int {
        switch g.op {
        case let .conv(oc, w):
            let s = gpuConv(g, filters: oc, window: w, b)
            let taps = w.kernel.y * w.kernel.x
            let dx = g.needsInputGradient
                ? max(1, taps * (g.input.c / s.inputGradient.channels) / (w.stride.y * w.stride.x)) : 0
            return g.biases.count + taps * (g.input.c / s.weightGradient.inputs) + dx
        case let .dense(units):
            let s = gpuDense(g, units: units, b)
            let n = g.input.count
            return g.biases.count + n / s.weightGradient.inputs + (g.needsInputGradient ? n / s.inputs : 0)
        default:
            return Int.max
        }
    }
}
