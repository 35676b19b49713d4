import Testing
@testable import CNNC

/// The planner's fan-out: a tensor read by several layers gets one gradient, the sum of its readers'. The first
/// reader the backward pass reaches writes it; each later one writes a term that a sum kernel adds in, right after
/// that reader's backward and before the producer's.
@Suite struct GradientSumTests {
    static func plan(_ source: String) throws -> KernelPlan {
        try Compilation(source: Array(source.utf8), file: "net.cnn").plan
    }

    @Test func everyExtraReaderAddsItsTermBeforeTheProducerRuns() throws {
        let plan = try Self.plan(GraphGradientTests.nets[0].source)
        let index = Dictionary(plan.kernels.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let sums = plan.kernels.enumerated().filter { $0.element.operands.gradientTerm != nil }
        // stem is read by conv2 and block1; block1 by down and proj.
        #expect(sums.map(\.element.name).sorted() == ["conv2_backward_sum0", "down_backward_sum0"])
        for (ki, k) in sums {
            let term = k.operands.gradientTerm!, total = k.operands.inputGradient!
            let consumer = plan.groups[k.group!].name
            #expect(index["\(consumer)_backward"]! == ki - 1, "\(k.name) runs right after its reader")
            let producer = plan.groups.first { "d_\($0.name)_out" == total }!
            #expect(index["\(producer.name)_backward"]! > ki, "\(k.name) before \(producer.name)'s backward")
            // The term and the total are alive together, so they never share storage.
            #expect(plan.buffer(term)!.storage != plan.buffer(total)!.storage)
            #expect(k.reads.contains(total) && k.writes == [total])
        }
        // block1 = relu(conv3 + stem) is conv3's residual epilogue: conv3's backward writes conv2's gradient and
        // stem's, which is its dz, left in place in its output gradient's storage; proj's and down's reads of
        // block1 are summed.
        #expect(index["block1_backward"] == nil)
        let fused = plan.kernels[index["conv3_backward"]!]
        #expect(fused.operands.inputGradient == "d_conv2_out" && fused.operands.otherInputGradients == ["d_stem_out"])
        #expect(plan.buffer("d_stem_out")!.storage == plan.buffer(fused.operands.outputGradient!)!.storage)
    }

    /// A sum kernel carries its reader's group; `cnnc plan` printed that conv's schedule for it.
    @Test func sumKernelsHaveNoScheduleLine() throws {
        let plan = try Self.plan(GraphGradientTests.nets[0].source)
        let text = PlanPrinter.renderSchedule(plan)
        #expect(text.contains("conv2_backward "))
        // (The stage lists still name the sum kernels: they run there.)
        let kernelLines = text.split(separator: "\n").map { $0.split(separator: " ").prefix(2).map(String.init) }
        #expect(!kernelLines.contains { $0.count == 2 && Int($0[0]) != nil && $0[1].hasSuffix("_sum0") }, "\(text)")
    }

    @Test func noGradientFlowsToTheInput() throws {
        let plan = try Self.plan(GraphGradientTests.nets[1].source)
        // skip0 = relu(pre + input) is pre's residual epilogue; neither pre's input nor its residual (both the
        // input) gets a gradient.
        let skip = try #require(plan.kernels.first { $0.name == "pre_backward" })
        #expect(skip.operands.inputGradient == nil && skip.operands.otherInputGradients == [nil])
        #expect(!plan.buffers.contains { $0.name == "d_x" || $0.name == "d_input" })
        let mix = try #require(plan.kernels.first { $0.name == "mix_forward" })
        #expect(mix.reads == ["b3_out", "b1_out", "b2_out"])
    }

    @Test func aFlattenedTensorWithTwoReadersSumsIntoItsView() throws {
        let plan = try Self.plan("""
            input 4x4x1
            conv 2 3x3 pad=same name=c
            flatten
            dense 3 name=a
            dense 3 from=flatten1 name=b
            add a
            softmax
            """)
        // b's gradient of flatten1 is the total; a's is a term added in; flatten's input gradient is a view of it.
        let sum = try #require(plan.kernels.first { $0.operands.gradientTerm != nil })
        #expect(sum.operands.gradientTerm == "a_dterm0" && sum.operands.inputGradient == "d_flatten1_out")
        #expect(plan.buffer("d_c_out")!.storage == plan.buffer("d_flatten1_out")!.storage)
    }
}
