// The reference interpreter's forward pass against values computed by hand, and its layouts.

@testable import CNNC
import Foundation
import Testing

@Suite("Reference interpreter: hand-computed forward values")
struct ReferenceForwardTests {
    typealias N = RefNet

    /// Turns a C,H,W list of channel planes into the H,W,C order images arrive in.
    static func hwc(_ planes: [[Double]], h: Int, w: Int) -> [Double] {
        var out: [Double] = []
        for y in 0..<h { for x in 0..<w { for p in planes { out.append(p[y * w + x]) } } }
        return out
    }

    static let oneToNine: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9]

    @Test func convTwoChannelsSamePaddingAndWeightLayout() throws {
        // 3x3x2 input, two 2x2 filters, SAME: pad bottom 1 and right 1.
        let net = try N.build(Shape(h: 3, w: 3, c: 2), [N.conv(2, 2, 2, pad: .same, bias: .channel)])
        let image = Self.hwc([Self.oneToNine, [1, 1, 1, 1, 1, 1, 1, 1, 1]], h: 3, w: 3)
        // [oc, c, kh, kw]: filter 0 = [1 2; 3 4] on channel 0 and [0 0; 0 10] on channel 1;
        // filter 1 = zeros on channel 0 and [1 1; 1 1] on channel 1.
        let params = ["conv1.weight": [1, 2, 3, 4, 0, 0, 0, 10, 0, 0, 0, 0, 1, 1, 1, 1],
                      "conv1.bias": [0.5, -1]]
        let r = Reference.run(net, parameters: params, images: [image], labels: [])
        // Filter 0, channel 0: [37 47 21; 67 77 33; 23 26 9]; channel 1 adds 10 where the bottom-right tap is
        // inside the image; then +0.5.
        let f0: [Double] = [47.5, 57.5, 21.5, 77.5, 87.5, 33.5, 23.5, 26.5, 9.5]
        // Filter 1 counts the in-range taps: [4 4 2; 4 4 2; 2 2 1], then -1.
        let f1: [Double] = [3, 3, 1, 3, 3, 1, 1, 1, 0]
        #expect(r.outputs["conv1"]! == [f0 + f1])
        #expect(r.probabilities == [f0 + f1])  // no softmax: the last output
        #expect(r.loss.isNaN && r.gradients.isEmpty)
    }

    @Test func convStride2Same() throws {
        // 3x3, 2x2 stride 2, SAME: output 2x2 with one padded row/column at the bottom/right.
        let net = try N.build(Shape(h: 3, w: 3, c: 1), [N.conv(1, 2, 2, stride: (2, 2), pad: .same, bias: .none, act: .relu)])
        let params = ["conv1.weight": [1.0, 2, 3, -4]]
        let r = Reference.run(net, parameters: params, images: [Self.oneToNine], labels: [])
        // (0,0): 1+4+12-20 = -3 -> relu 0; (0,2): 3+18 = 21; (2,0): 7+16 = 23; (2,2): 9.
        #expect(r.outputs["conv1"]! == [[0, 21, 23, 9]])
    }

    @Test func convExplicitPadAndNonSquareKernel() throws {
        // 2x2 input, kernel 1x2, pad 1: output (2+2-1)+1 = 4 rows, (2+2-2)+1 = 3 columns.
        let net = try N.build(Shape(h: 2, w: 2, c: 1), [N.conv(1, 1, 2, pad: .explicit(1), bias: .element)])
        let bias = (0..<12).map { Double($0) * 100 }
        let params = ["conv1.weight": [1.0, 10], "conv1.bias": bias]
        let r = Reference.run(net, parameters: params, images: [[1, 2, 3, 4]], labels: [])
        // Padded input rows: [0 0 0 0], [0 1 2 0], [0 3 4 0], [0 0 0 0]; out = a + 10 b over pairs.
        let conv: [Double] = [0, 0, 0, 10, 21, 2, 30, 43, 4, 0, 0, 0]
        #expect(r.outputs["conv1"]! == [zip(conv, bias).map(+)])
    }

    @Test func maxPoolSamePaddedCellsNeverWin() throws {
        // -1...-9: if a padded zero could win, the edge windows would give 0.
        let net = try N.build(Shape(h: 3, w: 3, c: 1), [N.maxpool(2, 2, pad: .same)])
        let r = Reference.run(net, parameters: [:], images: [Self.oneToNine.map { -$0 }], labels: [])
        #expect(r.outputs["maxpool1"]! == [[-1, -3, -7, -9]])
    }

    @Test func avgPoolSameCountsOnlyInRangeCells() throws {
        let net = try N.build(Shape(h: 3, w: 3, c: 1), [N.avgpool(2, 2, pad: .same)])
        let r = Reference.run(net, parameters: [:], images: [Self.oneToNine], labels: [])
        #expect(r.outputs["avgpool1"]! == [[3, 4.5, 7.5, 9]])
    }

    @Test func poolsWithTwoChannelsStrideOneSymmetricSame() throws {
        // 3x3 window, stride 1, SAME on 3x3: one cell of padding on every side.
        let planes = [Self.oneToNine, Self.oneToNine.map { 10 - $0 }]
        let image = Self.hwc(planes, h: 3, w: 3)
        let maxNet = try N.build(Shape(h: 3, w: 3, c: 2), [N.maxpool(3, 3, stride: (1, 1), pad: .same)])
        let avgNet = try N.build(Shape(h: 3, w: 3, c: 2), [N.avgpool(3, 3, stride: (1, 1), pad: .same)])
        let mx = Reference.run(maxNet, parameters: [:], images: [image], labels: [])
        let av = Reference.run(avgNet, parameters: [:], images: [image], labels: [])
        #expect(mx.outputs["maxpool1"]! == [[5, 6, 6, 8, 9, 9, 8, 9, 9, 9, 9, 8, 9, 9, 8, 6, 6, 5]])
        let avg0: [Double] = [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]
        let got = av.outputs["avgpool1"]![0]
        let want = avg0 + avg0.map { 10 - $0 }
        #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func maxPoolTieGoesToFirstCellInRowMajorOrder() throws {
        // All-equal input plus a zero element bias: every window is a tie; the bias gradient shows which cell
        // received it.
        let net = try N.build(Shape(h: 2, w: 4, c: 1), [N.bias(.element), N.maxpool(2, 2), N.softmax])
        let params = ["bias1.bias": [Double](repeating: 0, count: 8)]
        let r = Reference.run(net, parameters: params, images: [[Double](repeating: 3, count: 8)], labels: [1])
        #expect(r.probabilities == [[0.5, 0.5]])
        // Output 0 gets gradient 0.5, output 1 gets -0.5; they land on (0,0) and (0,2).
        #expect(r.gradients["bias1.bias"]! == [0.5, 0, -0.5, 0, 0, 0, 0, 0])
    }

    @Test func softmaxValuesLossAndStability() throws {
        let net = try N.build(Shape(h: 1, w: 1, c: 3), [N.softmax])
        let r = Reference.run(net, parameters: [:], images: [[1, 2, 3], [1000, 1001, 1002]], labels: [2, 0])
        let e = [exp(1.0), exp(2.0), exp(3.0)]
        let p = e.map { $0 / e.reduce(0, +) }
        for s in 0..<2 {
            #expect(zip(r.probabilities[s], p).allSatisfy { abs($0 - $1) < 1e-15 })
        }
        #expect(abs(r.loss - (-log(p[2]) - log(p[0])) / 2) < 1e-13)
        #expect(r.gradients.isEmpty)  // no parameters

        // Logits far apart: p underflows to 0 for the label, the loss stays finite (1000).
        let far = try N.build(Shape(h: 1, w: 1, c: 2), [N.softmax])
        let rf = Reference.run(far, parameters: [:], images: [[0, 1000]], labels: [0])
        #expect(rf.probabilities == [[0, 1]])
        #expect(abs(rf.loss - 1000) < 1e-9)
    }

    @Test func scaleIsAppliedAndInputIsReorderedToCHW() throws {
        // H=2, W=1, C=2; raw H,W,C values [1 2 3 4] -> times 0.5 -> C,H,W [0.5 1.5 1 2].
        let net = try N.build(Shape(h: 2, w: 1, c: 2), scale: 0.5, [N.flatten])
        let r = Reference.run(net, parameters: [:], images: [[1, 2, 3, 4]], labels: [])
        #expect(r.outputs["flatten1"]! == [[0.5, 1.5, 1, 2]])

        // Doubling the images at scale 1/2 gives exactly what the raw images give at scale 1.
        let layers = [N.conv(2, 2, 1, bias: .channel, act: .tanh), N.dense(3), N.softmax]
        let half = try N.build(Shape(h: 3, w: 2, c: 2), scale: 0.5, layers)
        let one = try N.build(Shape(h: 3, w: 2, c: 2), scale: 1, layers)
        let params = Reference.randomParameters(one, seed: 3)
        let (images, labels) = RefNet.data(one, count: 2, seed: 3)
        let a = Reference.run(half, parameters: params, images: images.map { $0.map { 2 * $0 } }, labels: labels)
        let b = Reference.run(one, parameters: params, images: images, labels: labels)
        #expect(a.loss == b.loss && a.probabilities == b.probabilities && a.gradients == b.gradients)
        let c = Reference.run(one, parameters: params, images: images.map { $0.map { 2 * $0 } }, labels: labels)
        #expect(c.loss != b.loss)
    }

    @Test func normalizeSubtractsTheMeanAndDividesByTheStdPerChannelAfterTheScale() throws {
        // H=2, W=1, C=2; raw H,W,C [1 2 3 4] -> times 0.5 -> C,H,W [0.5 1.5 1 2] -> channel 0: (v - 1) / 0.5,
        // channel 1: (v + 2) / 4.
        var net = try N.build(Shape(h: 2, w: 1, c: 2), scale: 0.5, [N.flatten])
        net.normalization = InputNormalization(mean: [1, -2], std: [0.5, 4], text: "")
        let r = Reference.run(net, parameters: [:], images: [[1, 2, 3, 4]], labels: [])
        #expect(r.outputs["flatten1"]! == [[-1, 1, 0.75, 1]])
    }

    @Test func denseFlattensSpatialInputInCHWOrder() throws {
        // H=1, W=2, C=2; raw H,W,C [a b c d] = (w0,c0) (w0,c1) (w1,c0) (w1,c1) -> C,H,W [a c b d].
        let net = try N.build(Shape(h: 1, w: 2, c: 2), [N.dense(2, bias: .channel, act: .sigmoid)])
        let params = ["dense1.weight": [1.0, 10, 100, 1000, 0, 0, 0, -1], "dense1.bias": [0.25, 0]]
        let r = Reference.run(net, parameters: params, images: [[0.001, 0.002, 0.003, 0.004]], labels: [])
        // y0 = 0.001 + 10*0.003 + 100*0.002 + 1000*0.004 + 0.25; y1 = -0.004.
        let z0 = 0.001 + 0.03 + 0.2 + 4 + 0.25
        let want = [1 / (1 + exp(-z0)), 1 / (1 + exp(0.004))]
        #expect(zip(r.outputs["dense1"]![0], want).allSatisfy { abs($0 - $1) < 1e-14 })
    }

    @Test func activationsAndBiasesElementwise() throws {
        let net = try N.build(Shape(h: 1, w: 2, c: 2), [
            N.bias(.channel), N.bias(.element), N.relu, N.flatten, N.sigmoid, N.tanh,
        ])
        // channel bias [c0, c1], element bias [c, h, w].
        let params = ["bias1.bias": [1.0, -1], "bias2.bias": [0.5, -5, 0, 0.25]]
        let r = Reference.run(net, parameters: params, images: [[1, 2, 3, 4]], labels: [])
        // C,H,W input [1 3 2 4] -> +[1 1 -1 -1] -> [2 4 1 3] -> +[0.5 -5 0 0.25] -> [2.5 -1 1 3.25].
        #expect(r.outputs["bias1"]! == [[2, 4, 1, 3]])
        #expect(r.outputs["bias2"]! == [[2.5, -1, 1, 3.25]])
        #expect(r.outputs["relu1"]! == [[2.5, 0, 1, 3.25]])
        let s = [2.5, 0, 1, 3.25].map { 1 / (1 + exp(-$0)) }
        #expect(r.outputs["sigmoid1"]! == [s])
        #expect(r.outputs["tanh1"]! == [s.map { Foundation.tanh($0) }])
        #expect(Set(r.outputs.keys) == Set(net.layers.map(\.name)))
    }

    @Test func randomParametersAreDeterministicAndInRange() throws {
        let net = try N.build(Shape(h: 4, w: 4, c: 2), [N.conv(3, 3, 3, bias: .element), N.dense(2), N.softmax])
        let a = Reference.randomParameters(net, seed: 9, scale: 0.25)
        #expect(a == Reference.randomParameters(net, seed: 9, scale: 0.25))
        #expect(a != Reference.randomParameters(net, seed: 10, scale: 0.25))
        for p in net.parameters {
            #expect(a[p.name]!.count == p.layout.torchShape.reduce(1, *))
            #expect(a[p.name]!.allSatisfy { abs($0) <= 0.25 })
        }
    }
}
