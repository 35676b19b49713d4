import Testing
@testable import CNNC

/// The pooling and loss rules: one rule each, whose targets differ in parameters (lanes, scatter or gather, sums
/// per thread or hit flags per sample). Each target's lowered form is run by `LoopIRInterpreter` and checked against
/// a direct computation, so a wrong index, padding skip or cell count fails here before any generated trainer runs.
@Suite struct LoweringPoolLossTests {
    static let pools = [
        "maxpool 3x3 stride=2 pad=same",  // padding at the bottom and right only, as in mnist002
        "maxpool 3x3 stride=2 pad=1",
        "maxpool 2x2",
        "avgpool 3x3 stride=2 pad=1",
        "avgpool 3x3 stride=1 pad=same",
        "avgpool 2x2",
    ]

    static func plan(pool: String) throws -> KernelPlan {
        try LoweringTests.plan("input 7x7x2\nconv 3 3x3 pad=1\n\(pool)\nflatten\ndense 4\nsoftmax\n")
    }

    /// Numbers without ties, the same on every run.
    static func values(_ count: Int, seed: Int) -> [Double] {
        (0..<count).map { Double(($0 * 7919 + seed * 104729) % 1009) / 97.0 - 5.0 }
    }

    @Test("a pool's forward and backward agree with a direct computation on both targets", arguments: pools)
    func poolMatchesDirectComputation(pool: String) throws {
        let plan = try Self.plan(pool: pool)
        let fi = try #require(plan.kernels.firstIndex { $0.name.hasSuffix("pool1_forward") })
        let bi = try #require(plan.kernels.firstIndex { $0.name.hasSuffix("pool1_backward") })
        let g = plan.groups[plan.kernels[fi].group!]
        guard case let .pool(kind, w) = g.op else { Issue.record("not a pool"); return }
        let i = g.input, o = g.output, samples = 2
        let x = Self.values(samples * i.count, seed: 1), dy0 = Self.values(samples * o.count, seed: 2)

        // The direct computation: each output's window cells inside the input, in tap order.
        func cells(_ oy: Int, _ ox: Int) -> [(Int, Int)] {
            var out: [(Int, Int)] = []
            for ky in 0..<w.kernel.y {
                for kx in 0..<w.kernel.x {
                    let iy = oy * w.stride.y - w.padding.top + ky, ix = ox * w.stride.x - w.padding.left + kx
                    if iy >= 0 && iy < i.h && ix >= 0 && ix < i.w { out.append((iy, ix)) }
                }
            }
            return out
        }
        var y = [Double](repeating: 0, count: samples * o.count), dx = [Double](repeating: 0, count: samples * i.count)
        for n in 0..<samples {
            for oy in 0..<o.h {
                for ox in 0..<o.w {
                    for c in 0..<o.c {
                        let window = cells(oy, ox).map { n * i.count + ($0.0 * i.w + $0.1) * i.c + c }
                        let at = n * o.count + (oy * o.w + ox) * o.c + c
                        if kind == .max {
                            let best = window.max { x[$0] < x[$1] }!
                            y[at] = x[best]
                            dx[best] += dy0[at]
                        } else {
                            y[at] = window.map { x[$0] }.reduce(0, +) / Double(window.count)
                            for cell in window { dx[cell] += dy0[at] / Double(window.count) }
                        }
                    }
                }
            }
        }

        for target in [LoweringTarget.sampleRanges, .invocationGrid] {
            let forward = try #require(Lowering.lower(plan, kernel: fi, for: target)?.first)
            var run = LoopIRInterpreter(arrays: ["x": x, "y": [Double](repeating: .nan, count: samples * o.count),
                                                 "arg": [Double](repeating: .nan, count: samples * o.count)])
            run.run(forward, samples: samples)
            #expect(zip(run.arrays["y"]!, y).allSatisfy { abs($0 - $1) < 1e-12 }, "\(pool) forward on \(target)")

            let backward = try #require(Lowering.lower(plan, kernel: bi, for: target)?.first)
            let ops = plan.kernels[bi].operands
            let dyStride = Lowering.stride(plan, ops.outputGradient!, target)
            let dxStride = Lowering.stride(plan, ops.inputGradient!, target)
            var dy = [Double](repeating: .nan, count: samples * dyStride)
            for n in 0..<samples { for j in 0..<o.count { dy[n * dyStride + j] = dy0[n * o.count + j] } }
            // dx starts as garbage: a scattering target must zero it first.
            var back = LoopIRInterpreter(arrays: ["dy": dy, "arg": run.arrays["arg"]!,
                                                  "dx": [Double](repeating: 99, count: samples * dxStride)])
            back.run(backward, samples: samples)
            for n in 0..<samples {
                for j in 0..<i.count {
                    let got = back.arrays["dx"]![n * dxStride + j], want = dx[n * i.count + j]
                    #expect(abs(got - want) < 1e-9, "\(pool) backward on \(target): dx[\(n), \(j)] \(got) != \(want)")
                }
            }
        }
    }

    @Test func theBackwardScattersOnThreadsAndGathersOnTheGrid() throws {
        let plan = try Self.plan(pool: "maxpool 3x3 stride=2 pad=same")
        let bi = try #require(plan.kernels.firstIndex { $0.name == "maxpool1_backward" })
        let threads = try #require(Lowering.lower(plan, kernel: bi))
        #expect(threads.grid.items.isEmpty)  // a sample per item: dx zeroed, then added to through arg
        #expect(threads.arrays.map(\.access) == [.read, .read, .readWrite])
        let grid = try #require(Lowering.lower(plan, kernel: bi, for: .invocationGrid)?.first)
        #expect(grid.grid.items.map(\.name) == ["iy", "ix", "ch"])
        #expect(grid.arrays.map(\.access) == [.read, .read, .write])  // each element written once: no atomics
    }

    @Test func theCThreadTakesSixteenChannelsAtOnceWhereTheyDivide() throws {
        let wide = try LoweringTests.plan("input 8x8x1\nconv 32 3x3 pad=1\nmaxpool 2x2\nflatten\ndense 4\nsoftmax\n")
        let fi = try #require(wide.kernels.firstIndex { $0.name == "maxpool1_forward" })
        let vector = try #require(Lowering.lower(wide, kernel: fi))
        #expect(vector.grid.items.last?.lanes == 16)
        #expect(Lowering.lower(wide, kernel: fi, for: .invocationGrid)?.first?.grid.items.last?.lanes == 1)
        let c = CFrame(plan: wide).function(vector)
        #expect(c.contains("for (int ch = 0; ch < 32; ch += 16)"))
        #expect(c.contains("const vf16 v = vf16_load(&x[(size_t)n * 2048 + ((iy * 8 + ix) * 32 + ch)]);"))
        #expect(c.contains("best = vf16_select(take, v, best); at = vi16_select(take, (iy * 8 + ix) * 32 + (lane + ch), at);"))
        #expect(c.contains("vi16_store(&arg["))
        #expect(PlanPrinter.renderLowered(wide).contains("ch < 32 (16 lanes)"))

        let narrow = try LoweringTests.plan("input 8x8x1\nconv 6 3x3 pad=1\nmaxpool 2x2\nflatten\ndense 4\nsoftmax\n")
        let narrowForward = try #require(narrow.kernels.firstIndex { $0.name == "maxpool1_forward" })
        let scalar = try #require(Lowering.lower(narrow, kernel: narrowForward))
        #expect(scalar.grid.items.last?.lanes == 6)  // all six channels at once, in local arrays
        let arrays = CFrame(plan: narrow).function(scalar)
        #expect(!arrays.contains("vf16") && !arrays.contains("for (int ch = 0; ch < 6; ch++) for"))
        #expect(arrays.contains("float best[6];") && arrays.contains("int at[6];"))
        #expect(arrays.contains("const int take = v > best[ch];"))
        #expect(arrays.contains("best[ch] = take ? v : best[ch];"))
    }

    @Test("the loss: the same arithmetic summed per thread or flagged per sample", arguments: [true, false])
    func lossMatchesDirectComputation(softmax: Bool) throws {
        let plan = try LoweringTests.plan("input 2x2x1\nflatten\ndense 5\n" + (softmax ? "softmax\n" : ""))
        let li = try #require(plan.kernels.firstIndex { $0.phase == .loss })
        let samples = 3, classes = 5
        let x = Self.values(samples * classes, seed: 3), labels = [4.0, 0, 2]
        var loss = 0.0, hits = 0, dx = [Double]()
        var p = [Double]()
        for n in 0..<samples {
            let row = Array(x[n * classes..<(n + 1) * classes]), m = row.max()!
            let s = row.map { Foundation.exp($0 - m) }.reduce(0, +)
            loss += Foundation.log(s) + m - row[Int(labels[n])]
            hits += row.firstIndex(of: m)! == Int(labels[n]) ? 1 : 0
            p += row.map { Foundation.exp($0 - m) / s }
            dx += (0..<classes).map { (p[n * classes + $0] - ($0 == Int(labels[n]) ? 1 : 0)) / Double(samples) }
        }
        #expect(hits > 0 && hits < samples)
        for target in [LoweringTarget.sampleRanges, .invocationGrid] {
            let k = try #require(Lowering.lower(plan, kernel: li, for: target)?.first)
            #expect(k.arrays.contains { $0.name == "p" } == softmax)
            let dxStride = Lowering.stride(plan, plan.kernels[li].operands.inputGradient!, target)
            var run = LoopIRInterpreter(arrays: ["x": x, "p": p, "labels": labels,
                                                 "loss": [Double](repeating: .nan, count: samples),
                                                 "hits": [Double](repeating: .nan, count: samples),
                                                 "dx": [Double](repeating: .nan, count: samples * dxStride)])
            run.values = ["batch": .int(samples), "training": .int(1)]
            run.run(k, samples: samples)
            #expect(abs(run.arrays["loss"]!.reduce(0, +) - loss) < 1e-9)
            if target == .sampleRanges {
                #expect(k.totals.map(\.name) == ["loss_sum", "correct"])
                #expect(abs(run.values["loss_sum"]!.double - loss) < 1e-9 && run.values["correct"]!.int == hits)
            } else {
                #expect(k.totals.isEmpty && k.arrays.contains { $0.source == .hostOutput("hits") })
                #expect(run.arrays["hits"]!.reduce(0, +) == Double(hits))
            }
            for n in 0..<samples {
                for j in 0..<classes { #expect(abs(run.arrays["dx"]![n * dxStride + j] - dx[n * classes + j]) < 1e-9) }
            }
            // Evaluating only: dx untouched.
            var eval = LoopIRInterpreter(arrays: run.arrays.mapValues { _ in [Double](repeating: 7, count: 64) })
            eval.arrays["labels"] = labels
            eval.values = ["batch": .int(samples), "training": .int(0)]
            eval.run(k, samples: samples)
            #expect(eval.arrays["dx"]!.allSatisfy { $0 == 7 })
        }
    }
}

import Foundation

extension LoweringPoolLossTests {
    @Test func theSGDStepIsPyTorchsMomentumWithWeightDecayAndSpelledAlike() {
        let step = Lowering.optimizerStep(.sgd, gradient: .load("grads", "i"), at: "i")
        let k = LoweredKernel(name: "sgd", kernel: 0, group: nil, summary: [], arrays: [], grid: .perSample(("i", 2)),
                              body: step)
        var run = LoopIRInterpreter(arrays: ["params": [1, -2], "moment1": [0.5, 0], "grads": [0.2, 1]])
        run.values = ["lr": .float(0.1), "mu": .float(0.9), "wd": .float(0.01)]
        run.run(k, samples: 1)
        // g += wd * w; v = mu * v + g; w -= lr * v
        let v = [0.9 * 0.5 + 0.2 + 0.01, 1 + 0.01 * -2]
        #expect(zip(run.arrays["moment1"]!, v).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(run.arrays["params"]!, [1 - 0.1 * v[0], -2 - 0.1 * v[1]]).allSatisfy { abs($0 - $1) < 1e-12 })
        var c = CodeWriter(), glsl = CodeWriter()
        KernelPrinter(lang: .c) { "\($0)[\($1)]" }.print(step, into: &c)
        KernelPrinter(lang: .glsl) { "\($0)[\($1)]" }.print(step, into: &glsl)
        #expect(c.text == """
            const float w = params[i];
            const float gw = grads[i] + wd * w;
            const float v = mu * moment1[i] + gw;
            moment1[i] = v;
            params[i] = w - lr * v;

            """)
        #expect(glsl.text == c.text.replacingOccurrences(of: "const float", with: "float"))
    }

    /// Adam and AdamW: three steps of the kernel against the update written out in double precision from
    /// torch.optim's documented algorithm, with the trainer's values for each step.
    @Test(arguments: ["adam", "adamw"])
    func theAdamStepFollowsPyTorch(_ name: String) {
        let adamw = name == "adamw"
        let step = Lowering.optimizerStep(.adam, gradient: .load("grads", "i"), at: "i")
        let k = LoweredKernel(name: "adam", kernel: 0, group: nil, summary: [], arrays: [], grid: .perSample(("i", 3)),
                              body: step)
        var run = LoopIRInterpreter(arrays: ["params": [1, -2, 0.5], "moment1": [0, 0, 0], "moment2": [0, 0, 0],
                                             "grads": [0.2, -1, 0.03]])
        var w = [1.0, -2, 0.5], m = [0.0, 0, 0], s = [0.0, 0, 0]
        let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        for t in 1...3 {
            let g = [0.2, -1, 0.03].map { $0 * Double(t) }
            run.arrays["grads"] = g
            run.values = ["wd": .float(adamw ? 0 : wd), "keep": .float(adamw ? 1 - lr * wd : 1), "beta1": .float(b1),
                          "beta2": .float(b2), "eps": .float(eps),
                          "step_size": .float(lr / (1 - pow(b1, Double(t)))),
                          "bias2_sqrt": .float((1 - pow(b2, Double(t))).squareRoot())]
            run.run(k, samples: 1)
            for i in 0..<3 {
                var gi = g[i]
                if adamw { w[i] -= lr * wd * w[i] } else { gi += wd * w[i] }
                m[i] = b1 * m[i] + (1 - b1) * gi
                s[i] = b2 * s[i] + (1 - b2) * gi * gi
                let mHat = m[i] / (1 - pow(b1, Double(t))), sHat = s[i] / (1 - pow(b2, Double(t)))
                w[i] -= lr * mHat / (sHat.squareRoot() + eps)
            }
        }
        #expect(zip(run.arrays["params"]!, w).allSatisfy { abs($0 - $1) < 1e-12 }, "\(run.arrays["params"]!) vs \(w)")
        #expect(zip(run.arrays["moment1"]!, m).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(run.arrays["moment2"]!, s).allSatisfy { abs($0 - $1) < 1e-12 })
    }
}
