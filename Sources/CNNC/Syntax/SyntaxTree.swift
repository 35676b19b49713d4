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
    public var layers: [LayerDecl]
    public var train: TrainConfig

    public init(file: String, lines: [String], netName: String?, input: Shape, inputLocation: SourceLocation,
                scale: Double = 1, scaleText: String? = nil, layers: [LayerDecl], train: TrainConfig) {
        self.file = file; self.lines = lines; self.netName = netName
        self.input = input; self.inputLocation = inputLocation
        self.scale = scale; self.scaleText = scaleText
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

    public init(syntax: LayerSyntax, name: String? = nil, location: SourceLocation, keywordLength: Int,
                kernelLocation: SourceLocation? = nil, kernelLength: Int = 1) {
        self.syntax = syntax; self.name = name; self.location = location
        self.keywordLength = keywordLength; self.kernelLocation = kernelLocation; self.kernelLength = kernelLength
    }
}
