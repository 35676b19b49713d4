// Helpers for the reference interpreter's tests: building small networks without the parser, random data,
// and the finite-difference gradient check.

@testable import CNNC
import Foundation
import Testing

/// Builds typed graphs from layer statements, through ShapeInference, the way a parsed file would be.
enum RefNet {
    static func build(_ input: Shape, scale: Double = 1, _ layers: [LayerSyntax]) throws -> Network {
        let decls = layers.enumerated().map { i, syntax in
            LayerDecl(syntax: syntax, location: CNNC.SourceLocation(file: "t.cnn", line: i + 2, column: 1), keywordLength: 1)
        }
        let tree = SyntaxTree(file: "t.cnn", lines: [], netName: "t", input: input,
                              inputLocation: CNNC.SourceLocation(file: "t.cnn", line: 1, column: 1),
                              scale: scale, layers: decls, train: TrainConfig())
        return try ShapeInference.infer(tree)
    }

    static func conv(_ filters: Int, _ kh: Int, _ kw: Int, stride: (Int, Int) = (1, 1), pad: PaddingSpec = .explicit(0),
                     bias: BiasKind = .channel, act: Activation? = nil) -> LayerSyntax {
        .conv(filters: filters, kernel: Size2(kh, kw), stride: Size2(stride.0, stride.1), padding: pad, bias: bias,
              activation: act)
    }

    static func dense(_ units: Int, bias: BiasKind = .channel, act: Activation? = nil) -> LayerSyntax {
        .dense(units: units, bias: bias, activation: act)
    }

    static func maxpool(_ kh: Int, _ kw: Int, stride: (Int, Int)? = nil, pad: PaddingSpec = .explicit(0)) -> LayerSyntax {
        .pool(.max, kernel: Size2(kh, kw), stride: stride.map { Size2($0.0, $0.1) }, padding: pad)
    }

    static func avgpool(_ kh: Int, _ kw: Int, stride: (Int, Int)? = nil, pad: PaddingSpec = .explicit(0)) -> LayerSyntax {
        .pool(.avg, kernel: Size2(kh, kw), stride: stride.map { Size2($0.0, $0.1) }, padding: pad)
    }

    static let relu = LayerSyntax.activation(.relu)
    static let sigmoid = LayerSyntax.activation(.sigmoid)
    static let tanh = LayerSyntax.activation(.tanh)
    static func leakyrelu(_ slope: Double) -> LayerSyntax { .activation(.leakyrelu(slope: slope)) }
    static let flatten = LayerSyntax.flatten
    static let softmax = LayerSyntax.softmax
    static func bias(_ kind: BiasKind) -> LayerSyntax { .bias(kind) }
    static func batchnorm(eps: Double = 1e-5, momentum: Double = 0.1, relu: Bool = false) -> LayerSyntax {
        .batchnorm(BatchNormSpec(eps: eps, momentum: momentum, relu: relu))
    }

    /// `count` images of uniform values in [-1, 1) (H,W,C order) and labels in 0..<classes.
    static func data(_ net: Network, count: Int, seed: UInt64) -> (images: [[Double]], labels: [Int]) {
        var rng = Reference.Random(seed: seed ^ 0xDA7A)
        let images = (0..<count).map { _ in (0..<net.input.count).map { _ in 2 * rng.nextUnit() - 1 } }
        let labels = (0..<count).map { _ in rng.nextInt(net.output.count) }
        return (images, labels)
    }
}

/// Central-difference checks of every parameter gradient of the reference interpreter.
enum RefFD {
    static let step = 1e-6
    static let tolerance = 1e-6
    /// Draws are rejected when a ReLU input or a max-pool gap is closer than this to its kink.
    static let kinkClearance = 1e-4

    struct Report {
        /// Per parameter: max|analytic - numeric| / max(1e-8, max|analytic|, max|numeric|) over the checked entries.
        var errors: [String: Double] = [:]
        var checked = 0
        var worst: Double { errors.values.max() ?? 0 }
    }

    /// Draws parameters and data (re-drawing while the forward pass comes within `kinkClearance` of a kink),
    /// then compares every gradient entry of small tensors, and 30 random entries of larger ones, with central
    /// differences of the loss. Records failures with #expect and returns the errors.
    @discardableResult
    /// `masks`: dropout masks (`Reference.run`), the same in every evaluation of the loss. `training: false`
    /// evaluates batchnorm with running statistics drawn at random.
    static func check(_ net: Network, seed: UInt64, batch: Int = 3, label: String, masks: [String: [[Double]]] = [:],
                      training: Bool = true,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Report {
        var params: [String: [Double]] = [:]
        var data: (images: [[Double]], labels: [Int]) = ([], [])
        var result: ReferenceResult?
        for attempt in 0..<50 {
            let s = seed &+ UInt64(attempt) &* 7919
            params = Reference.randomParameters(net, seed: s).merging(Reference.randomBuffers(net, seed: s)) { $1 }
            data = RefNet.data(net, count: batch, seed: s)
            let r = Reference.run(net, parameters: params, images: data.images, labels: data.labels, masks: masks,
                                  training: training)
            if r.kinkMargin >= kinkClearance { result = r; break }
        }
        guard let result else {
            Issue.record("\(label): no draw kept clear of ReLU/max-pool kinks", sourceLocation: sourceLocation)
            return Report()
        }
        #expect(result.loss.isFinite, "\(label): loss \(result.loss)", sourceLocation: sourceLocation)
        #expect(Set(result.gradients.keys) == Set(net.parameters.map(\.name)), "\(label): gradient names",
                sourceLocation: sourceLocation)

        var report = Report()
        var rng = Reference.Random(seed: seed ^ 0x5A3D1E)
        for p in net.parameters {
            guard let analytic = result.gradients[p.name], analytic.count == p.count else {
                Issue.record("\(label): \(p.name) gradient missing or of the wrong size", sourceLocation: sourceLocation)
                continue
            }
            // A check of an all-zero gradient would prove nothing.
            let largest = analytic.map(abs).max() ?? 0
            #expect(largest > 1e-6, "\(label): \(p.name) gradient is all (near) zero", sourceLocation: sourceLocation)

            var indices = Array(0..<p.count)
            if p.count > 40 {
                var chosen = Set<Int>()
                while chosen.count < 30 { chosen.insert(rng.nextInt(p.count)) }
                indices = chosen.sorted()
            }
            var maxDiff = 0.0, maxA = 0.0, maxN = 0.0
            for i in indices {
                var plus = params, minus = params
                plus[p.name]![i] += step
                minus[p.name]![i] -= step
                let lp = Reference.loss(net, parameters: plus, images: data.images, labels: data.labels, masks: masks,
                                        training: training)
                let lm = Reference.loss(net, parameters: minus, images: data.images, labels: data.labels, masks: masks,
                                        training: training)
                let numeric = (lp - lm) / (2 * step)
                maxDiff = max(maxDiff, abs(analytic[i] - numeric))
                maxA = max(maxA, abs(analytic[i]))
                maxN = max(maxN, abs(numeric))
            }
            let error = maxDiff / max(1e-8, maxA, maxN)
            report.errors[p.name] = error
            report.checked += indices.count
            #expect(error < tolerance, "\(label): \(p.name) relative error \(error)", sourceLocation: sourceLocation)
        }
        print("reference FD \(label): worst relative error \(report.worst) over \(report.checked) entries")
        return report
    }
}
