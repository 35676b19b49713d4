// Finite-difference checks of the reference interpreter's hand-derived backward pass: every parameter of
// every layer kind, with strides, SAME padding with an odd total (the extra cell bottom/right), explicit
// padding, non-square inputs and kernels, several channels and a batch of 3.

@testable import CNNC
import Testing

@Suite("Reference interpreter: finite-difference gradients")
struct ReferenceGradientTests {
    typealias N = RefNet

    @Test func convChannelBiasReluStride2SameOddPadding() throws {
        // 7x5x3, kernel 3x2, stride 2, SAME: rows need 2 (1 + 1), columns need 1 (0 left, 1 right).
        let net = try N.build(Shape(h: 7, w: 5, c: 3), [
            N.conv(4, 3, 2, stride: (2, 2), pad: .same, bias: .channel, act: .relu),
            N.flatten, N.dense(3), N.softmax,
        ])
        guard case let .conv(_, window, _, _) = net.layers[0].op else { Issue.record("not a conv"); return }
        #expect(window.padding == Padding(top: 1, left: 0, bottom: 1, right: 1))
        #expect(net.layers[0].output == Shape(h: 4, w: 3, c: 4))
        RefFD.check(net, seed: 11, label: "conv channel relu s2 same")
    }

    @Test func convElementBiasSigmoidSameOddBothWays() throws {
        // Kernel 2x2, stride 1, SAME: one extra row at the bottom and one extra column at the right.
        let net = try N.build(Shape(h: 5, w: 6, c: 2), [
            N.conv(3, 2, 2, pad: .same, bias: .element, act: .sigmoid),
            N.dense(4, bias: .none), N.softmax,
        ])
        guard case let .conv(_, window, _, _) = net.layers[0].op else { Issue.record("not a conv"); return }
        #expect(window.padding == Padding(top: 0, left: 0, bottom: 1, right: 1))
        #expect(net.parameters[1].layout.torchShape == [3, 5, 6])
        RefFD.check(net, seed: 12, label: "conv element sigmoid same")
    }

    @Test func convNoBiasTanhExplicitPadNonSquareStride() throws {
        let net = try N.build(Shape(h: 6, w: 5, c: 2), [
            N.conv(3, 3, 2, stride: (2, 1), pad: .explicit(1), bias: .none, act: .tanh),
            N.dense(3), N.softmax,
        ])
        #expect(net.layers[0].output == Shape(h: 3, w: 6, c: 3))
        #expect(net.parameters.count == 3)  // conv weight, dense weight and bias
        RefFD.check(net, seed: 13, label: "conv none tanh pad1 s2x1")
    }

    @Test func stackedConvsLinearValidThenElementRelu() throws {
        // The second conv makes the first one's input-gradient path matter.
        let net = try N.build(Shape(h: 7, w: 7, c: 2), [
            N.conv(2, 3, 3, bias: .channel),
            N.conv(3, 2, 2, stride: (2, 2), bias: .element, act: .relu),
            N.flatten, N.softmax,
        ])
        #expect(net.layers[1].output == Shape(h: 2, w: 2, c: 3))
        RefFD.check(net, seed: 14, label: "conv valid -> conv s2 element relu")
    }

    @Test func denseBiasesAndInlineActivations() throws {
        // The first dense flattens its spatial input implicitly.
        let net = try N.build(Shape(h: 3, w: 2, c: 2), [
            N.dense(5, bias: .channel, act: .relu),
            N.dense(4, bias: .none, act: .sigmoid),
            N.dense(4, bias: .element, act: .tanh),
            N.dense(3, bias: .none),
            N.softmax,
        ])
        #expect(net.parameters.map(\.layout.torchShape) == [[5, 12], [5], [4, 5], [4, 4], [4], [3, 4]])
        RefFD.check(net, seed: 15, label: "dense biases + activations")
    }

    @Test func standAloneBiasesOnSpatialAndFlatInputs() throws {
        let net = try N.build(Shape(h: 4, w: 3, c: 2), [
            N.conv(2, 3, 3, pad: .same, bias: .none),
            N.bias(.channel), N.bias(.element), N.tanh,
            N.flatten, N.bias(.channel), N.bias(.element),
            N.dense(4, bias: .none), N.bias(.channel), N.bias(.element),
            N.softmax,
        ])
        #expect(net.parameters.map(\.layout.torchShape)
                == [[2, 2, 3, 3], [2], [2, 4, 3], [24], [24], [4, 24], [4], [4]])  // biases on flat tensors are [n]
        RefFD.check(net, seed: 16, label: "stand-alone biases")
    }

    @Test func standAloneActivations() throws {
        let net = try N.build(Shape(h: 3, w: 4, c: 2), [
            N.conv(3, 2, 2, bias: .channel), N.relu,
            N.conv(2, 2, 2, bias: .channel), N.sigmoid,
            N.dense(5), N.tanh,
            N.dense(3), N.softmax,
        ])
        RefFD.check(net, seed: 17, label: "relu/sigmoid/tanh layers")
    }

    @Test func maxPoolSameOddAndOverlappingExplicitPad() throws {
        // 7x5 -> maxpool 2x2 SAME (stride 2): one extra row bottom, one extra column right -> 4x3;
        // then a 3x3 window, stride 1, explicit pad 1 (overlapping windows, padded cells never win).
        let net = try N.build(Shape(h: 7, w: 5, c: 3), [
            N.conv(3, 3, 3, pad: .same, bias: .channel),
            N.maxpool(2, 2, pad: .same), N.tanh,
            N.maxpool(3, 3, stride: (1, 1), pad: .explicit(1)),
            N.dense(3), N.softmax,
        ])
        guard case let .pool(_, window) = net.layers[1].op else { Issue.record("not a pool"); return }
        #expect(window.padding == Padding(top: 0, left: 0, bottom: 1, right: 1))
        #expect(net.layers[1].output == Shape(h: 4, w: 3, c: 3))
        #expect(net.layers[3].output == Shape(h: 4, w: 3, c: 3))
        RefFD.check(net, seed: 18, label: "maxpool same/explicit")
    }

    @Test func avgPoolSameOddAndExplicitPad() throws {
        // 6x4 -> avgpool 3x3 stride 2 SAME: pads 0/1 rows and 0/1 columns -> 3x2; then 2x2 stride 1 pad 1 -> 4x3.
        let net = try N.build(Shape(h: 7, w: 5, c: 3), [
            N.conv(3, 2, 2, bias: .channel, act: .sigmoid),
            N.avgpool(3, 3, stride: (2, 2), pad: .same),
            N.avgpool(2, 2, stride: (1, 1), pad: .explicit(1)),
            N.dense(3), N.softmax,
        ])
        guard case let .pool(_, window) = net.layers[1].op else { Issue.record("not a pool"); return }
        #expect(window.padding == Padding(top: 0, left: 0, bottom: 1, right: 1))
        #expect(net.layers[1].output == Shape(h: 3, w: 2, c: 3))
        #expect(net.layers[2].output == Shape(h: 4, w: 3, c: 3))
        RefFD.check(net, seed: 19, label: "avgpool same/explicit")
    }

    @Test func mixedNetwork() throws {
        let net = try N.build(Shape(h: 8, w: 6, c: 2), [
            N.conv(4, 3, 3, pad: .same, bias: .channel),
            N.maxpool(2, 2),
            N.relu,
            N.conv(3, 3, 2, stride: (2, 2), pad: .same, bias: .element, act: .tanh),
            N.avgpool(2, 2, pad: .same),
            N.flatten,
            N.dense(6, act: .sigmoid),
            N.bias(.element),
            N.dense(3, bias: .none),
            N.softmax,
        ])
        RefFD.check(net, seed: 20, label: "mixed")
    }

    /// leakyrelu stand-alone and fused into a conv and a dense layer (the proof that a new kind is written once).
    @Test func leakyReLU() throws {
        let net = try N.build(Shape(h: 6, w: 5, c: 2), [
            N.conv(3, 3, 3, pad: .same, bias: .channel, act: .leakyrelu(slope: 0.2)),
            N.maxpool(2, 2),
            N.leakyrelu(0.01),
            N.dense(5, act: .leakyrelu(slope: 0.3)),
            N.dense(3),
            N.softmax,
        ])
        RefFD.check(net, seed: 23, label: "leakyrelu")
    }

    @Test func softmaxNotLastUsesTheFullJacobian() throws {
        let net = try N.build(Shape(h: 2, w: 2, c: 2), [
            N.dense(5), N.softmax, N.dense(3, bias: .element), N.softmax,
        ])
        RefFD.check(net, seed: 21, label: "softmax in the middle")
    }

    @Test func softmaxOnlyLayerAfterSpatialInput() throws {
        // Softmax straight on a spatial tensor: classes are its elements in C,H,W order.
        let net = try N.build(Shape(h: 2, w: 3, c: 2), [N.bias(.element), N.softmax])
        #expect(net.output.flat && net.output.count == 12)
        RefFD.check(net, seed: 22, label: "softmax on spatial")
    }

    @Test func batchGradientIsTheMeanOfSampleGradients() throws {
        let net = try N.build(Shape(h: 5, w: 4, c: 2), [
            N.conv(3, 2, 3, stride: (2, 1), pad: .same, bias: .element, act: .tanh),
            N.avgpool(2, 2, pad: .same), N.dense(3), N.softmax,
        ])
        let params = Reference.randomParameters(net, seed: 5)
        let (images, labels) = RefNet.data(net, count: 3, seed: 5)
        let all = Reference.run(net, parameters: params, images: images, labels: labels)
        var sumLoss = 0.0
        var sum: [String: [Double]] = [:]
        for s in 0..<3 {
            let one = Reference.run(net, parameters: params, images: [images[s]], labels: [labels[s]])
            sumLoss += one.loss
            for (name, g) in one.gradients { sum[name] = zip(sum[name] ?? g.map { _ in 0 }, g).map(+) }
            for layer in net.layers { #expect(one.outputs[layer.name]![0] == all.outputs[layer.name]![s]) }
        }
        #expect(abs(all.loss - sumLoss / 3) < 1e-12)
        for p in net.parameters {
            let mean = sum[p.name]!.map { $0 / 3 }
            let diff = zip(mean, all.gradients[p.name]!).map { abs($0 - $1) }.max()!
            #expect(diff < 1e-12, "\(p.name)")
        }
    }
}

/// Dropout in the reference: a given mask multiplies the input and the gradient (finite differences through two
/// dropout layers, one spatial and one flat); without a mask it is the identity.
@Suite("Reference interpreter: dropout with a given mask")
struct ReferenceDropoutTests {
    typealias N = RefNet

    static func net() throws -> Network {
        try N.build(Shape(h: 5, w: 4, c: 2), [
            N.conv(3, 3, 3, pad: .same, act: .tanh), .dropout(p: 0.4), N.flatten,
            N.dense(6, act: .sigmoid), .dropout(p: 0.5), N.dense(3), N.softmax,
        ])
    }

    @Test func gradientsThroughTheMasksByFiniteDifferences() throws {
        let net = try Self.net()
        let masks = DropoutMasks.masks(net, batch: 3, seed: 5, step: 2)
        #expect(masks.count == 2 && masks.values.allSatisfy { $0.count == 3 })
        // Both values of every mask occur, so the check covers kept and dropped elements.
        for (name, mask) in masks {
            let values = Set(mask.flatMap { $0 })
            #expect(values.count == 2 && values.contains(0), "\(name): \(values)")
        }
        RefFD.check(net, seed: 31, label: "dropout with masks", masks: masks)
    }

    @Test func aMaskMultipliesAndNoMaskIsTheIdentity() throws {
        let net = try Self.net()
        let params = Reference.randomParameters(net, seed: 3)
        let data = RefNet.data(net, count: 2, seed: 3)
        let plain = Reference.run(net, parameters: params, images: data.images, labels: data.labels)
        #expect(plain.outputs["dropout1"]! == plain.outputs["conv1"]!)
        let masks = DropoutMasks.masks(net, batch: 2, seed: 9, step: 0)
        let masked = Reference.run(net, parameters: params, images: data.images, labels: data.labels, masks: masks)
        for s in 0..<2 {
            let want = zip(masked.outputs["conv1"]![s], masks["dropout1"]![s]).map { $0 * $1 }
            #expect(masked.outputs["dropout1"]![s] == want)
        }
        #expect(abs(masked.loss - plain.loss) > 1e-6)
    }
}
