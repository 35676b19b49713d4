/// Shape inference: turns the syntax tree into the typed graph. Names every layer, resolves padding and
/// strides against the actual input sizes, creates parameter tensors, and counts MACs forward and backward.
/// Every impossible shape is a `Diagnostic` at the statement that causes it.
public enum ShapeInference {
    /// `inputGradient`: whether the backward pass computes the input's gradient too (see `Network.inputGradient`).
    public static func infer(_ tree: SyntaxTree, inputGradient: Bool = false) throws -> Network {
        var layers: [Layer] = []
        var ordinals: [String: Int] = [:]
        var taken: [String: SourceLocation] = [:]
        for decl in tree.layers where decl.name != nil { taken[decl.name!] = decl.location }
        var totals = Totals()
        try checkInput(tree, &totals)
        // Every tensor's shape, and whether a learnable parameter lies upstream of it (so that its gradient is
        // needed), by tensor name.
        var shapes = [Network.inputTensor: tree.input]
        var learnableUpstream = [Network.inputTensor: inputGradient]
        var previous = Network.inputTensor
        // Every layer's name first: a name written before its layer is a forward reference, not an unknown name.
        var names: [String] = []
        for (index, decl) in tree.layers.enumerated() {
            if index == Limits.maxLayers {
                throw error(decl, tree, "too many layers: at most \(Limits.maxLayers) are supported",
                            hint: "this is layer \(index + 1)")
            }
            names.append(try layerName(decl, ordinals: &ordinals, taken: &taken, tree: tree))
        }
        let lineOf = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })

        for (index, decl) in tree.layers.enumerated() {
            let name = names[index]
            let inputs = try resolveInputs(decl, previous: previous, defined: shapes, names: names, index: index,
                                           later: lineOf, tree: tree)
            var layer = try inferLayer(decl, name: name, inputs: inputs, shapes: inputs.map { shapes[$0]! }, tree: tree)
            try checkLimits(layer, decl, tree, &totals)
            let upstream = inputs.contains { learnableUpstream[$0]! }
            layer.needsInputGradient = upstream
            layer.needsBackward = upstream || !layer.parameters.isEmpty
            if !layer.needsBackward { layer.backwardMACs = 0 }
            if !layer.needsInputGradient { layer.backwardMACs -= inputGradientMACs(layer) }
            shapes[name] = layer.output
            learnableUpstream[name] = layer.needsBackward
            previous = name
            layers.append(layer)
        }
        try checkEveryOutputIsRead(layers, tree)
        assignInitializers(&layers)

        var name = tree.netName ?? stem(of: tree.file)
        if name.isEmpty { name = "net" }
        return Network(name: name, sourceFile: tree.file, input: tree.input, scale: tree.scale,
                       scaleText: tree.scaleText, normalization: tree.normalization, layers: layers, train: tree.train,
                       inputGradient: inputGradient)
    }

    /// `name=` or kind + ordinal (`conv1`, `relu2`); an automatic name never reuses one taken explicitly.
    private static func layerName(_ decl: LayerDecl, ordinals: inout [String: Int], taken: inout [String: SourceLocation],
                                  tree: SyntaxTree) throws -> String {
        let kind = kindName(decl.syntax)
        ordinals[kind, default: 0] += 1
        if let explicit = decl.name {
            if explicit == Network.inputTensor {
                throw error(decl, tree, "'\(explicit)' names the network input and cannot name a layer",
                            hint: "choose another name=")
            }
            return explicit
        }
        var candidate = "\(kind)\(ordinals[kind]!)"
        var extra = 0
        while let clash = taken[candidate], clash != decl.location {
            extra += 1
            candidate = "\(kind)\(ordinals[kind]!)_\(extra)"
        }
        taken[candidate] = decl.location
        return candidate
    }

    static func kindName(_ s: LayerSyntax) -> String {
        switch s {
        case .conv: return "conv"
        case .dense: return "dense"
        case .bias: return "bias"
        case .activation(let a): return a.keyword
        case .pool(let k, _, _, _): return k.rawValue
        case .flatten: return "flatten"
        case .softmax: return "softmax"
        case .add: return "add"
        case .concat: return "concat"
        case .globalAvgPool: return "globalavgpool"
        case .dropout: return "dropout"
        case .batchnorm: return "batchnorm"
        }
    }

    private static func inferLayer(_ decl: LayerDecl, name: String, inputs: [String], shapes: [Shape],
                                   tree: SyntaxTree) throws -> Layer {
        let input = shapes[0]
        func layer(_ op: LayerOp, _ output: Shape, _ params: [Parameter] = [], macs: Int = 0, backward: Int = 0) -> Layer {
            Layer(name: name, op: op, inputs: inputs, inputShapes: shapes, output: output, parameters: params,
                  location: decl.location, forwardMACs: macs, backwardMACs: backward, needsInputGradient: true,
                  needsBackward: true)
        }
        switch decl.syntax {
        case let .conv(filters, kernel, stride, padding, bias, activation):
            if input.flat {
                throw error(decl, tree, "conv needs a spatial input, but its input is flat (\(input.count) values)",
                            hint: "put conv layers before flatten and dense")
            }
            let window = try resolve(decl, tree, kernel: kernel, stride: stride, padding: padding, input: input, what: "kernel")
            let (oh, ow) = window.output(h: input.h, w: input.w)
            let output = Shape(h: oh, w: ow, c: filters)
            var params = [Parameter(name: "\(name).weight",
                                    layout: .convWeight(oc: filters, c: input.c, kh: kernel.y, kw: kernel.x), initializer: .zeros)]
            params += try biasParameter(decl, tree, name: name, kind: bias, shape: output)
            let macs = Checked.product(oh, ow, filters, kernel.y, kernel.x, input.c) ?? Int.max
            return layer(.conv(filters: filters, window: window, bias: bias, activation: activation), output, params,
                         macs: macs, backward: Checked.product(2, macs) ?? Int.max)
        case let .dense(units, bias, activation):
            let output = Shape.flat(units)
            var params = [Parameter(name: "\(name).weight",
                                    layout: .denseWeight(out: units, inH: input.h, inW: input.w, inC: input.c), initializer: .zeros)]
            params += try biasParameter(decl, tree, name: name, kind: bias, shape: output)
            let macs = Checked.product(input.count, units) ?? Int.max
            return layer(.dense(units: units, bias: bias, activation: activation), output, params, macs: macs,
                         backward: Checked.product(2, macs) ?? Int.max)
        case let .bias(kind):
            return layer(.bias(kind), input, try biasParameter(decl, tree, name: name, kind: kind, shape: input))
        case let .activation(a):
            return layer(.activation(a), input)
        case let .pool(kind, kernel, stride, padding):
            if input.flat {
                throw error(decl, tree, "\(kind.rawValue) needs a spatial input, but its input is flat (\(input.count) values)")
            }
            let window = try resolve(decl, tree, kernel: kernel, stride: stride ?? kernel, padding: padding,
                                     input: input, what: "pool window")
            let (oh, ow) = window.output(h: input.h, w: input.w)
            return layer(.pool(kind, window: window), Shape(h: oh, w: ow, c: input.c))
        case .flatten:
            return layer(.flatten, .flattened(input))
        case .softmax:
            return layer(.softmax, .flattened(input))
        case let .add(relu):
            return layer(.add(relu: relu), try addShape(decl, inputs: inputs, shapes: shapes, tree: tree))
        case .concat:
            return layer(.concat, try concatShape(decl, inputs: inputs, shapes: shapes, tree: tree))
        case .globalAvgPool:
            if input.flat {
                throw error(decl, tree, "globalavgpool needs a spatial input, but its input is flat (\(input.count) values)",
                            hint: "put globalavgpool before flatten and dense")
            }
            return layer(.globalAvgPool, Shape(h: 1, w: 1, c: input.c))
        case let .dropout(p):
            return layer(.dropout(p: p), input)
        case let .batchnorm(spec):
            var l = layer(.batchnorm(spec), input, batchNormParameters(name: name, input: input))
            l.buffers = batchNormBuffers(name: name, input: input)
            return l
        }
    }

    private static func biasParameter(_ decl: LayerDecl, _ tree: SyntaxTree, name: String, kind: BiasKind,
                                      shape: Shape) throws -> [Parameter] {
        switch kind {
        case .none: return []
        case .channel where shape.flat, .element where shape.flat:
            // On a flat tensor every element is a channel: one bias per element, in PyTorch's C,H,W order.
            return [Parameter(name: "\(name).bias", layout: .flatBias(h: shape.h, w: shape.w, c: shape.c), initializer: .zeros)]
        case .channel: return [Parameter(name: "\(name).bias", layout: .channelBias(c: shape.c), initializer: .zeros)]
        case .element:
            return [Parameter(name: "\(name).bias", layout: .elementBias(h: shape.h, w: shape.w, c: shape.c), initializer: .zeros)]
        }
    }

    /// batchnorm's scale (init 1) and shift (init 0): one per channel, or one per value of a flat input (PyTorch's
    /// BatchNorm1d, features in C,H,W order as a flattened tensor has them).
    static func batchNormParameters(name: String, input: Shape) -> [Parameter] {
        let layout = batchNormLayout(input)
        return [Parameter(name: "\(name).weight", layout: layout, initializer: .ones),
                Parameter(name: "\(name).bias", layout: layout, initializer: .zeros)]
    }

    /// batchnorm's running statistics and batch counter: state saved in checkpoints, never trained.
    static func batchNormBuffers(name: String, input: Shape) -> [Parameter] {
        let layout = batchNormLayout(input)
        return [Parameter(name: "\(name).running_mean", layout: layout, initializer: .zeros, isBuffer: true),
                Parameter(name: "\(name).running_var", layout: layout, initializer: .ones, isBuffer: true),
                Parameter(name: "\(name).num_batches_tracked", layout: .counter, initializer: .zeros, isBuffer: true)]
    }

    static func batchNormLayout(_ input: Shape) -> ParamLayout {
        input.flat ? .flatBias(h: input.h, w: input.w, c: input.c) : .channelBias(c: input.c)
    }

    /// Resolves a window against its input: SAME padding, and the check that the kernel fits.
    private static func resolve(_ decl: LayerDecl, _ tree: SyntaxTree, kernel: Size2, stride: Size2, padding: PaddingSpec,
                                input: Shape, what: String) throws -> Window {
        let pad: Padding
        switch padding {
        case .explicit(let p):
            pad = Padding(top: p, left: p, bottom: p, right: p)
        case .same:
            let oh = (input.h + stride.y - 1) / stride.y, ow = (input.w + stride.x - 1) / stride.x
            let th = max((oh - 1) * stride.y + kernel.y - input.h, 0)
            let tw = max((ow - 1) * stride.x + kernel.x - input.w, 0)
            pad = Padding(top: th / 2, left: tw / 2, bottom: th - th / 2, right: tw - tw / 2)
        }
        let ph = input.h + pad.top + pad.bottom, pw = input.w + pad.left + pad.right
        if kernel.y > ph || kernel.x > pw {
            let padded = pad.isZero ? "input" : "padded input"
            throw Diagnostic("\(what) \(kernel) exceeds \(padded) \(ph)x\(pw)", at: decl.kernelLocation ?? decl.location,
                             lineText: tree.lineText(decl.location.line),
                             length: decl.kernelLocation == nil ? decl.keywordLength : decl.kernelLength,
                             hint: pad.isZero ? "pad the input (pad=same) or use a smaller \(what)" : "use a smaller \(what)")
        }
        if what == "pool window" && (pad.top >= kernel.y || pad.bottom >= kernel.y || pad.left >= kernel.x || pad.right >= kernel.x) {
            throw Diagnostic("padding \(pad) leaves a \(kernel) pool window with no input cell", at: decl.location,
                             lineText: tree.lineText(decl.location.line), length: decl.keywordLength,
                             hint: "padding must be smaller than the pool window on every side")
        }
        return Window(kernel: kernel, stride: stride, padding: pad)
    }

    /// Input-gradient MACs of a layer (the part skipped before the first learnable layer).
    private static func inputGradientMACs(_ layer: Layer) -> Int {
        switch layer.op {
        case .conv, .dense: return layer.forwardMACs
        default: return 0
        }
    }

    /// He for weights whose layer is followed by ReLU (inline or as the next layers after biases), Glorot otherwise.
    private static func assignInitializers(_ layers: inout [Layer]) {
        var consumers: [String: [Int]] = [:]
        for (i, l) in layers.enumerated() { for t in Set(l.inputs) { consumers[t, default: []].append(i) } }
        for i in layers.indices {
            switch layers[i].op {
            case let .conv(_, _, _, inline), let .dense(_, _, inline): setWeightInit(&layers, i, inline, consumers)
            default: break
            }
        }
    }

    private static func setWeightInit(_ layers: inout [Layer], _ i: Int, _ inline: Activation?,
                                      _ consumers: [String: [Int]]) {
        var act = inline
        var tensor = layers[i].name
        // Along the tensor's one reader while it is a stand-alone bias; an activation there decides.
        while act == nil, let readers = consumers[tensor], readers.count == 1, layers[readers[0]].inputs == [tensor] {
            let j = readers[0]
            if case .bias = layers[j].op { tensor = layers[j].name; continue }
            if case .activation(let a) = layers[j].op { act = a }
            break
        }
        let layer = layers[i]
        let fanIn: Int, fanOut: Int
        switch layer.parameters[0].layout {
        case let .convWeight(oc, c, kh, kw): fanIn = c * kh * kw; fanOut = oc * kh * kw
        case let .denseWeight(out, h, w, c): fanIn = h * w * c; fanOut = out
        default: return
        }
        switch act {
        case .relu, .leakyrelu: layers[i].parameters[0].initializer = .he(fanIn: fanIn)
        default: layers[i].parameters[0].initializer = .glorot(fanIn: fanIn, fanOut: fanOut)
        }
    }

    static func error(_ decl: LayerDecl, _ tree: SyntaxTree, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(message, at: decl.location, lineText: tree.lineText(decl.location.line), length: decl.keywordLength, hint: hint)
    }

    static func stem(of path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = base.lastIndex(of: "."), dot != base.startIndex { return String(base[..<dot]) }
        return base
    }
}
