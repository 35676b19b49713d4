/// A bias folded into a kernel's epilogue.
public struct EpilogueBias: Sendable, Equatable {
    /// How the kernel indexes it: .channel (by channel) or .element (by the element's per-sample offset).
    public var kind: BiasKind
    public var parameter: Parameter

    public init(kind: BiasKind, parameter: Parameter) {
        if case .flatBias = parameter.layout { self.kind = .element } else { self.kind = kind }
        self.parameter = parameter
    }
}

/// What a fused group computes before its epilogue.
public enum GroupOp: Sendable, Equatable {
    case conv(filters: Int, window: Window)
    case dense(units: Int)
    /// Only an epilogue: stand-alone biases and/or an activation.
    case elementwise
    case pool(PoolKind, window: Window)
    /// A view: the flat input is the same memory, so no kernel runs.
    case flatten
    /// Softmax; the loss kernel pairs it with cross-entropy.
    case softmax
    /// The elementwise sum of the group's inputs; its epilogue is at most an activation (`add ... relu`).
    case add
    /// The inputs' channels (or flat values) one after the other.
    case concat
    /// The mean over H and W of each channel.
    case globalAvgPool
    /// Inverted dropout with drop probability `p`; its masks are keyed by the group's layer (`layers[0]`).
    case dropout(p: Double)
    /// Normalisation by the batch's (training) or the running (evaluation) statistics per channel, then scale and
    /// shift (the layer's parameters, not an epilogue); its epilogue is at most ReLU.
    case batchnorm(BatchNormSpec)
}

/// One fused operation: a primary layer plus the bias and activation layers folded into its epilogue
/// (forward) and prologue (backward: ReLU mask and bias gradients in the same kernel).
public struct FusedGroup: Sendable, Equatable {
    /// The primary layer's name: kernels are `NAME_forward` / `NAME_backward`.
    public var name: String
    public var op: GroupOp
    /// Indices into `Network.layers`, in source order.
    public var layers: [Int]
    /// The tensors the group reads (its first layer's inputs, then its residuals) and the tensor it produces (its
    /// last layer's output).
    public var inputs: [String]
    public var outputTensor: String
    public var input: Shape
    public var output: Shape
    public var weight: Parameter?
    public var biases: [EpilogueBias]
    public var activation: Activation?
    /// How many of `inputs`, at its end, are residuals: the other operands of an `add` folded into a conv or dense
    /// epilogue, added after the biases and before the activation. Each has the output's shape, and receives the
    /// gradient dz (the output gradient through the activation) unchanged.
    public var residuals: Int = 0
    public var location: SourceLocation
    public var needsBackward: Bool
    public var needsInputGradient: Bool
    public var forwardMACs: Int
    public var backwardMACs: Int

    public var parameters: [Parameter] { (weight.map { [$0] } ?? []) + biases.map(\.parameter) }
    /// Whether the group is a conv or a dense layer: a kernel whose epilogue a residual can join.
    public var takesResiduals: Bool {
        switch op {
        case .conv, .dense: return true
        default: return false
        }
    }
    /// The residual tensors (see `residuals`).
    public var residualInputs: ArraySlice<String> { inputs.suffix(residuals) }
    public var isFused: Bool { layers.count > 1 }
}

/// The fusion pass: `conv`/`dense` (or a stand-alone bias) followed by stand-alone `bias` layers and then an
/// activation become one group. A layer with an inline activation (`conv ... relu`) ends its group: a bias after
/// an activation is not a linear epilogue. A layer joins the group before it only when it reads that group's
/// output and nothing else does: a tensor another layer also reads must stay in memory.
/// An `add` of two tensors (with its `relu`) joins a conv or dense group the same way, as a residual epilogue: its
/// other operand comes earlier in the source (a topological order), so it is computed when the group runs, and the
/// add's kernel and its pass over memory disappear.
public enum Fusion {
    public static func fuse(_ net: Network) -> [FusedGroup] {
        var groups: [FusedGroup] = []
        let consumers = net.consumers
        var i = 0
        while i < net.layers.count {
            let first = net.layers[i]
            var group = FusedGroup(name: first.name, op: .elementwise, layers: [i], inputs: first.inputs,
                                   outputTensor: first.name, input: first.input, output: first.output,
                                   weight: nil, biases: [], activation: nil, location: first.location,
                                   needsBackward: first.needsBackward, needsInputGradient: first.needsInputGradient,
                                   forwardMACs: first.forwardMACs, backwardMACs: first.backwardMACs)
            var absorbs = false
            switch first.op {
            case let .conv(filters, window, bias, act):
                group.op = .conv(filters: filters, window: window)
                group.weight = first.parameters[0]
                if bias != .none { group.biases.append(EpilogueBias(kind: bias, parameter: first.parameters[1])) }
                group.activation = act
                absorbs = act == nil
            case let .dense(units, bias, act):
                group.op = .dense(units: units)
                group.weight = first.parameters[0]
                if bias != .none { group.biases.append(EpilogueBias(kind: bias, parameter: first.parameters[1])) }
                group.activation = act
                absorbs = act == nil
            case let .bias(kind):
                group.biases.append(EpilogueBias(kind: kind, parameter: first.parameters[0]))
                absorbs = true
            case let .activation(a):
                group.activation = a
            case let .pool(kind, window):
                group.op = .pool(kind, window: window)
            case .flatten:
                group.op = .flatten
            case .softmax:
                group.op = .softmax
            case let .add(relu):
                group.op = .add
                group.activation = relu ? .relu : nil
                absorbs = !relu
            case .concat:
                group.op = .concat
            case .globalAvgPool:
                group.op = .globalAvgPool
            case let .dropout(p):
                group.op = .dropout(p: p)
            case let .batchnorm(spec):
                group.op = .batchnorm(spec)
                group.activation = spec.relu ? .relu : nil
            }
            i += 1
            while absorbs, i < net.layers.count {
                let next = net.layers[i]
                guard consumers[group.outputTensor] == [i] else { break }
                // One residual at most: its gradient is the kernel's dz, left in place in the output gradient's
                // storage, which can stand for one tensor's gradient only.
                if case let .add(relu) = next.op, group.residuals == 0, group.takesResiduals, next.inputs.count == 2,
                   next.inputs.contains(group.outputTensor) {
                    group.inputs += next.inputs.filter { $0 != group.outputTensor }
                    group.residuals = next.inputs.count - 1
                    if relu { group.activation = .relu; absorbs = false }
                } else if next.inputs != [group.outputTensor] {
                    break
                } else if case let .bias(kind) = next.op, group.op != .add, group.residuals == 0 {
                    group.biases.append(EpilogueBias(kind: kind, parameter: next.parameters[0]))
                } else if case let .activation(a) = next.op {
                    group.activation = a
                    absorbs = false
                } else {
                    break
                }
                group.layers.append(i)
                group.outputTensor = next.name
                group.output = next.output
                group.needsBackward = group.needsBackward || next.needsBackward
                group.backwardMACs += next.backwardMACs
                i += 1
            }
            groups.append(group)
        }
        return groups
    }
}
