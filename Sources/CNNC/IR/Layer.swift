/// What a bias adds: one value per channel, one per element of the input, or nothing.
public enum BiasKind: String, Sendable, Equatable, Hashable, CaseIterable {
    case channel, element, none
}

/// An elementwise nonlinearity, fused into the kernel before it where it can be.
public enum Activation: Sendable, Equatable, Hashable {
    case relu, sigmoid, tanh
    /// x for x > 0, slope * x otherwise (PyTorch's LeakyReLU, negative_slope = slope >= 0).
    case leakyrelu(slope: Double)

    /// PyTorch's default slope.
    public static let defaultSlope = 0.01
    /// The statement keywords, as the language spells them.
    public static let keywords = ["relu", "sigmoid", "tanh", "leakyrelu"]

    /// The activation a keyword names, with its default parameters.
    public init?(keyword: String) {
        switch keyword {
        case "relu": self = .relu
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "leakyrelu": self = .leakyrelu(slope: Activation.defaultSlope)
        default: return nil
        }
    }

    public var keyword: String {
        switch self {
        case .relu: return "relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .leakyrelu: return "leakyrelu"
        }
    }

    /// The keyword with its parameters where they are not the defaults: `leakyrelu(0.2)`.
    public var description: String {
        if case let .leakyrelu(slope) = self, slope != Activation.defaultSlope { return "leakyrelu(\(slope))" }
        return keyword
    }
}

/// batchnorm's settings: PyTorch's eps and momentum (the weight of a batch's statistics in the running ones), and
/// whether ReLU follows the normalisation in the same kernel.
public struct BatchNormSpec: Sendable, Equatable, Hashable {
    public static let defaultEps = 1e-5
    public static let defaultMomentum = 0.1
    public var eps: Double
    public var momentum: Double
    public var relu: Bool

    public init(eps: Double = defaultEps, momentum: Double = defaultMomentum, relu: Bool = false) {
        self.eps = eps; self.momentum = momentum; self.relu = relu
    }

    /// `batchnorm`, with its settings where they are not the defaults: `batchnorm(eps=0.001) relu`.
    public var description: String {
        var settings: [String] = []
        if eps != Self.defaultEps { settings.append("eps=\(eps)") }
        if momentum != Self.defaultMomentum { settings.append("momentum=\(momentum)") }
        return "batchnorm" + (settings.isEmpty ? "" : "(" + settings.joined(separator: ", ") + ")") + (relu ? " relu" : "")
    }
}

public enum PoolKind: String, Sendable, Equatable, Hashable {
    case max = "maxpool"
    case avg = "avgpool"
}

/// One layer as the source states it, with its geometry resolved by shape inference.
public enum LayerOp: Sendable, Equatable, Hashable {
    /// `conv N KhxKw ...`: `filters` outputs; bias and activation written on the same line.
    case conv(filters: Int, window: Window, bias: BiasKind, activation: Activation?)
    /// `dense N ...`: flattens its input implicitly.
    case dense(units: Int, bias: BiasKind, activation: Activation?)
    /// A stand-alone learnable bias (`bias element` or `bias channel`).
    case bias(BiasKind)
    case activation(Activation)
    case pool(PoolKind, window: Window)
    case flatten
    /// Softmax; training pairs it with cross-entropy.
    case softmax
    /// The elementwise sum of the layer's inputs (all of one shape), then ReLU if `relu`.
    case add(relu: Bool)
    /// The inputs' channels one after the other (flat inputs: their values one after the other).
    case concat
    /// HxWxC -> 1x1xC: the mean over H and W.
    case globalAvgPool
    /// Inverted dropout: while training, each element is zeroed with probability `p` and the others are scaled by
    /// 1/(1-p); evaluation passes the input through. 0 <= p < 1.
    case dropout(p: Double)
    /// Normalisation per channel (per value of a flat tensor) with the batch's statistics in training and the
    /// running ones in evaluation, then a learnable scale and shift, then ReLU if `relu`.
    case batchnorm(BatchNormSpec)

    /// The statement keyword.
    public var keyword: String {
        switch self {
        case .conv: return "conv"
        case .dense: return "dense"
        case .bias: return "bias"
        case .activation(let a): return a.keyword
        case .pool(let k, _): return k.rawValue
        case .flatten: return "flatten"
        case .softmax: return "softmax"
        case .add: return "add"
        case .concat: return "concat"
        case .globalAvgPool: return "globalavgpool"
        case .dropout: return "dropout"
        case .batchnorm: return "batchnorm"
        }
    }
}

/// How a parameter tensor is laid out in memory by cnnc (row-major, last index fastest), and how that maps to
/// PyTorch's layout, which checkpoints use.
public enum ParamLayout: Sendable, Equatable, Hashable {
    /// cnnc: [kh][kw][c][oc]; PyTorch: [oc, c, kh, kw].
    case convWeight(oc: Int, c: Int, kh: Int, kw: Int)
    /// cnnc: [in][out] with `in` the input flattened in H,W,C order; PyTorch: [out, in] with `in` in C,H,W order.
    case denseWeight(out: Int, inH: Int, inW: Int, inC: Int)
    /// One value per channel: [c] in both.
    case channelBias(c: Int)
    /// One value per element: cnnc [h][w][c]; PyTorch [c, h, w].
    case elementBias(h: Int, w: Int, c: Int)
    /// One value per element of a flattened h x w x c tensor: cnnc [h][w][c] (the view's order); PyTorch [c*h*w]
    /// in C,H,W order (PyTorch's flatten).
    case flatBias(h: Int, w: Int, c: Int)
    /// A count kept in one float (batchnorm's num_batches_tracked); PyTorch: a 0-dimensional int64.
    case counter

    /// Elements, saturating at `Int.max` like `Shape.count` (shape inference rejects any tensor that large).
    public var count: Int {
        switch self {
        case let .convWeight(oc, c, kh, kw): return Checked.product(oc, c, kh, kw) ?? Int.max
        case let .denseWeight(out, h, w, c): return Checked.product(out, h, w, c) ?? Int.max
        case let .channelBias(c): return c
        case let .elementBias(h, w, c), let .flatBias(h, w, c): return Checked.product(h, w, c) ?? Int.max
        case .counter: return 1
        }
    }

    /// The shape PyTorch (and the checkpoint file) uses.
    public var torchShape: [Int] {
        switch self {
        case let .convWeight(oc, c, kh, kw): return [oc, c, kh, kw]
        case let .denseWeight(out, h, w, c): return [out, h * w * c]
        case let .channelBias(c): return [c]
        case let .elementBias(h, w, c): return [c, h, w]
        case let .flatBias(h, w, c): return [c * h * w]
        case .counter: return []
        }
    }

    /// The shape cnnc stores, outermost first.
    public var internalShape: [Int] {
        switch self {
        case let .convWeight(oc, c, kh, kw): return [kh, kw, c, oc]
        case let .denseWeight(out, h, w, c): return [h * w * c, out]
        case let .channelBias(c): return [c]
        case let .elementBias(h, w, c), let .flatBias(h, w, c): return [h, w, c]
        case .counter: return [1]
        }
    }

    /// The shape a comment in generated code gives: the stored order, without the 1x1 that a bias after a dense
    /// layer (one value per unit) or a flat tensor carries: `(100)`, not `(1,1,100)`.
    public var describedShape: [Int] {
        switch self {
        case let .elementBias(1, 1, c), let .flatBias(1, 1, c): return [c]
        default: return internalShape
        }
    }

    /// `(3,3,1,16)`, `(100)`.
    public var shapeComment: String { "(" + describedShape.map(String.init).joined(separator: ",") + ")" }
}

/// How a parameter starts: He (Kaiming) normal for layers followed by ReLU, Glorot (Xavier) uniform otherwise, zeros for biases.
public enum ParamInit: Sendable, Equatable, Hashable {
    case he(fanIn: Int)
    case glorot(fanIn: Int, fanOut: Int)
    case zeros
    /// batchnorm's scale and running variance.
    case ones
}

public struct Parameter: Sendable, Equatable, Hashable {
    /// `LAYER.weight` or `LAYER.bias`.
    public var name: String
    public var layout: ParamLayout
    public var initializer: ParamInit
    /// State that checkpoints keep but training does not learn (batchnorm's running statistics): it has no
    /// gradient and does not count as a parameter.
    public var isBuffer = false
    public var count: Int { layout.count }
}

/// A layer of the typed graph: source statement, resolved operation, shapes, parameters and costs. Its output is
/// the tensor named by the layer's name; it reads the tensors named in `inputs`.
public struct Layer: Sendable, Equatable {
    public var name: String
    public var op: LayerOp
    /// The tensors the layer reads, by name: `Network.inputTensor` or an earlier layer's name. `add` and `concat`
    /// read several (their input first, then the named ones in order); every other kind reads one.
    public var inputs: [String]
    /// The shape of each of `inputs`, in order.
    public var inputShapes: [Shape]
    /// The shape of the first input: the one input of every single-input layer.
    public var input: Shape { inputShapes[0] }
    public var output: Shape
    public var parameters: [Parameter]
    /// Tensors of state after the parameters (batchnorm's running statistics), in PyTorch's state_dict order.
    public var buffers: [Parameter] = []
    /// Where the statement starts in the source.
    public var location: SourceLocation
    /// Multiply-accumulates of the forward pass, per sample.
    public var forwardMACs: Int
    /// Multiply-accumulates of the backward pass, per sample: weight gradient plus, where the layer needs it,
    /// input gradient.
    public var backwardMACs: Int
    /// Whether the backward pass computes this layer's input gradient: whether a learnable parameter lies upstream
    /// of its input (false before the first learnable layer).
    public var needsInputGradient: Bool
    /// Whether the backward pass visits this layer at all.
    public var needsBackward: Bool

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Defaults of the generated trainer, from the `train` statement.
public struct TrainConfig: Sendable, Equatable, Hashable {
    public var epochs: Int = 3
    public var batch: Int = 64
    public var learningRate: Double = 0.01
    public var optimizer = Optimizer()
    /// SGD's momentum (`optimizer.momentum`), under its old name.
    public var momentum: Double {
        get { optimizer.momentum }
        set { optimizer.momentum = newValue }
    }
    public var seed: UInt64 = 1
    public var schedule: LearningRateSchedule = .constant
    /// Optimizer steps over which the learning rate rises linearly to `learningRate` (0: none).
    public var warmup: Int = 0
    /// The `augment` statement: what the trainer does to each training sample.
    public var augmentation = Augmentation()
    public init() {}
}

/// Random changes to each training sample, drawn from the seed (torchvision's RandomCrop(padding=crop) then
/// RandomHorizontalFlip): zero-pad `crop` pixels on each side and take a random window of the input's size, then
/// mirror left-right with probability 1/2. Test samples are never changed.
public struct Augmentation: Sendable, Equatable, Hashable {
    public var hflip = false
    public var crop = 0
    public init(hflip: Bool = false, crop: Int = 0) { self.hflip = hflip; self.crop = crop }
}

/// The optimizer of a `train` statement, with PyTorch's semantics and defaults (torch.optim.SGD, Adam, AdamW).
/// Per optimizer step t = 1, 2, ..., with g the batch's mean gradient and wd the weight decay:
/// - sgd: g += wd*w; v = momentum*v + g; w -= lr*v
/// - adam: g += wd*w; m = b1*m + (1-b1)*g; s = b2*s + (1-b2)*g^2; w -= lr * (m/(1-b1^t)) / (sqrt(s/(1-b2^t)) + eps)
/// - adamw: w -= lr*wd*w, then adam's step without wd
/// Weight decay applies to every trainable parameter, never to batchnorm's running statistics.
public struct Optimizer: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, Equatable, Hashable, CaseIterable {
        case sgd, adam, adamw
    }
    public var kind = Kind.sgd
    public var momentum = 0.9
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    /// nil: the kind's default (0, or 0.01 for adamw, as PyTorch).
    public var weightDecay: Double? = nil
    public init() {}

    public var effectiveWeightDecay: Double { weightDecay ?? (kind == .adamw ? 0.01 : 0) }
}

/// How the learning rate changes over a run, per optimizer step t = 1, 2, ... (after `warmup` steps of linear
/// warm-up): PyTorch's StepLR (stepped per epoch) and CosineAnnealingLR (stepped per optimizer step).
public enum LearningRateSchedule: Sendable, Equatable, Hashable {
    case constant
    /// lr * gamma^floor((epoch - 1) / every)
    case step(every: Int, gamma: Double)
    /// lr * (1 + cos(pi * (t - warmup - 1) / (T - warmup))) / 2, T the run's total steps.
    case cosine

    public static let keywords = ["constant", "step", "cosine"]
    public static let defaultGamma = 0.1

    public var keyword: String {
        switch self {
        case .constant: return "constant"
        case .step: return "step"
        case .cosine: return "cosine"
        }
    }
}

/// The typed graph: a DAG of named tensors, every shape known, every layer named, in source order (a topological
/// order: a layer reads only the network input and tensors of layers before it).
public struct Network: Sendable, Equatable {
    /// The name of the network's input tensor (after `scale`): what the first layer reads.
    public static let inputTensor = "input"

    public var name: String
    public var sourceFile: String
    public var input: Shape
    public var scale: Double
    /// The `scale` statement as written (e.g. "1/255"), for generated comments.
    public var scaleText: String?
    /// `normalize`, applied after the scale; nil when absent.
    public var normalization: InputNormalization?
    public var layers: [Layer]
    public var train: TrainConfig
    /// Whether the backward pass also computes the gradient of the network input (`cnnc check` asks for it; a
    /// trainer never needs it).
    public var inputGradient = false

    /// Whether the input passes through the `input_scale` kernel (a scale other than 1, or a normalization).
    public var transformsInput: Bool { scale != 1 || normalization != nil }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    /// Parameters and buffers, layer by layer (PyTorch's state_dict order): what checkpoints hold.
    public var state: [Parameter] { layers.flatMap { $0.parameters + $0.buffers } }
    /// The index of the layer that produces `tensor`, nil for the network input.
    public func producer(of tensor: String) -> Int? { layers.firstIndex { $0.name == tensor } }
    /// For every tensor, the indices of the layers that read it, in source order.
    public var consumers: [String: [Int]] {
        var out: [String: [Int]] = [:]
        for (i, l) in layers.enumerated() { for t in Set(l.inputs) { out[t, default: []].append(i) } }
        return out
    }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var output: Shape { layers.last?.output ?? input }
    public var forwardMACs: Int { layers.reduce(0) { $0 + $1.forwardMACs } }
    public var backwardMACs: Int { layers.reduce(0) { $0 + $1.backwardMACs } }
    /// Training FLOPs per sample: forward plus backward, two FLOPs per MAC (optimizer update excluded).
    public var trainingFLOPs: Int { 2 * (forwardMACs + backwardMACs) }
}
