// batchnorm in the reference interpreter: PyTorch's BatchNorm2d / BatchNorm1d written out in Double, over the whole
// batch at once. Tensors are per sample in C,H,W order, so channel c of a spatial tensor is the values
// [c*H*W, (c+1)*H*W); a flat tensor's every value is a channel of its own (H*W = 1).

@testable import CNNC
import Foundation

extension Reference {
    /// `parameters` with every batchnorm's scale moved near PyTorch's initial 1 (a draw in [-0.5, 0.5) plus 1): a
    /// scale near 0 before a ReLU can silence a whole layer, and with it every gradient before it.
    static func scalesNearOne(_ net: Network, _ parameters: [String: [Double]]) -> [String: [Double]] {
        var out = parameters
        for layer in net.layers {
            guard case .batchnorm = layer.op, let w = out[layer.name + ".weight"] else { continue }
            out[layer.name + ".weight"] = w.map { $0 + 1 }
        }
        return out
    }

    /// Running statistics away from PyTorch's initial ones (mean in [-0.5, 0.5), variance in [0.5, 1.5)) and a
    /// batch count of 3, for every batchnorm of `net`.
    static func randomBuffers(_ net: Network, seed: UInt64) -> [String: [Double]] {
        var rng = Random(seed: seed ^ 0xB0F)
        var out: [String: [Double]] = [:]
        for layer in net.layers {
            for p in layer.buffers {
                let suffix = p.name.split(separator: ".").last!
                out[p.name] = (0..<p.count).map { _ in
                    suffix == "running_mean" ? rng.nextUnit() - 0.5 : suffix == "running_var" ? rng.nextUnit() + 0.5 : 3
                }
            }
        }
        return out
    }

    /// Channels and positions per channel of a batchnorm's input.
    static func batchNormExtent(_ layer: Layer) -> (channels: Int, positions: Int) {
        let s = layer.input
        return s.flat ? (s.count, 1) : (s.c, s.h * s.w)
    }

    static func batchNormSpec(_ layer: Layer) -> BatchNormSpec {
        guard case let .batchnorm(spec) = layer.op else { preconditionFailure("not batchnorm") }
        return spec
    }

    /// Training: the batch's mean and biased variance per channel, and the running statistics updated with the
    /// unbiased variance (trace.buffers); evaluation: the running statistics from `parameters`. Then
    /// y = act(weight * (x - mean) / sqrt(var + eps) + bias), the value before the activation kept in trace.pre.
    static func batchNormForward(_ layer: Layer, index li: Int, parameters: [String: [Double]], training: Bool,
                                 _ net: Network, _ trace: inout Trace) {
        let spec = batchNormSpec(layer), (C, P) = batchNormExtent(layer)
        let xs = trace.input.indices.map { trace.value(layer.inputs[0], sample: $0, net) }
        let n = xs.count, count = Double(n * P)
        let name = layer.name
        let runningMean = parameters[name + ".running_mean"] ?? [Double](repeating: 0, count: C)
        let runningVar = parameters[name + ".running_var"] ?? [Double](repeating: 1, count: C)
        var mean = [Double](repeating: 0, count: C), variance = [Double](repeating: 0, count: C)
        if training {
            var newMean = runningMean, newVar = runningVar
            for c in 0..<C {
                var sum = 0.0
                for x in xs { for p in 0..<P { sum += x[c * P + p] } }
                mean[c] = sum / count
                var squares = 0.0
                for x in xs { for p in 0..<P { squares += (x[c * P + p] - mean[c]) * (x[c * P + p] - mean[c]) } }
                variance[c] = squares / count
                newMean[c] = (1 - spec.momentum) * runningMean[c] + spec.momentum * mean[c]
                newVar[c] = (1 - spec.momentum) * runningVar[c] + spec.momentum * squares / max(count - 1, 1)
            }
            trace.buffers[name + ".running_mean"] = newMean
            trace.buffers[name + ".running_var"] = newVar
            trace.buffers[name + ".num_batches_tracked"] = [(parameters[name + ".num_batches_tracked"]?[0] ?? 0) + 1]
        } else {
            mean = runningMean
            variance = runningVar
        }
        let inv = variance.map { 1 / ($0 + spec.eps).squareRoot() }
        trace.batchNorm[li] = (mean, inv)
        let weight = parameters[name + ".weight"]!, bias = parameters[name + ".bias"]!
        for x in xs {
            var pre = x
            for c in 0..<C { for p in 0..<P { pre[c * P + p] = weight[c] * (x[c * P + p] - mean[c]) * inv[c] + bias[c] } }
            trace.pre[li].append(pre)
            trace.values[li].append(activate(spec.relu ? .relu : nil, pre, margin: &trace.kinkMargin))
        }
    }

    /// The gradients of weight (sum of dz * xhat) and bias (sum of dz) over the batch, and each sample's dx: in
    /// training, through the batch's statistics as well,
    /// dx = weight * inv * (dz - mean of dz - xhat * mean of dz * xhat); in evaluation dx = weight * inv * dz.
    static func batchNormBackward(_ layer: Layer, xs: [[Double]], pre: [[Double]], g: [[Double]],
                                  statistics: (mean: [Double], inv: [Double]), parameters: [String: [Double]],
                                  grads: inout [String: [Double]], training: Bool = true) -> [[Double]] {
        let spec = batchNormSpec(layer), (C, P) = batchNormExtent(layer)
        let count = Double(xs.count * P)
        let weight = parameters[layer.name + ".weight"]!
        let dz = xs.indices.map { throughActivation(spec.relu ? .relu : nil, pre: pre[$0], g: g[$0]) }
        var dx = xs.map { [Double](repeating: 0, count: $0.count) }
        for c in 0..<C {
            var sumDz = 0.0, sumDzXhat = 0.0
            for s in xs.indices {
                for p in 0..<P {
                    let xhat = (xs[s][c * P + p] - statistics.mean[c]) * statistics.inv[c]
                    sumDz += dz[s][c * P + p]
                    sumDzXhat += dz[s][c * P + p] * xhat
                }
            }
            grads[layer.name + ".bias"]![c] += sumDz
            grads[layer.name + ".weight"]![c] += sumDzXhat
            for s in xs.indices {
                for p in 0..<P {
                    let xhat = (xs[s][c * P + p] - statistics.mean[c]) * statistics.inv[c]
                    let centred = training ? dz[s][c * P + p] - sumDz / count - xhat * sumDzXhat / count : dz[s][c * P + p]
                    dx[s][c * P + p] = weight[c] * statistics.inv[c] * centred
                }
            }
        }
        return dx
    }
}
