import Foundation
import Testing
@testable import CNNC

/// batchnorm in the reference interpreter: a case small enough to work out by hand, the normalised output's
/// moments, and finite differences through the batch's statistics (training) and the running ones (evaluation).
@Suite("reference batchnorm")
struct ReferenceBatchNormTests {
    /// One flat value, a batch of two: x = 1 and 3 give mean 2, biased variance 1, unbiased 2; so
    /// y = -+1/sqrt(1 + eps), running_mean = 0.1 * 2, running_var = 0.9 * 1 + 0.1 * 2, one batch tracked.
    @Test func byHand() throws {
        let net = try RefNet.build(.flat(1), [RefNet.batchnorm(), RefNet.dense(2), RefNet.softmax])
        let params = ["batchnorm1.weight": [1.0], "batchnorm1.bias": [0.0], "dense1.weight": [1, -1], "dense1.bias": [0, 0]]
        let r = Reference.run(net, parameters: params, images: [[1], [3]], labels: [0, 1])
        let y = try #require(r.outputs["batchnorm1"])
        let expected = 1 / (1 + 1e-5).squareRoot()
        #expect(abs(y[0][0] + expected) < 1e-12 && abs(y[1][0] - expected) < 1e-12, "\(y)")
        #expect(r.buffers["batchnorm1.running_mean"] == [0.2])
        #expect(abs(r.buffers["batchnorm1.running_var"]![0] - 1.1) < 1e-12)
        #expect(r.buffers["batchnorm1.num_batches_tracked"] == [1])
        // Evaluation takes the running statistics as given and updates nothing.
        let e = Reference.run(net, parameters: params.merging(["batchnorm1.running_mean": [1], "batchnorm1.running_var": [4]]) { $1 },
                              images: [[1], [3]], labels: [0, 1], training: false)
        let ye = try #require(e.outputs["batchnorm1"])
        #expect(abs(ye[0][0]) < 1e-12 && abs(ye[1][0] - 2 / (4 + 1e-5).squareRoot()) < 1e-12, "\(ye)")
        #expect(e.buffers.isEmpty)
    }

    /// With weight 1 and bias 0, each channel of the output has mean 0 and variance var / (var + eps) over the
    /// batch and positions.
    @Test func normalisesEachChannel() throws {
        let net = try RefNet.build(Shape(h: 3, w: 4, c: 2), [RefNet.batchnorm(eps: 0.01), RefNet.flatten, RefNet.dense(2),
                                                              RefNet.softmax])
        var params = Reference.randomParameters(net, seed: 3)
        params["batchnorm1.weight"] = [1, 1]
        params["batchnorm1.bias"] = [0, 0]
        let data = RefNet.data(net, count: 5, seed: 4)
        let r = Reference.run(net, parameters: params, images: data.images, labels: data.labels)
        let y = try #require(r.outputs["batchnorm1"])
        for c in 0..<2 {
            // The input in C,H,W order is the image's H,W,C values regrouped by channel.
            let x = data.images.flatMap { image in (0..<12).map { image[$0 * 2 + c] } }
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
            let v = y.flatMap { $0[(c * 12)..<((c + 1) * 12)] }
            let outMean = v.reduce(0, +) / Double(v.count)
            let outVar = v.map { ($0 - outMean) * ($0 - outMean) }.reduce(0, +) / Double(v.count)
            #expect(abs(outMean) < 1e-12 && abs(outVar - variance / (variance + 0.01)) < 1e-12, "channel \(c)")
        }
    }

    @Test func finiteDifferences2D() throws {
        let net = try RefNet.build(Shape(h: 4, w: 3, c: 2), [
            RefNet.conv(3, 3, 3, pad: .explicit(1), bias: .none), RefNet.batchnorm(), RefNet.tanh,
            RefNet.conv(2, 2, 2, bias: .none), RefNet.batchnorm(eps: 0.001, momentum: 0.3, relu: true),
            RefNet.flatten, RefNet.dense(3), RefNet.softmax,
        ])
        RefFD.check(net, seed: 41, batch: 4, label: "batchnorm 2-D, training")
        RefFD.check(net, seed: 42, batch: 4, label: "batchnorm 2-D, evaluation", training: false)
    }

    @Test func finiteDifferences1D() throws {
        let net = try RefNet.build(Shape(h: 3, w: 2, c: 2), [
            // A bias right before a batchnorm in training has no gradient (the batch's mean takes it out): none.
            RefNet.flatten, RefNet.batchnorm(relu: true), RefNet.dense(5, bias: .none), RefNet.batchnorm(), RefNet.tanh,
            RefNet.dense(3), RefNet.softmax,
        ])
        RefFD.check(net, seed: 43, batch: 5, label: "batchnorm 1-D, training")
        RefFD.check(net, seed: 44, batch: 5, label: "batchnorm 1-D, evaluation", training: false)
    }
}
