// An independent reference interpreter of cnnc's typed graph: Double precision, naive loops, PyTorch layouts.
// It is the oracle the generated C and GLSL kernels are compared against, so it reads only the IR types and
// shares no code with the emitters. Everything here is deliberately plain.
//
// Layouts
//   - Every per-sample tensor is a [Double] in C,H,W order (PyTorch). A flat tensor (after dense, flatten or
//     softmax) is C = n, H = W = 1, so "C,H,W order" is just the flat index.
//   - Images arrive as raw values in H,W,C order (the data files' order) and are multiplied by `net.scale`,
//     then, with `normalize`, have the channel's mean subtracted and are divided by its std (torchvision's order).
//   - Parameters are in PyTorch layout (ParamLayout.torchShape, row-major): conv [oc, c, kh, kw],
//     dense [out, in] with `in` the input flattened in C,H,W order, channel bias [c], element bias [c, h, w].
//
// Graphs: every layer reads the tensors named in `Layer.inputs` ("input" or an earlier layer's output); the
// backward pass adds each reader's gradient into the gradient of the tensor it read (fan-out).
//
// Loss: when the last layer is softmax, the mean over the batch of -log p[label]; gradients are of that mean.
// A network that does not end in softmax has no loss: `loss` is NaN and `gradients` is empty.
//
// Dropout: the caller gives each dropout layer's mask per sample (`masks[layer][sample]`, C,H,W order, each value
// 0 or 1/(1-P)); the layer multiplies its input and its gradient by it. Without a mask it is the identity
// (evaluation).
// batchnorm couples the samples of a batch: training normalises with the batch's mean and biased variance per
// channel (over N,H,W; a flat tensor's every value is a channel) and returns the updated running statistics in
// `ReferenceResult.buffers`; evaluation (`training: false`) normalises with the running statistics found in
// `parameters` under NAME.running_mean / NAME.running_var. So the passes go layer by layer over all samples.
//
// Pool windows that contain no in-range cell at all (possible only with explicit padding >= kernel) output 0
// and pass no gradient.

@testable import CNNC
import Foundation

struct ReferenceResult {
    /// [sample][class]: the softmax output, or the last layer's output flattened if the net has no softmax.
    var probabilities: [[Double]]
    /// Mean cross-entropy over the batch, -log p[label] (NaN when the net does not end in softmax).
    var loss: Double
    /// d loss / d parameter, per parameter name, in PyTorch layout (row-major torchShape).
    var gradients: [String: [Double]]
    /// Every layer's output per sample, in C,H,W order, keyed by layer name.
    var outputs: [String: [[Double]]]
    /// How far the forward pass stayed from non-differentiable points: the smallest |x| over all ReLU inputs
    /// (inline or stand-alone) and the smallest gap between a max-pool window's maximum and its runner-up.
    /// +infinity when there is none. Finite-difference checks need it well above their step.
    var kinkMargin: Double = .infinity
    /// After a training forward pass: every batchnorm's running_mean, running_var and num_batches_tracked as
    /// updated by this batch (from the values in `parameters`, or PyTorch's initial ones where absent).
    var buffers: [String: [Double]] = [:]
}

enum Reference {
    // MARK: - Public entry points

    static func run(_ net: Network, parameters: [String: [Double]], images: [[Double]], labels: [Int],
                    masks: [String: [[Double]]] = [:], training: Bool = true) -> ReferenceResult {
        let trace = forward(net, parameters: parameters, images: images, masks: masks, training: training)
        let batch = images.count
        let probabilities = trace.values.last ?? trace.input
        var outputs: [String: [[Double]]] = [:]
        for (i, layer) in net.layers.enumerated() { outputs[layer.name] = trace.values[i] }

        var result = ReferenceResult(probabilities: probabilities, loss: .nan, gradients: [:], outputs: outputs,
                                     kinkMargin: trace.kinkMargin, buffers: trace.buffers)
        guard let last = net.layers.last, last.op == .softmax else { return result }
        precondition(labels.count == batch, "one label per image")

        result.loss = crossEntropy(logits: softmaxInputs(net, trace), labels)

        // Parameter gradients start at zero and accumulate over the samples.
        var grads: [String: [Double]] = [:]
        for p in net.parameters { grads[p.name] = [Double](repeating: 0, count: p.count) }

        // d(mean loss)/d(softmax input) = (p - onehot(label)) / batch, per sample.
        let seeds = (0..<batch).map { s in
            probabilities[s].indices.map { k in (probabilities[s][k] - (k == labels[s] ? 1 : 0)) / Double(batch) }
        }
        // Walk back through every layer below the final softmax, all samples of a layer at once, adding each
        // reader's gradient into the gradient of every tensor it read.
        var gradientOf = [last.inputs[0]: seeds]
        var li = net.layers.count - 2
        while li >= 0 {
            let layer = net.layers[li]
            li -= 1
            guard let gs = gradientOf[layer.name] else { continue }
            let dxs: [[[Double]]]  // [sample][input]
            if case .batchnorm = layer.op {
                dxs = batchNormBackward(layer, xs: (0..<batch).map { trace.value(layer.inputs[0], sample: $0, net) },
                                        pre: trace.pre[li + 1], g: gs, statistics: trace.batchNorm[li + 1]!,
                                        parameters: parameters, grads: &grads, training: training).map { [$0] }
            } else {
                dxs = (0..<batch).map { s in
                    backwardAll(layer, xs: layer.inputs.map { trace.value($0, sample: s, net) }, pre: trace.pre[li + 1][s],
                                y: trace.values[li + 1][s], g: gs[s], mask: masks[layer.name]?[s], parameters: parameters,
                                grads: &grads)
                }
            }
            for (i, name) in layer.inputs.enumerated() {
                let dx = dxs.map { $0[i] }
                if let sum = gradientOf[name] {
                    gradientOf[name] = zip(sum, dx).map { a, b in zip(a, b).map { $0 + $1 } }
                } else {
                    gradientOf[name] = dx
                }
            }
        }
        result.gradients = grads
        return result
    }

    /// The loss alone (no backward pass), for finite differences.
    static func loss(_ net: Network, parameters: [String: [Double]], images: [[Double]], labels: [Int],
                     masks: [String: [[Double]]] = [:], training: Bool = true) -> Double {
        let trace = forward(net, parameters: parameters, images: images, masks: masks, training: training)
        guard let last = net.layers.last, last.op == .softmax else { return .nan }
        return crossEntropy(logits: softmaxInputs(net, trace), labels)
    }

    /// [sample]: the input of the final softmax.
    static func softmaxInputs(_ net: Network, _ trace: Trace) -> [[Double]] {
        trace.input.indices.map { trace.value(net.layers.last!.inputs[0], sample: $0, net) }
    }

    /// Uniform values in [-scale, scale) for every parameter (biases included), PyTorch layout, from a
    /// SplitMix64 stream: the same seed always gives the same values.
    static func randomParameters(_ net: Network, seed: UInt64, scale: Double = 0.5) -> [String: [Double]] {
        var rng = Random(seed: seed)
        var out: [String: [Double]] = [:]
        for p in net.parameters {
            var v = [Double](repeating: 0, count: p.count)
            for i in 0..<p.count { v[i] = (2 * rng.nextUnit() - 1) * scale }
            out[p.name] = v
        }
        return out
    }

    // MARK: - Forward

    struct Trace {
        /// [sample]: the scaled input in C,H,W order.
        var input: [[Double]] = []
        /// [layer][sample]: each layer's output.
        var values: [[[Double]]] = []
        /// [layer][sample]: conv/dense output before the inline activation (empty for other layers).
        var pre: [[[Double]]] = []
        var kinkMargin: Double = .infinity
        /// Per batchnorm layer index: the mean and 1/sqrt(var + eps) it normalised with, per channel.
        var batchNorm: [Int: (mean: [Double], inv: [Double])] = [:]
        /// The running statistics after a training pass (ReferenceResult.buffers).
        var buffers: [String: [Double]] = [:]

        /// Tensor `name` of sample `s`: the scaled input or a layer's output.
        func value(_ name: String, sample s: Int, _ net: Network) -> [Double] {
            name == Network.inputTensor ? input[s] : values[net.layers.firstIndex { $0.name == name }!][s]
        }
    }

    static func forward(_ net: Network, parameters: [String: [Double]], images: [[Double]],
                        masks: [String: [[Double]]] = [:], training: Bool = true) -> Trace {
        for p in net.parameters {
            precondition(parameters[p.name]?.count == p.count, "parameter \(p.name) needs \(p.count) values")
        }
        var trace = Trace()
        let ih = net.input.h, iw = net.input.w, ic = net.input.c
        for image in images {
            precondition(image.count == net.input.count, "image needs \(net.input.count) values")
            // H,W,C -> C,H,W, times scale, then (v - mean) / std per channel.
            var x = [Double](repeating: 0, count: image.count)
            for c in 0..<ic {
                let mean = net.normalization?.mean[c] ?? 0, std = net.normalization?.std[c] ?? 1
                for y in 0..<ih {
                    for xx in 0..<iw {
                        x[(c * ih + y) * iw + xx] = (image[(y * iw + xx) * ic + c] * net.scale - mean) / std
                    }
                }
            }
            trace.input.append(x)
        }
        trace.values = Array(repeating: [], count: net.layers.count)
        trace.pre = Array(repeating: [], count: net.layers.count)
        for (li, layer) in net.layers.enumerated() {
            if case .batchnorm = layer.op {
                batchNormForward(layer, index: li, parameters: parameters, training: training, net, &trace)
                continue
            }
            for s in 0..<images.count {
                var pre: [Double] = []
                let xs = layer.inputs.map { trace.value($0, sample: s, net) }
                let y = forwardLayer(layer, xs: xs, parameters: parameters, mask: masks[layer.name]?[s], pre: &pre,
                                     margin: &trace.kinkMargin)
                trace.values[li].append(y)
                trace.pre[li].append(pre)
            }
        }
        return trace
    }

    /// One layer on one sample, from its inputs `xs` (in `Layer.inputs` order). `pre` receives the conv/dense
    /// value before the inline activation, and an add's sum before its ReLU. `mask`: a dropout layer's multipliers.
    static func forwardLayer(_ layer: Layer, xs: [[Double]], parameters: [String: [Double]], mask: [Double]? = nil,
                             pre: inout [Double], margin: inout Double) -> [Double] {
        let inS = layer.input, outS = layer.output, x = xs[0]
        for (v, shape) in zip(xs, layer.inputShapes) { precondition(v.count == shape.count) }
        switch layer.op {
        case let .add(relu):
            var sum = x
            for other in xs.dropFirst() { for i in sum.indices { sum[i] += other[i] } }
            pre = sum
            return activate(relu ? .relu : nil, sum, margin: &margin)

        case .concat:
            // C,H,W order: the channels of each input follow the previous input's (flat: the values).
            return xs.flatMap { $0 }

        case .dropout:
            guard let mask else { return x }
            precondition(mask.count == x.count, "a dropout mask needs \(x.count) values")
            return zip(x, mask).map { $0 * $1 }
        case .batchnorm:
            preconditionFailure("batchnorm runs over the whole batch (batchNormForward)")

        case .globalAvgPool:
            let HW = inS.h * inS.w
            return (0..<inS.c).map { c in x[(c * HW)..<((c + 1) * HW)].reduce(0, +) / Double(HW) }

        case let .conv(filters, window, bias, activation):
            let w = parameters[layer.name + ".weight"]!
            let C = inS.c, H = inS.h, W = inS.w, OH = outS.h, OW = outS.w
            let KH = window.kernel.y, KW = window.kernel.x
            var out = [Double](repeating: 0, count: outS.count)
            for oc in 0..<filters {
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        var sum = 0.0
                        for c in 0..<C {
                            for ky in 0..<KH {
                                for kx in 0..<KW {
                                    let iy = oy * window.stride.y - window.padding.top + ky
                                    let ix = ox * window.stride.x - window.padding.left + kx
                                    if iy < 0 || iy >= H || ix < 0 || ix >= W { continue }
                                    sum += w[((oc * C + c) * KH + ky) * KW + kx] * x[(c * H + iy) * W + ix]
                                }
                            }
                        }
                        out[(oc * OH + oy) * OW + ox] = sum
                    }
                }
            }
            addBias(bias, parameters[layer.name + ".bias"], to: &out, shape: outS)
            pre = out
            return activate(activation, out, margin: &margin)

        case let .dense(units, bias, activation):
            let w = parameters[layer.name + ".weight"]!
            let n = inS.count
            var out = [Double](repeating: 0, count: units)
            for o in 0..<units {
                var sum = 0.0
                for i in 0..<n { sum += w[o * n + i] * x[i] }
                out[o] = sum
            }
            addBias(bias, parameters[layer.name + ".bias"], to: &out, shape: outS)
            pre = out
            return activate(activation, out, margin: &margin)

        case let .bias(kind):
            var out = x
            addBias(kind, parameters[layer.name + ".bias"], to: &out, shape: outS)
            return out

        case let .activation(a):
            return activate(a, x, margin: &margin)

        case let .pool(kind, window):
            let C = inS.c, H = inS.h, W = inS.w, OH = outS.h, OW = outS.w
            var out = [Double](repeating: 0, count: outS.count)
            for c in 0..<C {
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        let cells = windowCells(window, oy: oy, ox: ox, h: H, w: W)
                        if cells.isEmpty { continue }
                        let values = cells.map { x[(c * H + $0.y) * W + $0.x] }
                        switch kind {
                        case .max:
                            let best = firstMaxIndex(values)
                            out[(c * OH + oy) * OW + ox] = values[best]
                            for (k, v) in values.enumerated() where k != best {
                                margin = min(margin, values[best] - v)
                            }
                        case .avg:
                            out[(c * OH + oy) * OW + ox] = values.reduce(0, +) / Double(values.count)
                        }
                    }
                }
            }
            return out

        case .flatten:
            return x  // C,H,W order already

        case .softmax:
            let m = x.max() ?? 0
            var e = x.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            for k in 0..<e.count { e[k] /= sum }
            return e
        }
    }

    // MARK: - Backward

    /// One layer on one sample: accumulates its parameter gradients and returns dL/d(input) for each input.
    static func backwardAll(_ layer: Layer, xs: [[Double]], pre: [Double], y: [Double], g: [Double],
                            mask: [Double]? = nil, parameters: [String: [Double]], grads: inout [String: [Double]]) -> [[Double]] {
        switch layer.op {
        case .dropout:
            return [mask.map { zip(g, $0).map { $0 * $1 } } ?? g]
        case let .add(relu):
            let dz = throughActivation(relu ? .relu : nil, pre: pre, g: g)
            return xs.map { _ in dz }
        case .concat:
            var out: [[Double]] = []
            var at = 0
            for x in xs {
                out.append(Array(g[at..<(at + x.count)]))
                at += x.count
            }
            return out
        case .globalAvgPool:
            let HW = layer.input.h * layer.input.w
            return [(0..<layer.input.count).map { g[$0 / HW] / Double(HW) }]
        default:
            return [backward(layer, x: xs[0], pre: pre, y: y, g: g, parameters: parameters, grads: &grads)]
        }
    }

    /// One layer on one sample: accumulates its parameter gradients into `grads` and returns dL/dx.
    /// `x` is the layer's input, `pre` the pre-activation value (conv/dense), `y` its output, `g` = dL/dy.
    static func backward(_ layer: Layer, x: [Double], pre: [Double], y: [Double], g: [Double],
                         parameters: [String: [Double]], grads: inout [String: [Double]]) -> [Double] {
        let inS = layer.input, outS = layer.output
        var dx = [Double](repeating: 0, count: inS.count)
        switch layer.op {
        case let .conv(filters, window, bias, activation):
            let gp = throughActivation(activation, pre: pre, g: g)
            accumulateBias(bias, name: layer.name + ".bias", g: gp, shape: outS, grads: &grads)
            let w = parameters[layer.name + ".weight"]!
            var dw = grads[layer.name + ".weight"]!
            let C = inS.c, H = inS.h, W = inS.w, OH = outS.h, OW = outS.w
            let KH = window.kernel.y, KW = window.kernel.x
            for oc in 0..<filters {
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        let go = gp[(oc * OH + oy) * OW + ox]
                        for c in 0..<C {
                            for ky in 0..<KH {
                                for kx in 0..<KW {
                                    let iy = oy * window.stride.y - window.padding.top + ky
                                    let ix = ox * window.stride.x - window.padding.left + kx
                                    if iy < 0 || iy >= H || ix < 0 || ix >= W { continue }
                                    let wi = ((oc * C + c) * KH + ky) * KW + kx
                                    let xi = (c * H + iy) * W + ix
                                    dw[wi] += go * x[xi]
                                    dx[xi] += go * w[wi]
                                }
                            }
                        }
                    }
                }
            }
            grads[layer.name + ".weight"] = dw

        case let .dense(units, bias, activation):
            let gp = throughActivation(activation, pre: pre, g: g)
            accumulateBias(bias, name: layer.name + ".bias", g: gp, shape: outS, grads: &grads)
            let w = parameters[layer.name + ".weight"]!
            var dw = grads[layer.name + ".weight"]!
            let n = inS.count
            for o in 0..<units {
                for i in 0..<n {
                    dw[o * n + i] += gp[o] * x[i]
                    dx[i] += gp[o] * w[o * n + i]
                }
            }
            grads[layer.name + ".weight"] = dw

        case let .bias(kind):
            accumulateBias(kind, name: layer.name + ".bias", g: g, shape: outS, grads: &grads)
            dx = g

        case let .activation(a):
            dx = throughActivation(a, pre: x, g: g)

        case let .pool(kind, window):
            let C = inS.c, H = inS.h, W = inS.w, OH = outS.h, OW = outS.w
            for c in 0..<C {
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        let cells = windowCells(window, oy: oy, ox: ox, h: H, w: W)
                        if cells.isEmpty { continue }
                        let go = g[(c * OH + oy) * OW + ox]
                        switch kind {
                        case .max:
                            let values = cells.map { x[(c * H + $0.y) * W + $0.x] }
                            let best = cells[firstMaxIndex(values)]
                            dx[(c * H + best.y) * W + best.x] += go
                        case .avg:
                            for cell in cells { dx[(c * H + cell.y) * W + cell.x] += go / Double(cells.count) }
                        }
                    }
                }
            }

        case .flatten:
            dx = g

        case .softmax:
            // A softmax that is not the last layer: dx_i = p_i (g_i - sum_j g_j p_j).
            var dot = 0.0
            for j in 0..<y.count { dot += g[j] * y[j] }
            for i in 0..<y.count { dx[i] = y[i] * (g[i] - dot) }

        case .add, .concat, .globalAvgPool, .dropout, .batchnorm:
            preconditionFailure("backwardAll handles the graph layers and dropout; batchNormBackward batchnorm")
        }
        return dx
    }

    // MARK: - Pieces

    static func addBias(_ kind: BiasKind, _ b: [Double]?, to v: inout [Double], shape: Shape) {
        // On a flat tensor (after flatten or dense) every element is its own channel.
        let C = shape.flat ? shape.count : shape.c, HW = shape.flat ? 1 : shape.h * shape.w
        switch kind {
        case .none:
            return
        case .channel:
            for c in 0..<C { for p in 0..<HW { v[c * HW + p] += b![c] } }
        case .element:
            for i in 0..<v.count { v[i] += b![i] }  // [c, h, w] is the tensor's own order
        }
    }

    static func accumulateBias(_ kind: BiasKind, name: String, g: [Double], shape: Shape,
                               grads: inout [String: [Double]]) {
        // On a flat tensor (after flatten or dense) every element is its own channel.
        let C = shape.flat ? shape.count : shape.c, HW = shape.flat ? 1 : shape.h * shape.w
        switch kind {
        case .none:
            return
        case .channel:
            var db = grads[name]!
            for c in 0..<C { for p in 0..<HW { db[c] += g[c * HW + p] } }
            grads[name] = db
        case .element:
            var db = grads[name]!
            for i in 0..<g.count { db[i] += g[i] }
            grads[name] = db
        }
    }

    static func activate(_ a: Activation?, _ v: [Double], margin: inout Double) -> [Double] {
        guard let a else { return v }
        switch a {
        case .relu:
            for t in v { margin = min(margin, abs(t)) }
            return v.map { $0 > 0 ? $0 : 0 }
        case .sigmoid:
            return v.map { 1 / (1 + exp(-$0)) }
        case .tanh:
            return v.map { Foundation.tanh($0) }
        case let .leakyrelu(slope):
            for t in v { margin = min(margin, abs(t)) }
            return v.map { $0 > 0 ? $0 : slope * $0 }
        }
    }

    /// dL/d(pre) from dL/d(activation(pre)).
    static func throughActivation(_ a: Activation?, pre: [Double], g: [Double]) -> [Double] {
        guard let a else { return g }
        var out = [Double](repeating: 0, count: g.count)
        for i in 0..<g.count {
            let d: Double
            switch a {
            case .relu: d = pre[i] > 0 ? 1 : 0
            case .sigmoid:
                let s = 1 / (1 + exp(-pre[i]))
                d = s * (1 - s)
            case .tanh:
                let t = Foundation.tanh(pre[i])
                d = 1 - t * t
            case let .leakyrelu(slope): d = pre[i] > 0 ? 1 : slope
            }
            out[i] = g[i] * d
        }
        return out
    }

    /// The in-range input cells of output cell (oy, ox), in row-major window order.
    static func windowCells(_ window: Window, oy: Int, ox: Int, h: Int, w: Int) -> [(y: Int, x: Int)] {
        var cells: [(y: Int, x: Int)] = []
        for ky in 0..<window.kernel.y {
            for kx in 0..<window.kernel.x {
                let iy = oy * window.stride.y - window.padding.top + ky
                let ix = ox * window.stride.x - window.padding.left + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w { cells.append((iy, ix)) }
            }
        }
        return cells
    }

    /// Index of the first maximum (ties go to the earliest).
    static func firstMaxIndex(_ v: [Double]) -> Int {
        var best = 0
        for k in 1..<max(v.count, 1) where v[k] > v[best] { best = k }
        return best
    }

    /// Mean over the batch of -log softmax(z)[label], computed from the logits z as
    /// log(sum_k exp(z_k - m)) - (z_label - m) with m = max z, which equals -log p[label] but cannot overflow
    /// or take the log of an underflowed 0.
    static func crossEntropy(logits: [[Double]], _ labels: [Int]) -> Double {
        precondition(labels.count == logits.count, "one label per image")
        var sum = 0.0
        for (z, label) in zip(logits, labels) {
            precondition(label >= 0 && label < z.count, "label \(label) out of range")
            let m = z.max() ?? 0
            var e = 0.0
            for v in z { e += exp(v - m) }
            sum += log(e) - (z[label] - m)
        }
        return sum / Double(max(labels.count, 1))
    }

    /// SplitMix64: a tiny, well-known deterministic generator (for parameters and test data).
    struct Random {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
        mutating func nextInt(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }
}
