/// The schedule of a kernel plan: for each conv and dense group and each target, which form its loops take and how
/// they are blocked into registers, and for the CPU target how the backward pass is cut into stages and the
/// parameter array into ranges. It is decided once, here (`Schedule.cpu`, `Schedule.gpu`), as plain data against a
/// budget (`CPUBudget`, `GPUBudget`); the printers spell it and decide nothing, and `cnnc plan` prints it.
public enum Schedule {}

/// A block of consecutive output positions along a row: [start, start + count).
public struct RowBlock: Sendable, Equatable {
    public var start: Int
    public var count: Int
    public init(_ start: Int, _ count: Int) { self.start = start; self.count = count }
}

/// How a conv's forward pass runs on the CPU.
public enum ConvForwardForm: Sendable, Equatable {
    /// An output row at a time (stride 1 along x, whole vectors of filters): each block of the row keeps its
    /// outputs x `filterVectors` vectors of filters in registers through every tap and channel. `loopedFilters`:
    /// the filter groups run as a C loop instead of being unrolled. `epilogueInRegisters`: biases and ReLU are
    /// applied to the registers before the store (other activations take a pass after).
    case rows(blocks: [RowBlock], filterVectors: Int, loopedFilters: Bool, epilogueInRegisters: Bool)
    /// Each output accumulates all its taps in registers (few input channels).
    case direct
    /// Tap by tap, `outputs` output positions at a time in registers, then the epilogue in a pass.
    case taps(outputs: Int)
}

/// How a conv's input gradient runs on the CPU.
public enum ConvInputGradientForm: Sendable, Equatable {
    /// None is needed (the first learnable layer).
    case none
    /// A row of outputs at a time on transposed weights, in blocks of these sizes (largest first), with
    /// `channelVectors` vectors of input channels of their input positions in registers.
    case rows(blocks: [Int], channelVectors: Int)
    /// Tap by tap on transposed weights, blocks of these sizes of output positions in registers.
    case blocked(blocks: [Int])
    /// Dot products along the filters, on the weights as they are (too large to transpose on the stack).
    case dotProducts

    /// Whether the weights are transposed to [kh][kw][oc][c] on the stack first.
    public var transposesWeights: Bool {
        switch self {
        case .rows, .blocked: return true
        case .none, .dotProducts: return false
        }
    }
}

/// The register blocks of a conv weight gradient: for each tap, `channels` input channels (a divisor of C) x
/// `positions` output positions of accumulators over all filters, through `samples` samples before they are added
/// to dweight (the accumulation bound).
public struct ConvWeightGradientBlocking: Sendable, Equatable {
    public var channels: Int
    public var positions: Int
    public var samples: Int
    /// Taps along x that share each input value loaded: 1 (tap by tap, `positions` outputs at a time), or the
    /// kernel's width (a row at a time, stride 1 along x: in[n,iy,ix,c] feeds every tap kx of row ky, each with
    /// its own output ox = ix + pad - kx; `channels` x the taps x the filter vectors of accumulators).
    public var sharedTaps: Int = 1
}

/// How a conv's backward pass runs on the CPU.
public enum ConvBackwardForm: Sendable, Equatable {
    /// One pass per sample with the whole weight gradient (`taps` x filters) in registers: the first learnable
    /// layer, with a weight small enough.
    case singlePass(taps: Int)
    /// Per sample the prologue and the input gradient, then the blocked weight gradient.
    case perSample(inputGradient: ConvInputGradientForm, weightGradient: ConvWeightGradientBlocking)
}

/// A range of output columns of a dense layer blocked in registers: [start, start + width).
public struct DenseTile: Sendable, Equatable {
    public var start: Int
    public var width: Int
    public init(_ start: Int, _ width: Int) { self.start = start; self.width = width }
}

/// The dense forward on the CPU: `samples` samples at a time, over tiles of outputs; the first `looped` tiles
/// (all `tile` wide) run as a C loop, the others are unrolled.
public struct DenseForwardSchedule: Sendable, Equatable {
    public var samples: Int
    public var tile: Int
    public var tiles: [DenseTile]
    public var looped: Int
}

/// The batch-wide dense weight gradient (`NAME_wgrad`, a stage of its own split by weight rows across threads) and
/// its input gradient (`NAME_din`) on the same rows.
public struct BatchWideDenseSchedule: Sendable, Equatable {
    /// Weight rows per register block (the unit a thread's share is counted in).
    public var rows: Int
    /// Output chunks of the weight gradient; the first `looped` (all as wide as the first) run as a C loop.
    public var chunks: [DenseTile]
    public var looped: Int
    /// Weight rows transposed into `wt` at a time (when there is an input gradient).
    public var transposeRows: Int
    /// The input gradient: `samples` samples at a time, inputs in blocks of these widths (widest first).
    public var inputGradientSamples: Int
    public var inputGradientWidths: [Int]
}

/// How a dense layer's backward pass runs on the CPU.
public enum DenseBackwardForm: Sendable, Equatable {
    /// On each thread's samples, `samples` at a time, the weight gradient added into the thread's own array.
    case perSample(samples: Int)
    /// dz and bias gradients per sample, then a batch-wide stage for the weight and input gradients.
    case batchWide(BatchWideDenseSchedule)
}

/// A conv or dense group's schedule on the CPU.
public enum CPUGroupSchedule: Sendable, Equatable {
    case conv(forward: ConvForwardForm, backward: ConvBackwardForm)
    case dense(forward: DenseForwardSchedule, backward: DenseBackwardForm)
    /// Everything else (pools, elementwise, softmax): one form each, nothing to decide.
    case fixed
}

/// A stage of the CPU backward pass; every stage ends where all threads wait for each other.
public enum CPUBackwardStage: Sendable, Equatable {
    /// These plan kernels, in order, on each thread's range of samples.
    case samples([Int])
    /// Plan kernel `kernel`'s weight gradient over the whole batch, thread t taking its share of the weight's
    /// `rows` rows counted in blocks of `block` rows.
    case batchWide(kernel: Int, rows: Int, block: Int)
    /// A lowered kernel over the whole batch (`Kernel.overBatch`; in the forward stages too), thread t taking its
    /// share of the grid's `items` counted in blocks of `block` (the lanes its items run in, so that no vector of
    /// them is split between threads).
    case overBatch(kernel: Int, items: Int, block: Int)
}

/// A range of the flat parameter array and whether every thread accumulates a partial gradient for it (false: a
/// batch-wide stage writes its whole gradient into thread 0's array).
public struct ParameterRange: Sendable, Equatable {
    public var range: Range<Int>
    public var accumulated: Bool
}

/// The CPU target's schedule of a plan.
public struct CPUSchedule: Sendable, Equatable {
    public var budget: CPUBudget
    /// One per fused group of the plan, by index.
    public var groups: [CPUGroupSchedule]
    public var backwardStages: [CPUBackwardStage]
    /// The forward pass's stages: one on each thread's samples unless a kernel needs the whole batch.
    public var forwardStages: [CPUBackwardStage] = []
    public var parameterRanges: [ParameterRange]

    /// Whether group `gi`'s dense weight gradient is a batch-wide stage.
    public func isBatchWide(_ gi: Int) -> Bool {
        if case .dense(_, .batchWide) = groups[gi] { return true }
        return false
    }
}

/// Outputs one GLSL invocation computes: `columns` positions along a row x `channels` channels (a vector).
public struct GPUTile: Sendable, Equatable {
    public var columns: Int
    public var channels: Int
}

/// A GLSL parameter-gradient reduction's blocks: `inputs` x `outputs` elements per invocation, and the chunks the
/// batch is split into (1: one pass writes the gradient).
public struct GPUReductionBlock: Sendable, Equatable {
    public var inputs: Int
    public var outputs: Int
    public var chunks: Int
}

/// A conv's shaders on the GPU: the outputs of a forward invocation, the inputs of an input-gradient invocation,
/// and the blocks of the weight-gradient reduction.
public struct GPUConvSchedule: Sendable, Equatable {
    public var forward: GPUTile
    public var inputGradient: GPUTile
    public var weightGradient: GPUReductionBlock
}

/// A dense layer's shaders on the GPU: `samples` samples per invocation, with `outputs` outputs each (forward) or
/// `inputs` inputs each (input gradient), and the blocks of the weight-gradient reduction.
public struct GPUDenseSchedule: Sendable, Equatable {
    public var samples: Int
    public var outputs: Int
    public var inputs: Int
    public var weightGradient: GPUReductionBlock
}

/// A conv or dense group's schedule on the GPU.
public enum GPUGroupSchedule: Sendable, Equatable {
    case conv(GPUConvSchedule)
    case dense(GPUDenseSchedule)
    case fixed
}

/// The Vulkan target's schedule of a plan.
public struct GPUSchedule: Sendable, Equatable {
    public var budget: GPUBudget
    public var groups: [GPUGroupSchedule]
}
