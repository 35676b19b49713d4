import Foundation
import Testing
@testable import CNNC

/// The dropout rule, one for both targets: each target's lowered forward and backward, run by `LoopIRInterpreter`,
/// against the generator implemented independently in the test (`DropoutMasks`): the same mask element by
/// element, identity when evaluating, the backward through the forward's mask, and the fraction kept near 1-P.
@Suite struct LoweringDropoutTests {
    static let source = "input 3x4x5\nconv 6 3x3 pad=1\ndropout 0.3\nflatten\ndense 4\ndropout 0.6 name=late\n"
        + "dense 3\nsoftmax\n"

    static func kernels(_ plan: KernelPlan, _ layer: String) throws -> (forward: Int, backward: Int) {
        (try #require(plan.kernels.firstIndex { $0.name == "\(layer)_forward" }),
         try #require(plan.kernels.firstIndex { $0.name == "\(layer)_backward" }))
    }

    @Test("forward and backward draw the generator's masks on both targets, keyed by the layer",
          arguments: [("dropout1", 1, 0.3), ("late", 4, 0.6)])
    func masksMatchTheGenerator(layer: String, index: Int, p: Double) throws {
        let plan = try LoweringTests.plan(Self.source)
        let (fi, bi) = try Self.kernels(plan, layer)
        let g = plan.groups[plan.kernels[fi].group!]
        #expect(g.layers == [index])
        let count = g.output.count, samples = 3
        let seed: UInt32 = 0xDEAD_BEEF, step: UInt32 = 41
        let x = (0..<samples * count).map { Double($0 % 17) - 7.5 }
        func want(_ n: Int, _ i: Int) -> Bool {
            DropoutMasks.isDropped(seed: seed, step: step, layer: index, element: UInt32(n * count + i), p: p)
        }
        for target in [LoweringTarget.sampleRanges, .invocationGrid] {
            let forward = try #require(Lowering.lower(plan, kernel: fi, for: target)?.first)
            #expect(forward.stepValues == [.training, .seed, .trainStep])
            var run = LoopIRInterpreter(arrays: ["x": x, "y": [Double](repeating: .nan, count: x.count)])
            run.values = ["training": .int(1), "seed": .uint(seed), "train_step": .uint(step)]
            run.run(forward, samples: samples)
            var kept = 0
            for n in 0..<samples {
                for i in 0..<count {
                    let at = n * count + i, y = run.arrays["y"]![at]
                    let expected = want(n, i) ? 0 : x[at] / (1 - p)
                    #expect(abs(y - expected) < 1e-12, "\(layer) on \(target): y[\(n), \(i)] \(y) != \(expected)")
                    if !want(n, i) { kept += 1 }
                }
            }
            #expect(kept > 0 && kept < samples * count, "\(layer): a mask neither all kept nor all dropped")

            // Evaluation: the input itself, whatever the key.
            var evaluation = LoopIRInterpreter(arrays: ["x": x, "y": [Double](repeating: .nan, count: x.count)])
            evaluation.values = ["training": .int(0), "seed": .uint(seed), "train_step": .uint(step)]
            evaluation.run(forward, samples: samples)
            #expect(evaluation.arrays["y"]! == x, "\(layer) on \(target): evaluation is the identity")

            // Backward: dx = dy through the same mask, at the target's gradient strides.
            let backward = try #require(Lowering.lower(plan, kernel: bi, for: target)?.first)
            let ops = plan.kernels[bi].operands
            let dyStride = Lowering.stride(plan, ops.outputGradient!, target)
            let dxStride = Lowering.stride(plan, ops.inputGradient!, target)
            var dy = [Double](repeating: .nan, count: samples * dyStride)
            for n in 0..<samples { for i in 0..<count { dy[n * dyStride + i] = Double(i + 1) } }
            var back = LoopIRInterpreter(arrays: ["dy": dy, "dx": [Double](repeating: 99, count: samples * dxStride)])
            back.values = ["seed": .uint(seed), "train_step": .uint(step)]
            back.run(backward, samples: samples)
            for n in 0..<samples {
                for i in 0..<count {
                    let got = back.arrays["dx"]![n * dxStride + i], expected = want(n, i) ? 0 : Double(i + 1) / (1 - p)
                    #expect(abs(got - expected) < 1e-12, "\(layer) backward on \(target): dx[\(n), \(i)]")
                }
            }
        }
    }

    @Test func anotherStepOrSeedDrawsAnotherMask() {
        func mask(seed: UInt32, step: UInt32, layer: Int) -> [Bool] {
            (0..<4096).map { DropoutMasks.isDropped(seed: seed, step: step, layer: layer, element: UInt32($0), p: 0.5) }
        }
        let base = mask(seed: 1, step: 0, layer: 2)
        let others = [mask(seed: 1, step: 1, layer: 2), mask(seed: 2, step: 0, layer: 2), mask(seed: 1, step: 0, layer: 3)]
        for other in others {
            let agree = zip(base, other).filter { $0 == $1 }.count
            // Independent masks of P = 0.5 agree on about half the elements (sd 32 of 4096).
            #expect(abs(agree - 2048) < 200, "masks agree on \(agree) of 4096")
        }
    }

    @Test("the fraction kept is near 1-P", arguments: [0.0, 0.1, 0.5, 0.9])
    func keptFraction(p: Double) {
        let elements = 200_000
        var kept = 0
        for step in UInt32(0)..<5 {
            for e in 0..<elements / 5 {
                if !DropoutMasks.isDropped(seed: 7, step: step, layer: 1, element: UInt32(e), p: p) { kept += 1 }
            }
        }
        let fraction = Double(kept) / Double(elements)
        // The binomial standard deviation is at most 0.0012 here; five of them.
        #expect(abs(fraction - (1 - p)) < 0.006, "P \(p): kept \(fraction)")
        if p == 0 { #expect(kept == elements) }
    }

    /// A bitwise operator's operands that are operations are parenthesized even where C's precedence would not need
    /// it (gcc's -Wparentheses asks for it in `key ^ n * 72u + i`).
    @Test func unsignedOperatorsTakeCsPrecedence() {
        let c = KernelPrinter(lang: .c) { "\($0)[\($1)]" }, glsl = KernelPrinter(lang: .glsl) { "\($0)[\($1)]" }
        #expect(c.expr("h" ^ "h" >> .uint(16)) == "h ^ (h >> 16u)")  // >> binds tighter than ^; spelled out
        #expect(c.expr(("h" ^ "k") >> .uint(8)) == "(h ^ k) >> 8u")
        #expect(c.expr(("a" + "b") >> .uint(1)) == "(a + b) >> 1u")  // + binds tighter than >>; spelled out
        #expect(c.expr(.binary(.shiftRight, "a", .uint(1) + "b")) == "a >> (1u + b)")
        #expect(c.expr(("h" >> .uint(8)) < .uint(5)) == "h >> 8u < 5u")
        #expect(c.expr(.binary(.equal, "a" ^ "b", .uint(0))) == "(a ^ b) == 0u")  // ^ is below ==
        #expect(c.expr(.toUnsigned("n" + "i")) == "(uint32_t)(n + i)")
        #expect(glsl.expr(.toUnsigned("n" + "i") * .uint(0x85EB_CA6B)) == "uint(n + i) * 0x85ebca6bu")
    }

    @Test func theGeneratorsThresholdIsIntegerAndPrintedAlikeByBothPrinters() throws {
        #expect(Lowering.dropThreshold(0.5) == 1 << 23)
        #expect(Lowering.dropThreshold(0.3) == 5_033_165)
        let plan = try LoweringTests.plan(Self.source)
        let (fi, _) = try Self.kernels(plan, "dropout1")
        let c = CFrame(plan: plan).function(try #require(Lowering.lower(plan, kernel: fi)))
        #expect(c.contains("const uint32_t key = h;"))
        #expect(c.contains("h = key ^ ((uint32_t)n * 72u + (uint32_t)i);"))
        #expect(c.contains("y[(size_t)n * 72 + i] = training == 0 ? x[(size_t)n * 72 + i] "
                           + ": (h >> 8u < 0x4ccccdu ? 0.0f"))
        var program = try GLSLProgram(plan: plan)
        program.shaders = []
        program.append(try #require(Lowering.lower(plan, kernel: fi, for: .invocationGrid)))
        let glsl = try #require(program.shaders.first?.source)
        #expect(glsl.contains("readonly buffer B2 { int stepkey[]; };"))
        #expect(glsl.contains("uint train_step = uint(stepkey[1]);"))
        #expect(glsl.contains("h = key ^ (uint(n) * 72u + uint(i));"))
        #expect(glsl.contains("h >> 8u < 0x4ccccdu ? 0.0"))
    }
}
