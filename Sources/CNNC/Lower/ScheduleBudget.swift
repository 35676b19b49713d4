/// The machine limits the schedule stage (`Schedule`) decides against: how many values fit in registers, how long a
/// float accumulator may sum, how much source a kernel may unroll. Every number the printers used to carry as a
/// literal is here, with the reason it has the value it has; the printers only spell what the schedule decides.
public struct CPUBudget: Sendable, Equatable {
    /// Floats per vector (`vf16`): AVX-512's 16; the C kernels are written in whole vectors of this width.
    public var lanes = 16
    /// Vector accumulators of a register-blocked row kernel together with the weight vectors of its taps: 28 of
    /// AVX-512's 32 registers, leaving the broadcast input value and addresses room.
    public var rowRegisters = 28
    /// Vector accumulators where each needs one loaded operand besides (single-pass conv backward, the blocked
    /// input gradient, the batch-wide dense weight and input gradients): 24 of 32, the rest for those operands.
    public var accumulators = 24
    /// Vector accumulators of the register-blocked conv weight gradient (`cb` channels x `u` positions x the
    /// filter vectors): 16, since each update also needs an input broadcast and an output-gradient vector.
    public var weightGradientAccumulators = 16
    /// The widest kernel whose weight gradient runs a row at a time (`ConvWeightGradientBlocking.sharedTaps`): its
    /// printed edges (the input positions where some taps fall outside the output row) grow with the width.
    public var maxRowWeightGradientKernel = 7
    /// Vector accumulators of the tap-by-tap conv forward: 12, since each tap reloads its outputs from memory.
    public var tapAccumulators = 12
    /// Output positions one register block of a row covers at most: 8; wider blocks no longer fit beside the taps.
    public var maxRowBlock = 8
    /// Output positions (or weight rows) unrolled with their own accumulators where a block is not a row block: 4.
    public var maxUnrolled = 4
    /// Products a float accumulator sums before it is added to memory: 1024, since its rounding error grows with
    /// the count (the conv weight gradient accumulates this many positions' samples in registers at most).
    public var accumulationBound = 1024
    /// Register blocks printed one after another at most (filter groups of a row conv, tiles of a dense layer,
    /// chunks of a dense weight gradient); past that the blocks run as a C loop, so that the source grows with the
    /// depth of the net, not with its channel counts.
    public var maxUnrolledBlocks = 8
    /// Input channels below which a conv forward accumulates each output's taps directly: a tap of fewer than 4
    /// channels is too little work to pay for revisiting the outputs tap by tap.
    public var directInputChannels = 4
    /// The widest kernel and output row a row conv forward takes: its printed blocks grow with both.
    public var maxRowKernelWidth = 16
    public var maxRowWidth = 1024
    /// Floats of a conv weight transposed on the stack for the input gradient: 65536, 256 KiB.
    public var maxTransposedWeights = 65536
    /// Weights (inputs x units) from which a dense weight gradient is a batch-wide stage of its own: below 1024,
    /// a per-thread copy is cheaper than the stage's barrier.
    public var batchWideWeights = 1024
    /// The dense forward: samples per block (each weight loaded feeds that many FMAs, and the weight streams
    /// through the cache once per block) and outputs per tile (2 vectors, 16 accumulators with 8 samples).
    public var denseForwardSamples = 8
    public var denseForwardTile = 32
    /// Samples per block of the per-thread dense backward: 8 measured slower (its input-gradient accumulators
    /// no longer fit in registers).
    public var denseBackwardSamples = 4
    /// Samples per block of the batch-wide dense input gradient.
    public var denseInputGradientSamples = 4
    /// Output vectors per chunk of the batch-wide dense weight gradient: 7 (112 outputs), so that a few weight
    /// rows of accumulators fit in `accumulators` with room left for the row values and dz.
    public var denseWeightGradientChunkVectors = 7
    /// Weight rows transposed at a time by the batch-wide dense weight gradient (cache lines of `wt` in flight).
    public var denseTransposeRows = 16

    public init() {}
    /// The budget the C printer is written for.
    public static let standard = CPUBudget()

    /// Vectors of `lanes` floats that hold `n` floats.
    public func vectors(_ n: Int) -> Int { (n + lanes - 1) / lanes }
}

/// The limits of the GLSL shaders' schedule (`Schedule.gpu`).
public struct GPUBudget: Sendable, Equatable {
    /// Invocations per workgroup: 64, a multiple of every desktop GPU's subgroup (32 or 64) and lavapipe's.
    public var localSize = 64
    /// Outputs (or inputs, or samples) one invocation computes along a vector: 4, a `vec4`.
    public var maxVector = 4
    /// Output columns one conv invocation computes: 4 to 8, so that each weight vector loaded feeds that many.
    public var columns = 4...8
    /// Samples one dense invocation computes, so that each weight loaded serves every one of them.
    public var denseSamples = 4
    /// Invocations a parameter-gradient reduction aims for (what a large GPU needs in flight): below this, the
    /// samples are split into chunks, each summed by one lane of a workgroup, whose sums the workgroup adds in a
    /// fixed tree in shared memory (deterministic, no atomics).
    public var reductionTarget = 32768
    /// Chunks of a reduction at most: the lanes of one workgroup (`localSize`).
    public var maxChunks = 64
    /// Reads of each dz element at most for which the backward shaders apply the activation's gradient themselves
    /// (`Schedule.gpuFusesActivationGradient`): 3, the loads of dy and y and the store of dz a pass of its own costs.
    public var fusedActivationReads = 3

    public init() {}
    /// The budget the GLSL printer is written for.
    public static let standard = GPUBudget()
}
