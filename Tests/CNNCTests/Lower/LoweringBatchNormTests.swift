import Testing
@testable import CNNC

/// batchnorm's kernels over the batch on each target: a C thread sums 16 channels at a time in vector lanes where
/// the channels are a multiple of 16 (each pass then reads whole cache lines of consecutive channels), and the
/// threads share them out in whole vectors; elsewhere, and on Vulkan, one channel per item.
@Suite struct LoweringBatchNormTests {
    static let source = """
        input 6x6x2
        conv 32 3x3 bias=none
        batchnorm relu
        conv 12 1x1 bias=none
        batchnorm
        flatten
        dense 4
        softmax
        """

    @Test func statisticsAndSumsRunInVectorsOfChannelsOnTheCPU() throws {
        let plan = try LoweringTests.plan(Self.source)
        for name in ["batchnorm1_statistics", "batchnorm1_backward_sums"] {
            let ki = try #require(plan.kernels.firstIndex { $0.name == name })
            let cpu = try #require(Lowering.lower(plan, kernel: ki))
            #expect(cpu.overBatch && cpu.grid.items == [Grid.Coordinate(name: "ch", count: 32, lanes: 16)], "\(name)")
            let gpu = try #require(Lowering.lower(plan, kernel: ki, for: .invocationGrid)?.first)
            #expect(gpu.grid.items == [Grid.Coordinate(name: "ch", count: 32, lanes: 1)], "\(name) on Vulkan")
            let c = CFrame(plan: plan).function(cpu)
            #expect(c.contains("for (int ch = i0; ch < i1; ch += 16) {"), "\(c)")
            #expect(!c.contains("lane"), "no lane values are needed: \(c)")
        }
        let si = try #require(plan.kernels.firstIndex { $0.name == "batchnorm1_statistics" })
        let statistics = CFrame(plan: plan).function(try #require(Lowering.lower(plan, kernel: si)))
        // Each lane sums its own channel: per sample first, then over the batch, as the scalar form does.
        #expect(statistics.contains("vf16 r_sum = (vf16){0};"))
        #expect(statistics.contains("for (int p = 0; p < 16; p++) r_sum += vf16_load(&x[(size_t)n * 512 + (p * 32 + ch)]);"))
        #expect(statistics.contains("vf16_store(&stats[32 + ch], 1.0f / vf16_map(sqrtf, sq / (float)(batch * 16) + 1e-05f));"))
        // The batch counter is counted once, by the vector holding channel 0.
        #expect(statistics.contains("if (ch == 0) {\n                count[0] = count[0] + 1.0f;\n            }"), "\(statistics)")

        // The threads share out whole vectors; `cnnc plan` shows the lanes and the stage's vectors.
        let schedule = Schedule.cpu(plan)
        #expect(schedule.forwardStages.contains(.overBatch(kernel: si, items: 32, block: 16)))
        let stepFunctions = CEmitter(plan: plan).stepFunctions()
        #expect(stepFunctions.contains("const int i0 = 2 * t / threads * 16, i1 = 2 * (t + 1) / threads * 16;"))
        #expect(PlanPrinter.renderLowered(plan).contains("once for the whole batch, for each ch < 32 (16 lanes):"))
        #expect(PlanPrinter.renderSchedule(plan).contains(
            "batchnorm1_statistics over the whole batch, its 32 channels split across the threads in vectors of 16"))
    }

    @Test func elementwiseKernelsTakeVectorsOfChannelsOnTheCPU() throws {
        let plan = try LoweringTests.plan(Self.source)
        for name in ["batchnorm1_forward", "batchnorm1_backward"] {
            let ki = try #require(plan.kernels.firstIndex { $0.name == name })
            let cpu = try #require(Lowering.lower(plan, kernel: ki))
            #expect(cpu.grid.items.map(\.lanes) == [1, 16], "\(name)")
            let gpu = try #require(Lowering.lower(plan, kernel: ki, for: .invocationGrid)?.first)
            #expect(gpu.grid.items.map(\.lanes) == [1, 1], "\(name) on Vulkan")
            let c = CFrame(plan: plan).function(cpu)
            #expect(c.contains("for (int p = 0; p < 16; p++) for (int ch = 0; ch < 32; ch += 16) {"), "\(c)")
            #expect(c.contains("vf16_load(&stats[32 + ch])"), "\(c)")
        }
        let fi = try #require(plan.kernels.firstIndex { $0.name == "batchnorm1_forward" })
        let forward = CFrame(plan: plan).function(try #require(Lowering.lower(plan, kernel: fi)))
        #expect(forward.contains("v = vf16_select(v > (vf16){0}, v, (vf16){0});"), "\(forward)")
        // Twelve channels: one at a time, as before.
        let ni = try #require(plan.kernels.firstIndex { $0.name == "batchnorm2_forward" })
        #expect(try #require(Lowering.lower(plan, kernel: ni)).grid.items.map(\.lanes) == [1, 1])
    }

    @Test func channelsThatAreNoMultipleOfSixteenStayOnePerItem() throws {
        let plan = try LoweringTests.plan(Self.source)
        let ki = try #require(plan.kernels.firstIndex { $0.name == "batchnorm2_statistics" })
        let cpu = try #require(Lowering.lower(plan, kernel: ki))
        #expect(cpu.grid.items == [Grid.Coordinate(name: "ch", count: 12, lanes: 1)])
        let c = CFrame(plan: plan).function(cpu)
        #expect(c.contains("for (int ch = i0; ch < i1; ch++) {") && !c.contains("vf16"), "\(c)")
        #expect(c.contains("if (ch == 0) {") && c.contains("count[0] = count[0] + 1.0f;"), "\(c)")
        #expect(Schedule.cpu(plan).forwardStages.contains(.overBatch(kernel: ki, items: 12, block: 1)))
        #expect(CEmitter(plan: plan).stepFunctions().contains("const int i0 = 12 * t / threads, i1 = 12 * (t + 1) / threads;"))
    }

    /// `ch == k` holds in one lane: scalar statements under it run once, in the vector that holds lane k.
    @Test func scalarStatementsUnderOneLanesCondition() {
        let scalar = KernelPrinter(lang: .c) { "\($0)[\($1)]" }
        let arrays = [LoweredArray(name: "a", source: .buffer("a"), type: .float, access: .readWrite, comment: "a")]
        let body: [Stmt] = [.store("a", "ch", .load("a", "ch") * .float(2)),
                            .when(.equal("ch", 20), [.store("a", 0, .float(1))])]
        var c = CodeWriter()
        CLanes(body, coordinate: "ch", width: 16, arrays: arrays, scalar: scalar).printer.print(body, into: &c)
        #expect(c.text == "vf16_store(&a[ch], vf16_load(&a[ch]) * 2.0f);\nif (ch == 16) {\n    a[0] = 1.0f;\n}\n")
        #expect(!CLanes.usesLaneValue(body, coordinate: "ch"))
    }
}
