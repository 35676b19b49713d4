/// What a buffer holds.
public enum BufferRole: String, Sendable, Equatable {
    case input        // raw images as the data loader gives them
    case activation   // a group's output, kept for the backward pass
    case gradient     // d loss / d activation, live only between the two kernels that write and read it
    case index        // argmax positions of a max pool, for its backward pass
    case labels       // class labels, one per sample
    case loss         // per-sample loss
    case statistics   // one value per channel for the whole batch (batchnorm), not per sample
}

/// A per-sample buffer of the step. Parameters, their gradients and momentum are one flat array each
/// (offsets in `KernelPlan.parameterOffsets`), so they are not listed here.
public struct PlanBuffer: Sendable, Equatable {
    public var name: String
    public var role: BufferRole
    public var shape: Shape
    public var isInteger: Bool
    /// The memory this buffer lives in: its own name, the buffer it aliases (flatten), or a shared gradient slot.
    public var storage: String
    /// First and last kernel (index into `KernelPlan.kernels`) that touch it.
    public var firstUse: Int
    public var lastUse: Int
}

public enum Phase: String, Sendable, Equatable {
    case forward, loss, backward, update
}

/// The buffers a kernel touches, by the role each plays in it. A kernel sets only the roles it has.
public struct Operands: Sendable, Equatable {
    /// The activation the group reads: forward, and backward for its weight gradient; the logits of the loss.
    public var input: String?
    /// Forward: the activation the kernel writes.
    public var output: String?
    /// Backward: the forward output, read for the activation's gradient.
    public var savedOutput: String?
    /// Max pool: the arg max positions, written forward and read backward.
    public var argmax: String?
    /// Backward: d loss / d output, turned into the gradient before the epilogue in place.
    public var outputGradient: String?
    /// Backward: d loss / d input; the loss: d loss / d logits, the seed of the backward pass.
    public var inputGradient: String?
    /// The loss: the softmax probabilities, the class labels, and the per-sample loss it writes.
    public var probabilities: String?
    public var labels: String?
    public var loss: String?
    /// `add` and `concat`: the tensors read after the first (`input`), in order; backward, the gradient of each
    /// (nil where none is needed), like `inputGradient` for the first.
    public var otherInputs: [String] = []
    public var otherInputGradients: [String?] = []
    /// A gradient sum (a tensor read by several layers): one reader's term, added into `inputGradient`.
    public var gradientTerm: String?
    /// batchnorm: the batch's statistics per channel, written by the kernels over the whole batch and read by the
    /// others.
    public var statistics: String?

    public init(input: String? = nil, output: String? = nil, savedOutput: String? = nil, argmax: String? = nil,
                outputGradient: String? = nil, inputGradient: String? = nil, probabilities: String? = nil,
                labels: String? = nil, loss: String? = nil, otherInputs: [String] = [],
                otherInputGradients: [String?] = [], gradientTerm: String? = nil, statistics: String? = nil) {
        self.input = input; self.output = output; self.savedOutput = savedOutput; self.argmax = argmax
        self.outputGradient = outputGradient; self.inputGradient = inputGradient
        self.probabilities = probabilities; self.labels = labels; self.loss = loss
        self.otherInputs = otherInputs; self.otherInputGradients = otherInputGradients; self.gradientTerm = gradientTerm
        self.statistics = statistics
    }
}

/// One kernel of the step: a fused group's forward or backward, the loss, or the update.
public struct Kernel: Sendable, Equatable {
    public var name: String
    public var phase: Phase
    /// Index into `KernelPlan.groups`, nil for the input scaling and the update.
    public var group: Int?
    public var operands: Operands
    /// Parameters read, and parameters whose gradient the kernel accumulates.
    public var parameters: [String]
    public var parameterGradients: [String]
    /// Multiply-accumulates per sample (conv/dense), for profiles and GFLOP/s.
    public var macs: Int
    public var location: SourceLocation?
    /// Whether the kernel runs once over the whole batch (one item per channel) rather than per sample: a target
    /// starts it only after every sample's earlier kernels, and the kernels after it only once it is done.
    public var overBatch = false

    /// The buffers the kernel reads, for lifetimes and the plan listing.
    public var reads: [String] {
        let o = operands
        // A gradient sum reads the gradient it adds into, too.
        return ([o.outputGradient, o.gradientTerm, o.gradientTerm == nil ? nil : o.inputGradient, o.probabilities,
                 o.input] + o.otherInputs.map { $0 }
                + [o.savedOutput, phase == .forward ? nil : o.argmax, o.labels, overBatch ? nil : o.statistics])
            .compactMap { $0 }
    }

    /// The buffers the kernel writes.
    public var writes: [String] {
        let o = operands
        return ([o.output, phase == .forward ? o.argmax : nil, o.loss, o.inputGradient] + o.otherInputGradients
                + [overBatch ? o.statistics : nil]).compactMap { $0 }
    }
}

/// The one kernel plan both targets lower: the ordered kernels of a training step (forward, loss, backward,
/// update), every buffer with its shape, where it lives and how long it lives. Evaluation runs the forward
/// kernels and the loss kernel only.
public struct KernelPlan: Sendable, Equatable {
    public var network: Network
    public var groups: [FusedGroup]
    /// Fixed at creation: the name index and the gradient slots below are computed from it once.
    public let buffers: [PlanBuffer]
    public var kernels: [Kernel]
    /// Every parameter and buffer (`Parameter.isBuffer`), in source (= checkpoint) order, with its offset in the
    /// flat parameter array. Buffers live there too, so that they travel with the weights (checkpoints, the
    /// device); they have no gradient, and SGD leaves them as they are.
    public var parameters: [Parameter]
    public var parameterOffsets: [String: Int]
    public var parameterCount: Int
    /// The trainable parameters' floats: they come first in the flat array, [0, trainableCount), the buffers after.
    public var trainableCount: Int { parameters.filter { !$0.isBuffer }.reduce(0) { $0 + $1.count } }
    /// Storage slots shared by gradient buffers whose lifetimes do not overlap, with their size per sample.
    public let gradientSlots: [(name: String, elements: Int)]
    /// Where each buffer is in `buffers`, by name: lookups stay O(1) for networks of many thousand layers.
    private let bufferIndex: [String: Int]
    private let slotIndex: [String: Int]

    public init(network: Network, groups: [FusedGroup], buffers: [PlanBuffer], kernels: [Kernel], parameters: [Parameter],
                parameterOffsets: [String: Int], parameterCount: Int) {
        self.network = network; self.groups = groups; self.buffers = buffers; self.kernels = kernels
        self.parameters = parameters; self.parameterOffsets = parameterOffsets; self.parameterCount = parameterCount
        var index: [String: Int] = [:]
        for (i, b) in buffers.enumerated() where index[b.name] == nil { index[b.name] = i }
        bufferIndex = index
        var slots: [(name: String, elements: Int)] = []
        var slotIndex: [String: Int] = [:]
        for b in buffers where b.role == .gradient {
            if let i = slotIndex[b.storage] {
                slots[i].elements = max(slots[i].elements, b.shape.count)
            } else {
                slotIndex[b.storage] = slots.count
                slots.append((name: b.storage, elements: b.shape.count))
            }
        }
        gradientSlots = slots
        self.slotIndex = slotIndex
    }

    /// The elements per sample of gradient slot `name`, if it is one.
    public func gradientSlot(_ name: String) -> Int? { slotIndex[name].map { gradientSlots[$0].elements } }

    public static func == (a: KernelPlan, b: KernelPlan) -> Bool {
        a.groups == b.groups && a.buffers == b.buffers && a.kernels == b.kernels && a.parameterOffsets == b.parameterOffsets
    }

    public func buffer(_ name: String) -> PlanBuffer? { bufferIndex[name].map { buffers[$0] } }

    /// Bytes of per-sample buffers for a batch, counting shared storage once. The limits (`Limits`) bound the
    /// buffers' elements and the batch so that this sum fits in 64 bits.
    public func activationBytes(batch: Int) -> Int {
        var largest: [String: Int] = [:]
        var fixed = 0
        for b in buffers where b.role != .labels {
            if b.role == .statistics { fixed += b.shape.count * 4; continue }
            largest[b.storage] = max(largest[b.storage] ?? 0, b.shape.count)
        }
        return largest.values.reduce(fixed) { $0 + $1 * 4 * batch }
    }
}
