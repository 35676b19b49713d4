import Foundation
import Testing
@testable import CNNC

/// The schedule stage's decisions for concrete shapes: the examples the project trains and the edge cases of each
/// rule (filters not a multiple of a vector, one input channel, stride 2, wide layers, big dense layers). Each
/// expectation is a decision the printers spell, so a changed rule fails here before it changes generated code.
@Suite struct ScheduleTests {
    static func plan(_ source: String) throws -> KernelPlan {
        try Compilation(source: Array(source.utf8), file: "net.cnn").plan
    }

    static func example(_ name: String) throws -> KernelPlan {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path).plan
    }

    /// Group `name`'s CPU schedule.
    static func cpu(_ plan: KernelPlan, _ name: String) -> CPUGroupSchedule? {
        plan.groups.firstIndex { $0.name == name }.map { Schedule.cpu(plan).groups[$0] }
    }

    static func kernel(_ plan: KernelPlan, _ name: String) -> Int { plan.kernels.firstIndex { $0.name == name }! }

    static func rows(_ counts: Int...) -> [RowBlock] {
        var x = 0
        return counts.map { c in defer { x += c }; return RowBlock(x, c) }
    }

    @Test func mnist002Convs() throws {
        let plan = try Self.example("mnist002")
        // 28 wide: blocks of 7 divide the row; 16 filters are one vector; ReLU is applied in registers.
        #expect(Self.cpu(plan, "conv1") == .conv(
            forward: .rows(blocks: Self.rows(7, 7, 7, 7), filterVectors: 1, loopedFilters: false,
                           epilogueInRegisters: true),
            backward: .singlePass(taps: 9)))
        // 16 channels in: the input gradient a row at a time with one vector of channels; the weight gradient a
        // row at a time, 4 channels x 3 taps x 2 filter vectors = 24 accumulators, (4 + 6) loads per 24 FMAs
        // against tap by tap's (8 + 2) per 16; 1024 / (14 x 14) = 5 samples per sum.
        #expect(Self.cpu(plan, "conv2") == .conv(
            forward: .rows(blocks: Self.rows(7, 7), filterVectors: 2, loopedFilters: false, epilogueInRegisters: true),
            backward: .perSample(inputGradient: .rows(blocks: [7], channelVectors: 1),
                                 weightGradient: ConvWeightGradientBlocking(channels: 4, positions: 1, samples: 5,
                                                                            sharedTaps: 3))))
        #expect(Self.cpu(plan, "conv3") == .conv(
            forward: .rows(blocks: Self.rows(7), filterVectors: 2, loopedFilters: false, epilogueInRegisters: true),
            backward: .perSample(inputGradient: .rows(blocks: [7], channelVectors: 2),
                                 weightGradient: ConvWeightGradientBlocking(channels: 4, positions: 1, samples: 20))))
    }

    @Test func mnist002DenseLayersAndStages() throws {
        let plan = try Self.example("mnist002")
        // 100 outputs: tiles of 32, 32 and 36 (a remainder of 4 joins the last tile).
        guard case let .dense(forward, backward) = Self.cpu(plan, "dense1") else {
            Issue.record("dense1 is not scheduled as a dense layer")
            return
        }
        #expect(forward == DenseForwardSchedule(samples: 8, tile: 32, tiles: [DenseTile(0, 32), DenseTile(32, 32),
                                                                               DenseTile(64, 36)], looped: 0))
        // 3136 x 100 weights: batch-wide; 100 outputs are 7 vectors, so 24 / 7 = 3 rows per block.
        #expect(backward == .batchWide(BatchWideDenseSchedule(
            rows: 3, chunks: [DenseTile(0, 100)], looped: 0, transposeRows: 16, inputGradientSamples: 4,
            inputGradientWidths: [96, 16, 1])))
        // 100 x 10 = 1000 weights, under 1024: per-thread sums.
        #expect(Self.cpu(plan, "dense2") == .dense(
            forward: DenseForwardSchedule(samples: 8, tile: 32, tiles: [DenseTile(0, 10)], looped: 0),
            backward: .perSample(samples: 4)))

        let s = Schedule.cpu(plan)
        let d2 = Self.kernel(plan, "dense2_backward"), d1 = Self.kernel(plan, "dense1_backward")
        let rest = plan.kernels.indices.filter { $0 > d1 && plan.kernels[$0].phase == .backward }
        #expect(s.backwardStages == [.samples([d2, d1]), .batchWide(kernel: d1, rows: 3136, block: 3), .samples(rest)])
        let w = plan.parameterOffsets["dense1.weight"]!
        #expect(w == 45136)
        #expect(s.parameterRanges == [
            ParameterRange(range: 0..<w, accumulated: true),
            ParameterRange(range: w..<(w + 313_600), accumulated: false),
            ParameterRange(range: (w + 313_600)..<plan.parameterCount, accumulated: true),
        ])
    }

    @Test func lenet5() throws {
        let plan = try Self.example("lenet5")
        // One input channel and 6 filters: each output's taps directly; no input gradient, and 25 taps are over
        // the 24 accumulators of the single pass.
        #expect(Self.cpu(plan, "conv1") == .conv(
            forward: .direct,
            backward: .perSample(inputGradient: .none,
                                 weightGradient: ConvWeightGradientBlocking(channels: 1, positions: 4, samples: 1))))
        // 10 wide, 5x5: blocks of 5; tanh takes the epilogue pass. 6 channels in are not whole vectors: the
        // input gradient goes tap by tap; the weight gradient a row at a time, 3 channels (a divisor of 6) x 5 taps
        // of one filter vector: 15 accumulators, (3 + 5) loads per 15 FMAs against tap by tap's 7 per 6.
        #expect(Self.cpu(plan, "conv2") == .conv(
            forward: .rows(blocks: Self.rows(5, 5), filterVectors: 1, loopedFilters: false,
                           epilogueInRegisters: false),
            backward: .perSample(inputGradient: .blocked(blocks: [5, 4, 2, 1]),
                                 weightGradient: ConvWeightGradientBlocking(channels: 3, positions: 1, samples: 10,
                                                                            sharedTaps: 5))))
        // 400 x 120: chunks of 112 and 8 outputs, 3 rows; 120 x 84: 6 vectors, 4 rows; 84 x 10: per thread.
        guard case let .dense(_, .batchWide(d1)) = Self.cpu(plan, "dense1"),
              case let .dense(_, .batchWide(d2)) = Self.cpu(plan, "dense2") else {
            Issue.record("lenet5's first two dense layers are not batch-wide")
            return
        }
        #expect(d1.chunks == [DenseTile(0, 112), DenseTile(112, 8)] && d1.rows == 3)
        #expect(d2.chunks == [DenseTile(0, 84)] && d2.rows == 4)
        #expect(Self.cpu(plan, "dense3") == .dense(
            forward: DenseForwardSchedule(samples: 8, tile: 32, tiles: [DenseTile(0, 10)], looped: 0),
            backward: .perSample(samples: 4)))
        #expect(Schedule.cpu(plan).backwardStages.count == 5)
    }

    @Test func filtersNotAWholeVectorGoTapByTap() throws {
        // 24 filters (2 vectors): 12 / 2 = 6 outputs, at most 4; 200 filters (13 vectors): one output at a time.
        let plan = try Self.plan("input 8x8x16\nconv 24 3x3 pad=1 name=a\nconv 200 3x3 name=bb\nflatten\ndense 10\n"
                                 + "softmax\n")
        guard case let .conv(a, _) = Self.cpu(plan, "a"), case let .conv(b, _) = Self.cpu(plan, "bb") else {
            Issue.record("not convs")
            return
        }
        #expect(a == .taps(outputs: 4))
        #expect(b == .taps(outputs: 1))
    }

    @Test func oddVectorCountsTakeOneVectorAtATime() throws {
        // 48 filters, then 48 input channels: three vectors, so the row forms take one at a time (a pair would
        // reach filters 32..<64 of 48); 144 filters (9 vectors, over 8 groups of one) go tap by tap.
        let plan = try Self.plan("input 4x6x16\nconv 48 3x3 pad=1 name=a\nconv 16 3x3 pad=1 name=bb\n"
                                 + "conv 144 3x3 pad=1 name=cc\nflatten\ndense 3\nsoftmax\n")
        guard case let .conv(.rows(_, cv, looped, _), _) = Self.cpu(plan, "a"),
              case let .conv(_, .perSample(.rows(_, channelVectors), _)) = Self.cpu(plan, "bb"),
              case let .conv(wide, _) = Self.cpu(plan, "cc") else {
            Issue.record("not the row forms")
            return
        }
        #expect(cv == 1 && !looped)
        #expect(channelVectors == 1)
        #expect(wide == .taps(outputs: 1))
        #expect(Schedule.pairOfVectors(64, .standard) == 2 && Schedule.pairOfVectors(16, .standard) == 1)
    }

    @Test func strideTwoTakesTapsAndBlockedInputGradient() throws {
        let plan = try Self.plan("input 16x16x16\nconv 16 3x3 pad=1 name=a\nconv 32 3x3 stride=2 pad=1 name=bb\n"
                                 + "flatten\ndense 10\nsoftmax\n")
        // Stride 2 along x: no row form either way; the transposed input gradient goes tap by tap over 8 outputs.
        #expect(Self.cpu(plan, "bb") == .conv(
            forward: .taps(outputs: 4),
            backward: .perSample(inputGradient: .blocked(blocks: [8, 4, 2, 1]),
                                 weightGradient: ConvWeightGradientBlocking(channels: 8, positions: 1, samples: 16))))
        // Stride 1 along x but 2 along y is still a row form.
        let tall = try Self.plan("input 16x16x16\nconv 16 3x3 name=a\nconv 16 3x3 stride=2x1 name=bb\n"
                                 + "flatten\ndense 10\nsoftmax\n")
        guard case let .conv(.rows(blocks, 1, false, true), _) = Self.cpu(tall, "bb") else {
            Issue.record("stride 2x1 is not a row conv")
            return
        }
        #expect(blocks == Self.rows(6, 6))
    }

    /// The weight gradient goes a row at a time (every tap of a kernel row sharing each input value) where stride 1
    /// along x and whole filter vectors allow it and it loads less per FMA; 64 filters already reuse each input
    /// value 4 times tap by tap, and a kernel wider than `maxRowWeightGradientKernel` stays tap by tap.
    @Test func weightGradientRowsWhereTheyLoadLess() throws {
        func weightGradient(_ layer: String, input: String = "16x16x16") throws -> ConvWeightGradientBlocking? {
            let plan = try Self.plan("input \(input)\nconv 16 3x3 pad=1 name=a\n\(layer) name=bb\nflatten\ndense 10\nsoftmax\n")
            guard case let .conv(_, .perSample(_, w)) = Self.cpu(plan, "bb") else { return nil }
            return w
        }
        // 16 filters, 3x3: 8 channels x 3 taps = 24 accumulators, 11 loads per 24 FMAs (tap by tap: 17 per 16).
        #expect(try weightGradient("conv 16 3x3 pad=1")
                == ConvWeightGradientBlocking(channels: 8, positions: 1, samples: 4, sharedTaps: 3))
        // Stride 2 along y only is still a row along x.
        #expect(try weightGradient("conv 16 3x3 stride=2x1 pad=1")?.sharedTaps == 3)
        // 64 filters: 2 channels x 3 taps x 4 vectors would load 14 per 24 FMAs; tap by tap 8 per 16 is less.
        #expect(try weightGradient("conv 64 3x3 pad=1")?.sharedTaps == 1)
        // Stride 2 along x, filters not a whole vector, a 9-wide kernel: tap by tap.
        #expect(try weightGradient("conv 16 3x3 stride=2 pad=1")?.sharedTaps == 1)
        #expect(try weightGradient("conv 24 3x3 pad=1")?.sharedTaps == 1)
        #expect(try weightGradient("conv 16 9x9 pad=4")?.sharedTaps == 1)
        // 5x5 over 12 channels: 4 channels (a divisor of 12) x 5 taps = 20 accumulators.
        #expect(try weightGradient("conv 16 5x5 pad=2", input: "16x16x12")
                == ConvWeightGradientBlocking(channels: 4, positions: 1, samples: 4, sharedTaps: 5))
    }

    @Test func manyFilterGroupsLoopAndWideWeightsAreNotTransposed() throws {
        let plan = try Self.plan("input 12x12x16\nconv 16 3x3 name=a\nconv 512 3x3 pad=1 name=bb\nconv 64 5x5 name=cc\n"
                                 + "flatten\ndense 10\nsoftmax\n")
        // 512 filters are 16 groups of 2 vectors, over the 8 printed at most: a C loop.
        guard case let .conv(.rows(_, 2, looped, _), _) = Self.cpu(plan, "bb") else {
            Issue.record("bb is not a row conv")
            return
        }
        #expect(looped)
        // 5 x 5 x 512 x 64 floats would not fit in 256 KiB of stack: dot products on the weights as they are.
        guard case let .conv(_, .perSample(inputGradient, _)) = Self.cpu(plan, "cc") else {
            Issue.record("cc has no per-sample backward")
            return
        }
        #expect(inputGradient == .dotProducts)
        #expect(!inputGradient.transposesWeights)
    }

    @Test func wideRowsAndWideKernelsLeaveTheRowForm() throws {
        // Rows over 1024 outputs, and kernels over 16 wide, would print too many blocks or taps: tap by tap.
        let wide = try Self.plan("input 2x1100x16\nconv 16 1x3 pad=same name=a\nflatten\ndense 10\nsoftmax\n")
        let kernel = try Self.plan("input 2x40x16\nconv 16 1x17 pad=same name=a\nflatten\ndense 10\nsoftmax\n")
        let narrow = try Self.plan("input 2x40x16\nconv 16 1x16 pad=same name=a\nflatten\ndense 10\nsoftmax\n")
        func form(_ p: KernelPlan) -> ConvForwardForm? {
            if case let .conv(f, _) = Self.cpu(p, "a") { return f }
            return nil
        }
        #expect(form(wide) == .taps(outputs: 4))
        #expect(form(kernel) == .taps(outputs: 4))
        #expect(form(narrow).map { if case .rows = $0 { true } else { false } } == true)
    }

    @Test func bigDenseLayers() throws {
        let plan = try Self.plan("input 4x4\ndense 2000 name=a\ndense 40 name=bb\nsoftmax\n")
        // 2000 outputs: 62 tiles of 32 looped, then the 16 left as a tile of their own (not under 16).
        guard case let .dense(a, .batchWide(aw)) = Self.cpu(plan, "a") else {
            Issue.record("a is not batch-wide")
            return
        }
        #expect(a.looped == 62 && a.tiles.count == 63 && a.tiles.last == DenseTile(1984, 16))
        // 2000 outputs in chunks of 112: 18 chunks, all but the last looped; 7 vectors: 3 rows.
        #expect(aw.chunks.count == 18 && aw.looped == 17 && aw.chunks.last == DenseTile(1904, 96) && aw.rows == 3)
        // 40 outputs: a remainder of 8 joins the second tile.
        guard case let .dense(b, _) = Self.cpu(plan, "bb") else {
            Issue.record("bb is not a dense layer")
            return
        }
        #expect(b.tiles == [DenseTile(0, 40)])
        // The first dense layer needs no input gradient, so its stage has nothing after it but the rest.
        #expect(Schedule.cpu(plan).backwardStages.filter {
            if case .batchWide = $0 { true } else { false }
        }.count == 2)
    }

    @Test func rowBlocksAndPartition() {
        let b = CPUBudget.standard
        #expect(Schedule.blockSizes(width: 28, limit: 25, b) == [7, 4, 2, 1])
        #expect(Schedule.blockSizes(width: 13, limit: 25, b) == [8, 4, 2, 1])  // no divisor in 5...8
        #expect(Schedule.blockSizes(width: 3, limit: 25, b) == [3, 2, 1])
        #expect(Schedule.blockSizes(width: 28, limit: 2, b) == [2, 1])
        #expect(Schedule.rowPartition(width: 13, sizes: [8, 4, 2, 1]) == Self.rows(8, 4, 1))
    }

    @Test func gpuTilesAndReductionChunks() throws {
        let plan = try Self.example("mnist002")
        let s = Schedule.gpu(plan)
        guard let c1 = plan.groups.firstIndex(where: { $0.name == "conv1" }),
              case let .conv(conv1) = s.groups[c1] else {
            Issue.record("conv1 has no GPU conv schedule")
            return
        }
        // 28 wide: 7 columns (the most of 4...8 that divides it); 16 filters: vec4; 1 channel in: floats.
        #expect(conv1.forward == GPUTile(columns: 7, channels: 4))
        #expect(conv1.inputGradient == GPUTile(columns: 7, channels: 1))
        // 144 elements in blocks of 1 channel x vec4 of filters: 36 blocks, 64 lanes each (a workgroup's most).
        #expect(conv1.weightGradient == GPUReductionBlock(inputs: 1, outputs: 4, chunks: 64))
        guard let d2 = plan.groups.firstIndex(where: { $0.name == "dense2" }),
              case let .dense(dense2) = s.groups[d2] else {
            Issue.record("dense2 has no GPU dense schedule")
            return
        }
        // 10 outputs: vec2; 100 inputs: vec4; the 1000-element weight gradient in blocks of 4 x 2 (vectors of
        // each), 125 blocks of 64 lanes.
        #expect(dense2 == GPUDenseSchedule(samples: 4, outputs: 2, inputs: 4,
                                           weightGradient: GPUReductionBlock(inputs: 4, outputs: 2, chunks: 64)))
        #expect(Schedule.reductionChunks(blocks: 32768) == 1)
        #expect(Schedule.reductionChunks(blocks: 16384) == 2)
        #expect(Schedule.reductionChunks(blocks: 1000) == 64)
        #expect(Schedule.reductionChunks(blocks: 10) == 64)
        #expect(Schedule.reductionChunks(blocks: 10, terms: 20) == 16, "split-K: no more lanes than terms")
        #expect(Schedule.columns(13, .standard) == 4 && Schedule.columns(3, .standard) == 3)
    }

    @Test func planPrintsOneLinePerKernelAndTarget() throws {
        let text = PlanPrinter.renderSchedule(try Self.example("mnist002"))
        #expect(text.contains("conv1_forward        cpu: rows of 7,7,7,7 outputs x 16 filters (1 vector), "
                              + "epilogue in registers"))
        #expect(text.contains("vulkan: 7 columns x 4 filters per invocation"))
        #expect(text.contains("conv1_backward       cpu: single pass: the whole weight gradient (9 taps) in registers"))
        #expect(text.contains("1: dense1_backward's weight gradient over the whole batch, its 3136 rows split "
                              + "across the threads in blocks of 3"))
        #expect(text.contains("cpu parameter ranges: 0..<45136 per thread, 45136..<358736 batch-wide, "
                              + "358736..<359846 per thread"))
        #expect(!text.contains("maxpool1_forward"))  // pools have nothing to schedule
        #expect(PlanPrinter.sizes([8, 8, 8, 8, 8, 8, 4, 1]) == "8 x6,4,1")
        let lowered = PlanPrinter.renderLowered(try Self.example("mnist002"))
        #expect(lowered.contains("kernel 1 conv1_forward: per-target form\n  cpu: rows of 7,7,7,7 outputs"))
    }
}
