// The parameter contract between this runtime and the generated Network.swift (see Docs/generated-package.md),
// plus the layout helpers: element counts, PyTorch shapes, and conversions between cnnc's layout (channels
// innermost, as the kernels want it) and PyTorch's layout (as checkpoints store it).

enum ParamLayoutSpec {
    case convWeight(oc: Int, c: Int, kh: Int, kw: Int)       // cnnc [kh][kw][c][oc]     PyTorch [oc, c, kh, kw]
    case denseWeight(out: Int, inH: Int, inW: Int, inC: Int) // cnnc [(h*inW+w)*inC+c][out]  PyTorch [out, c*inH*inW + h*inW + w]
    case channelBias(c: Int)                                 // cnnc [c]                 PyTorch [c]
    case elementBias(h: Int, w: Int, c: Int)                 // cnnc [h][w][c]           PyTorch [c, h, w]
    case flatBias(h: Int, w: Int, c: Int)                    // cnnc [h][w][c]           PyTorch [c*h*w] (flattened C,H,W)
    case counter                                             // cnnc one float           PyTorch a 0-d int64 (I64)
}
enum InitSpec { case he(fanIn: Int), glorot(fanIn: Int, fanOut: Int), zeros, ones }
/// `buffer`: state the network keeps but does not learn (batchnorm's running statistics): saved and loaded like
/// a parameter, but it has no gradient.
struct ParamSpec {
    let name: String; let offset: Int; let layout: ParamLayoutSpec; let initializer: InitSpec; var buffer = false
}
struct StepResult { var lossSum: Double; var correct: Int }   // summed over the samples of the call

extension ParamLayoutSpec: Sendable, Equatable {}
extension InitSpec: Sendable, Equatable {}
extension ParamSpec: Sendable {}
extension StepResult: Sendable {}

extension ParamLayoutSpec {
    /// Number of floats the parameter occupies (the same in both layouts).
    var count: Int { torchShape.reduce(1, *) }

    /// The PyTorch shape, as stored in checkpoints.
    var torchShape: [Int] {
        switch self {
        case let .convWeight(oc, c, kh, kw): return [oc, c, kh, kw]
        case let .denseWeight(out, inH, inW, inC): return [out, inC * inH * inW]
        case let .channelBias(c): return [c]
        case let .elementBias(h, w, c): return [c, h, w]
        case let .flatBias(h, w, c): return [c * h * w]
        case .counter: return []
        }
    }

    /// The shape of cnnc's in-memory layout (outermost first).
    var cnncShape: [Int] {
        switch self {
        case let .convWeight(oc, c, kh, kw): return [kh, kw, c, oc]
        case let .denseWeight(out, inH, inW, inC): return [inH * inW * inC, out]
        case let .channelBias(c): return [c]
        case let .elementBias(h, w, c), let .flatBias(h, w, c): return [h, w, c]
        case .counter: return [1]
        }
    }

    /// Index in cnnc layout of the element at PyTorch (row-major) index `t`.
    func cnncIndex(ofTorchIndex t: Int) -> Int {
        switch self {
        case let .convWeight(oc, c, kh, kw):
            // t = ((o*c + ci)*kh + y)*kw + x
            let x = t % kw, y = (t / kw) % kh, ci = (t / (kw * kh)) % c, o = t / (kw * kh * c)
            return ((y * kw + x) * c + ci) * oc + o
        case let .denseWeight(out, inH, inW, inC):
            // t = o*(inC*inH*inW) + ci*inH*inW + h*inW + w
            let plane = inH * inW, row = inC * plane
            let o = t / row, r = t % row
            let ci = r / plane, h = (r % plane) / inW, w = r % inW
            return ((h * inW + w) * inC + ci) * out + o
        case .channelBias, .counter:
            return t
        case let .elementBias(h, w, c), let .flatBias(h, w, c):
            // t = (ci*h + y)*w + x
            let x = t % w, y = (t / w) % h, ci = t / (w * h)
            return (y * w + x) * c + ci
        }
    }

    /// Copies `count` floats from cnnc layout (`source`) to PyTorch layout (`destination`).
    func toTorch(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .channelBias, .counter:
            destination.update(from: source, count: count)
        case let .convWeight(oc, c, kh, kw):
            var t = 0
            for o in 0..<oc { for ci in 0..<c { for y in 0..<kh { for x in 0..<kw {
                destination[t] = source[((y * kw + x) * c + ci) * oc + o]
                t += 1
            } } } }
        case let .denseWeight(out, inH, inW, inC):
            var t = 0
            for o in 0..<out { for ci in 0..<inC { for h in 0..<inH { for w in 0..<inW {
                destination[t] = source[((h * inW + w) * inC + ci) * out + o]
                t += 1
            } } } }
        case let .elementBias(h, w, c), let .flatBias(h, w, c):
            var t = 0
            for ci in 0..<c { for y in 0..<h { for x in 0..<w {
                destination[t] = source[(y * w + x) * c + ci]
                t += 1
            } } }
        }
    }

    /// Copies `count` floats from PyTorch layout (`source`) to cnnc layout (`destination`).
    func fromTorch(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .channelBias, .counter:
            destination.update(from: source, count: count)
        case let .convWeight(oc, c, kh, kw):
            var t = 0
            for o in 0..<oc { for ci in 0..<c { for y in 0..<kh { for x in 0..<kw {
                destination[((y * kw + x) * c + ci) * oc + o] = source[t]
                t += 1
            } } } }
        case let .denseWeight(out, inH, inW, inC):
            var t = 0
            for o in 0..<out { for ci in 0..<inC { for h in 0..<inH { for w in 0..<inW {
                destination[((h * inW + w) * inC + ci) * out + o] = source[t]
                t += 1
            } } } }
        case let .elementBias(h, w, c), let .flatBias(h, w, c):
            var t = 0
            for ci in 0..<c { for y in 0..<h { for x in 0..<w {
                destination[(y * w + x) * c + ci] = source[t]
                t += 1
            } } }
        }
    }

    /// Short human-readable description, for error messages.
    var kindName: String {
        switch self {
        case .convWeight: return "convolution weight"
        case .denseWeight: return "dense weight"
        case .channelBias: return "channel bias"
        case .elementBias: return "element bias"
        case .flatBias: return "bias of a flat tensor"
        case .counter: return "batch counter"
        }
    }
}

extension ParamSpec {
    var count: Int { layout.count }
    var torchShape: [Int] { layout.torchShape }
}

/// Formats a shape as `[32, 1, 5, 5]`.
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// Checks that the generated parameter table is self-consistent: offsets inside `parameterCount`, no overlap,
/// unique names, positive sizes. A failure here is a compiler bug, reported as an error rather than a trap.
func validateParameterTable(_ specs: [ParamSpec], parameterCount: Int) throws {
    var names = Set<String>()
    var ranges: [(Int, Int, String)] = []
    for spec in specs {
        guard names.insert(spec.name).inserted else {
            throw RuntimeError("internal: parameter name \(spec.name) appears twice in the network's table")
        }
        guard spec.torchShape.allSatisfy({ $0 > 0 }) else {
            throw RuntimeError("internal: parameter \(spec.name) has an empty shape \(formatShape(spec.torchShape))")
        }
        guard spec.offset >= 0, spec.offset + spec.count <= parameterCount else {
            throw RuntimeError("internal: parameter \(spec.name) (offset \(spec.offset), \(spec.count) floats) "
                + "lies outside the \(parameterCount) network parameters")
        }
        ranges.append((spec.offset, spec.offset + spec.count, spec.name))
    }
    ranges.sort { $0.0 < $1.0 }
    for i in ranges.indices.dropFirst() where ranges[i].0 < ranges[i - 1].1 {
        throw RuntimeError("internal: parameters \(ranges[i - 1].2) and \(ranges[i].2) overlap")
    }
}
