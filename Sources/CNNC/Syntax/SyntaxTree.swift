/// A .cnn file as written, before shapes are known. The parser builds it; shape inference consumes it.
public struct SyntaxTree: Sendable, Equatable {
    /// The path the source was read from, as given (used in diagnostics).
    public var file: String
    /// The source lines without line endings, for diagnostics that quote a line.
    public var lines: [String]
    /// `net NAME`, if present.
    public var netName: String?
    /// `input HxWxC`.
    public var input: Shape
    public var inputLocation: SourceLocation
    /// `scale X`: the value and its text as written.
    public var scale: Double = 1
    public var scaleText: String?
    /// `normalize mean=... std=...`, one value per input channel.
    public var normalization: InputNormalization?
    public var layers: [LayerDecl]
    public var train: TrainConfig

    public init(file: String, lines: [String], netName: String?, input: Shape, inputLocation: SourceLocation,
                scale: Double = 1, scaleText: String? = nil, normalization: InputNormalization? = nil,
                layers: [LayerDecl], train: TrainConfig) {
        self.file = file; self.lines = lines; self.netName = netName
        self.input = input; self.inputLocation = inputLocation
        self.scale = scale; self.scaleText = scaleText; self.normalization = normalization
        self.layers = layers; self.train = train
    }

    /// The text of a 1-based line, or "" past the end.
    public func lineText(_ line: Int) -> String {
        line >= 1 && line <= lines.count ? lines[line - 1] : ""
    }
}

/// One layer statement as written.
public enum LayerSyntax: Sendable, Equatable {
    case conv(filters: Int, kernel: Size2, stride: Size2, padding: PaddingSpec, bias: BiasKind, activation: Activation?)
    case dense(units: Int, bias: BiasKind, activation: Activation?)
    case bias(BiasKind)
    case activation(Activation)
    /// `stride` nil means "the kernel size".
    case pool(PoolKind, kernel: Size2, stride: Size2?, padding: PaddingSpec)
    case flatten
    case softmax
    /// `add NAME[,NAME...] [relu]`: the elementwise sum of the layer's input and the named tensors.
    case add(relu: Bool)
    /// `concat NAME[,NAME...]`: the channels of the layer's input, then those of the named tensors.
    case concat
    /// `globalavgpool`: HxWxC -> 1x1xC, the mean over H and W.
    case globalAvgPool
    /// `dropout P`: inverted dropout with drop probability P (0 <= P < 1).
    case dropout(p: Double)
    /// `batchnorm [eps=X] [momentum=X] [relu]`: PyTorch's BatchNorm2d (per channel) or BatchNorm1d (flat input).
    case batchnorm(BatchNormSpec)
}

/// A tensor named in the source (`from=NAME`, the operands of `add` and `concat`), with where it is written so
/// that shape inference, which knows every layer's name, can point at it.
public struct NameReference: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation
    public var length: Int

    public init(name: String, location: SourceLocation, length: Int) {
        self.name = name; self.location = location; self.length = length
    }
}

public struct LayerDecl: Sendable, Equatable {
    public var syntax: LayerSyntax
    /// `name=ID`, if given; otherwise shape inference names the layer kind + ordinal.
    public var name: String?
    /// The statement keyword's position and length.
    public var location: SourceLocation
    public var keywordLength: Int
    /// The kernel-size word's position and length (conv and pools), for shape errors.
    public var kernelLocation: SourceLocation?
    public var kernelLength: Int
    /// `from=NAME`: the tensor the layer reads instead of the previous statement's output.
    public var from: NameReference?
    /// The tensors `add` and `concat` name after their keyword, in order.
    public var operands: [NameReference]

    public init(syntax: LayerSyntax, name: String? = nil, location: SourceLocation, keywordLength: Int,
                kernelLocation: SourceLocation? = nil, kernelLength: Int = 1, from: NameReference? = nil,
                operands: [NameReference] = []) {
        self.syntax = syntax; self.name = name; self.location = location
        self.keywordLength = keywordLength; self.kernelLocation = kernelLocation; self.kernelLength = kernelLength
        self.from = from; self.operands = operands
    }
}
