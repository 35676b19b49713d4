/// Lowers the typed graph and its trained parameters to an `ONNXGraph` that computes what the generated trainer
/// computes at inference: input `[N, C, H, W]` float32 (raw values, as in the data files), output the softmax
/// probabilities `[N, classes]` in the trainer's class order. One mapping per layer kind (see Docs/export.md):
///
///   scale               Mul by a scalar, first
///   normalize           Sub mean, Div std ([1,C,1,1] constants, or scalars), after the scale
///   conv                Conv (weights [oc, c, kh, kw], pads [top, left, bottom, right]); channel bias as its B,
///                       element bias as an Add of [1, C, H, W]; then the activation
///   dense               Flatten (if spatial) + Gemm(transB=1), bias as its C; then the activation
///   bias                Add of [1, C, 1, 1], [1, C, H, W] or [1, n]
///   relu/sigmoid/tanh   Relu / Sigmoid / Tanh
///   maxpool/avgpool     MaxPool / AveragePool with explicit pads; AveragePool divides by the in-range cells
///                       only (count_include_pad=0), as cnnc does
///   flatten             Flatten (C,H,W order, as PyTorch's flatten and the checkpoint's dense weights)
///   softmax             Flatten + Softmax(axis=1)
///   add                 Add (Sum for three or more inputs); then Relu with `relu`
///   concat              Concat(axis=1): the channel axis of [N, C, H, W], the length of [N, n]
///   globalavgpool       GlobalAveragePool
///   batchnorm           BatchNormalization with the running statistics (inference); then Relu with `relu`
///
/// A layer reads its inputs' tensors by name (`from=`, `add`, `concat`): every layer's output tensor is kept.
///
/// Tensors stay in ONNX's NCHW order, and flat tensors in C,H,W order, so PyTorch-layout parameters apply as they
/// are. The one place cnnc's own H,W,C memory order shows is the class index of a softmax over a spatial tensor:
/// there the classes are put back into H,W,C order before the softmax.
public enum ONNXLowering {
    public static func model(_ net: Network, weights: [String: [Float]]) throws -> ONNXModel {
        guard let last = net.layers.last, last.op == .softmax else {
            throw CompileError("\(net.sourceFile): error: export needs 'softmax' as the last layer (its output is the model's)")
        }
        var b = GraphBuilder(net: net, weights: weights)
        for layer in net.layers { try b.lower(layer) }
        return ONNXModel(graph: b.finish(), docString: "\(net.name), exported by cnnc from \(stem(net.sourceFile)).cnn")
    }

    private static func stem(_ path: String) -> String { ShapeInference.stem(of: path) }
}

/// The tensor between two layers: `[N, C, H, W]`, or `[N, n]` in C,H,W order.
private enum Form {
    case spatial(c: Int, h: Int, w: Int)
    case flat(Int)

    var dims: [ONNXDimension] {
        switch self {
        case let .spatial(c, h, w): return [.symbol(batchSymbol), .value(c), .value(h), .value(w)]
        case let .flat(n): return [.symbol(batchSymbol), .value(n)]
        }
    }
}

/// The name of the batch dimension, bound by the runtime.
private let batchSymbol = "N"

private struct GraphBuilder {
    let net: Network
    let weights: [String: [Float]]
    var graph: ONNXGraph
    /// The tensor the next layer reads, and its form.
    var current = "input"
    var form: Form
    /// Every node and tensor name used so far (one namespace for both, which keeps Netron's labels unambiguous).
    var taken: Set<String>
    /// The ONNX tensor and form of each layer's output (and of the network input), by the layer's name.
    var outputs: [String: (tensor: String, form: Form)] = [:]

    init(net: Network, weights: [String: [Float]]) {
        self.net = net
        self.weights = weights
        graph = ONNXGraph(name: net.name)
        form = .spatial(c: net.input.c, h: net.input.h, w: net.input.w)
        taken = Set(["input", "probabilities"] + net.layers.map(\.name) + net.parameters.map(\.name))
        graph.inputs = [ONNXValueInfo(name: "input", dims: form.dims)]
        if net.scale != 1 {
            let scale = constant(fresh("scale"), dims: [], .float([Float(net.scale)]))
            emit("Mul", fresh("input_scaled"), inputs: [current, scale], form: form)
        }
        if let norm = net.normalization {
            // (x - mean) / std with [1,C,1,1] constants (scalars when every channel's are equal), Normalize's form.
            let c = net.input.c, dims = norm.isUniform ? [] : [1, c, 1, 1]
            let values = { (v: [Double]) in
                ONNXTensor.Values.float(norm.isUniform ? [Float(v[0])] : v.map(Float.init))
            }
            let mean = constant(fresh("normalize_mean"), dims: dims, values(norm.mean))
            emit("Sub", fresh("input_centered"), inputs: [current, mean], form: form)
            let std = constant(fresh("normalize_std"), dims: dims, values(norm.std))
            emit("Div", fresh("input_normalized"), inputs: [current, std], form: form)
        }
        outputs[Network.inputTensor] = (current, form)
    }

    mutating func lower(_ layer: Layer) throws {
        // A layer's node and its output tensor carry the layer's name (reserved for it in `taken`), unless the
        // name is one of the graph's input and output tensors.
        let node = ["input", "probabilities"].contains(layer.name) ? fresh(layer.name) : layer.name
        (current, form) = outputs[layer.inputs[0]]!
        defer { outputs[layer.name] = (current, form) }
        let others = layer.inputs.dropFirst().map { outputs[$0]!.tensor }
        switch layer.op {
        case let .conv(_, window, _, activation):
            let bias = layer.parameters.first { $0.name == layer.name + ".bias" }
            var inputs = [current, try parameter(layer.name + ".weight", of: layer)]
            if case .channelBias? = bias?.layout { inputs.append(try parameter(bias!.name, of: layer)) }
            emit("Conv", node, inputs: inputs, attributes: windowAttributes(window) + [
                .ints("dilations", [1, 1]), .int("group", 1),
            ], form: .spatial(c: layer.output.c, h: layer.output.h, w: layer.output.w))
            if let bias, case .elementBias = bias.layout { try addBias(bias, of: layer, node: fresh(layer.name + "_bias")) }
            if let activation { activate(activation, fresh(layer.name + "_" + activation.keyword)) }

        case let .dense(units, _, activation):
            flatten(fresh(layer.name + "_flatten"))
            var inputs = [current, try parameter(layer.name + ".weight", of: layer)]
            if let bias = layer.parameters.first(where: { $0.name == layer.name + ".bias" }) {
                inputs.append(try parameter(bias.name, of: layer))
            }
            emit("Gemm", node, inputs: inputs, attributes: [
                .float("alpha", 1), .float("beta", 1), .int("transA", 0), .int("transB", 1),
            ], form: .flat(units))
            if let activation { activate(activation, fresh(layer.name + "_" + activation.keyword)) }

        case .bias:
            if let p = layer.parameters.first { try addBias(p, of: layer, node: node) }

        case .activation(let a):
            activate(a, node)

        case let .pool(kind, window):
            var attributes = windowAttributes(window) + [.int("ceil_mode", 0)]
            if kind == .avg { attributes.append(.int("count_include_pad", 0)) }
            emit(kind == .max ? "MaxPool" : "AveragePool", node, inputs: [current], attributes: attributes,
                 form: .spatial(c: layer.output.c, h: layer.output.h, w: layer.output.w))

        case .flatten:
            flatten(node)

        case .softmax:
            let s = layer.input
            if s.h * s.w > 1 && s.c > 1 { toClassOrder(s, layer.name) }
            flatten(fresh(layer.name + "_flatten"))
            emit("Softmax", node, inputs: [current], attributes: [.int("axis", 1)], form: form, output: "probabilities")

        case let .add(relu):
            emit(others.count == 1 ? "Add" : "Sum", node, inputs: [current] + others, form: form)
            if relu { activate(.relu, fresh(layer.name + "_relu")) }

        case .concat:
            let out = layer.output
            emit("Concat", node, inputs: [current] + others, attributes: [.int("axis", 1)],
                 form: out.flat ? .flat(out.count) : .spatial(c: out.c, h: out.h, w: out.w))

        case .globalAvgPool:
            emit("GlobalAveragePool", node, inputs: [current], form: .spatial(c: layer.output.c, h: 1, w: 1))

        case let .dropout(p):
            // Dropout with its ratio and no training_mode input: an identity at inference, as in cnnc's evaluation,
            // that keeps the layer and its P in the exported model.
            let ratio = constant(fresh(layer.name + "_ratio"), dims: [], .float([Float(p)]))
            emit("Dropout", node, inputs: [current, ratio], form: form)
        case let .batchnorm(spec):
            // ONNX's momentum weighs the old running value: 1 - PyTorch's. Inference does not use it.
            let inputs = try ["weight", "bias", "running_mean", "running_var"].map { try parameter("\(layer.name).\($0)", of: layer) }
            emit("BatchNormalization", node, inputs: [current] + inputs,
                 attributes: [.float("epsilon", Float(spec.eps)), .float("momentum", Float(1 - spec.momentum))], form: form)
            if spec.relu { activate(.relu, fresh(layer.name + "_relu")) }
        }
    }

    /// Declares the graph's output: the tensor the last layer wrote.
    func finish() -> ONNXGraph {
        var g = graph
        g.outputs = [ONNXValueInfo(name: current, dims: form.dims)]
        return g
    }

    // MARK: - Mappings shared by several layer kinds

    /// kernel_shape, strides and pads ([top, left, bottom, right]: begins of H and W, then their ends).
    private func windowAttributes(_ w: Window) -> [ONNXAttribute] {
        [.ints("kernel_shape", [w.kernel.y, w.kernel.x]), .ints("strides", [w.stride.y, w.stride.x]),
         .ints("pads", [w.padding.top, w.padding.left, w.padding.bottom, w.padding.right])]
    }

    /// A bias that is not folded into Conv or Gemm: an Add whose constant broadcasts over the batch
    /// (and over H and W for a channel bias).
    private mutating func addBias(_ p: Parameter, of layer: Layer, node: String) throws {
        let values = try values(p.name, of: layer)
        let dims: [Int]
        switch p.layout {
        case let .channelBias(c): dims = [1, c, 1, 1]
        case let .elementBias(h, w, c): dims = [1, c, h, w]          // the checkpoint's [c, h, w], batch in front
        case let .flatBias(h, w, c): dims = [1, h * w * c]           // C,H,W order, as the flat tensor
        case .convWeight, .denseWeight, .counter: return
        }
        let name = constant(p.name, dims: dims, .float(values))
        emit("Add", node, inputs: [current, name], form: form)
    }

    private mutating func activate(_ a: Activation, _ name: String) {
        let op: String
        var attributes: [ONNXAttribute] = []
        switch a {
        case .relu: op = "Relu"
        case .sigmoid: op = "Sigmoid"
        case .tanh: op = "Tanh"
        case let .leakyrelu(slope):
            op = "LeakyRelu"
            attributes = [ONNXAttribute("alpha", .float(Float(slope)))]
        }
        emit(op, name, inputs: [current], attributes: attributes, form: form)
    }

    /// Flattens a spatial tensor to `[N, C*H*W]` in C,H,W order; a flat one is left as it is.
    private mutating func flatten(_ name: String) {
        guard case let .spatial(c, h, w) = form else { return }
        emit("Flatten", name, inputs: [current], attributes: [.int("axis", 1)], form: .flat(c * h * w))
    }

    /// Reorders a tensor of shape `s` into cnnc's H,W,C order, the order of its classes: a Transpose of the
    /// spatial tensor (reshaped back to `[N, C, H, W]` first if it was flattened).
    private mutating func toClassOrder(_ s: Shape, _ name: String) {
        if case .flat = form {
            let shape = constant(fresh(name + "_shape"), dims: [4], .int64([0, Int64(s.c), Int64(s.h), Int64(s.w)]))
            emit("Reshape", fresh(name + "_unflatten"), inputs: [current, shape], form: .spatial(c: s.c, h: s.h, w: s.w))
        }
        // [N, H, W, C]: a four-dimensional tensor like any other to the Flatten that follows.
        emit("Transpose", fresh(name + "_hwc"), inputs: [current], attributes: [.ints("perm", [0, 2, 3, 1])],
             form: .spatial(c: s.h, h: s.w, w: s.c))
        flatten(fresh(name + "_flatten"))
    }

    // MARK: - Building blocks

    /// Appends a node reading `inputs` and writing one tensor (named `output`, or after the node), which
    /// becomes the current tensor, of form `form`.
    private mutating func emit(_ op: String, _ name: String, inputs: [String], attributes: [ONNXAttribute] = [],
                               form: Form, output: String? = nil) {
        let out = output ?? name
        taken.insert(name)
        taken.insert(out)
        graph.nodes.append(ONNXNode(name: name, opType: op, inputs: inputs, outputs: [out], attributes: attributes))
        if output == nil { graph.valueInfo.append(ONNXValueInfo(name: out, dims: form.dims)) }
        current = out
        self.form = form
    }

    private mutating func constant(_ name: String, dims: [Int], _ values: ONNXTensor.Values) -> String {
        taken.insert(name)
        graph.initializers.append(ONNXTensor(name: name, dims: dims, values: values))
        return name
    }

    /// A parameter as an initializer of its PyTorch shape, named as in the checkpoint.
    private mutating func parameter(_ name: String, of layer: Layer) throws -> String {
        guard let p = (layer.parameters + layer.buffers).first(where: { $0.name == name }) else {
            throw CompileError("\(net.sourceFile): error: layer \(layer.name) has no parameter \(name)")
        }
        return constant(name, dims: p.layout.torchShape, .float(try values(name, of: layer)))
    }

    private func values(_ name: String, of layer: Layer) throws -> [Float] {
        guard let p = (layer.parameters + layer.buffers).first(where: { $0.name == name }), let v = weights[name],
              v.count == p.count else {
            throw CompileError("\(net.sourceFile): error: no values of the right size for parameter \(name)")
        }
        return v
    }

    /// `base`, or `base_2`, `base_3`, ... if taken (a layer may be named like another's helper node).
    private func fresh(_ base: String) -> String {
        if !taken.contains(base) { return base }
        var k = 2
        while taken.contains("\(base)_\(k)") { k += 1 }
        return "\(base)_\(k)"
    }
}
