// Steps of the Vulkan Network: command buffers recorded once per kind of step and batch size (barriers only
// where a shader reads or overwrites what an earlier one wrote), replayed per batch; and the --profile report
// from timestamp queries.
import CVulkan
import Foundation

enum StepKind: Hashable { case train, evaluate, update }

/// What a recorded command buffer does: the step, its batch size, the deferred update it starts with (the
/// optimizer's shader: its values are in a buffer, so one recording serves every step of a schedule), and whether
/// it writes timestamps.
struct StepKey: Hashable {
    var kind: StepKind
    var count: Int
    var update: OptimizerKind?
    var profiled: Bool
}

struct RecordedStep {
    var commands: VkCommandBuffer?
    /// The shader of each timestamp interval.
    var timed: [Int]
    var dispatches: Int
    var barriers: Int
    var copies: Int
}

struct ProfileCounters {
    /// Device seconds per shader.
    var seconds: [Double]
    var steps = 0
    var samples = 0
    var submissions = 0
    var dispatches = 0
    var barriers = 0
    var copies = 0
    var bytesIn = 0
    var bytesOut = 0
    var wall = 0.0
    init(shaders: Int) { seconds = [Double](repeating: 0, count: shaders) }
}

/// Barrier placement: a barrier goes before a command that reads or writes elements written since the last
/// barrier, or writes elements read since it (by storage and element range, so that two shaders writing different
/// parameters' gradients in one storage need none between them).
struct Hazards {
    var written: [Span] = [], read: [Span] = []
    mutating func needsBarrier(reads: [Span], writes: [Span]) -> Bool {
        let conflict = reads.contains { r in written.contains { $0.overlaps(r) } }
            || writes.contains { w in written.contains { $0.overlaps(w) } || read.contains { $0.overlaps(w) } }
        if conflict { written.removeAll(); read.removeAll() }
        read += reads
        written += writes
        return conflict
    }
}

extension VulkanNetwork {
    func step(_ kind: StepKind, images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult {
        precondition(count >= 1 && count <= maxBatch)
        let sample = Spec.info.inputH * Spec.info.inputW * Spec.info.inputC
        hostSide[inputIndex]!.mapped!.copyMemory(from: images, byteCount: 4 * count * sample)
        hostSide[labelsIndex]!.mapped!.copyMemory(from: labels, byteCount: 4 * count)
        if let key = stepKeyIndex {
            let words = hostSide[key]!.mapped!.assumingMemoryBound(to: UInt32.self)
            (words[0], words[1]) = (maskSeed, maskStep)
        }
        let profiled = profilingEnabled && kind == .train && queryPool != nil
        writeOptimizerValues()
        let key = StepKey(kind: kind, count: count, update: pendingUpdate?.kind, profiled: profiled)
        let started = DispatchTime.now().uptimeNanoseconds
        let recorded = run(key)
        pendingUpdate = nil
        let loss = hostSide[lossIndex]!.mapped!.assumingMemoryBound(to: Float.self)
        let hits = hostSide[hitsIndex]!.mapped!.assumingMemoryBound(to: Int32.self)
        var result = StepResult(lossSum: 0, correct: 0)
        for i in 0..<count {
            result.lossSum += Double(loss[i])
            result.correct += Int(hits[i])
        }
        if profilingEnabled && kind == .train {
            profile.wall += Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            profile.steps += 1
            profile.samples += count
            profile.submissions += 1
            profile.dispatches += recorded.dispatches
            profile.barriers += recorded.barriers
            profile.copies += recorded.copies
            profile.bytesIn += 4 * count * (sample + 1)
            profile.bytesOut += 4 * count * (2 + (recorded.copies > 0 ? Spec.info.classes : 0))
            if profiled { readTimestamps(recorded) }
        }
        return result
    }

    /// Writes the pending update's values where its shader reads them.
    func writeOptimizerValues() {
        guard let u = pendingUpdate else { return }
        let floats = hostSide[optimizerIndex]!.mapped!.assumingMemoryBound(to: Float.self)
        for (i, x) in u.values.floats.enumerated() { floats[i] = x }
    }

    /// Runs a pending update on its own (before the parameters are read, replaced or the optimizer reset).
    func flushUpdate() {
        guard let u = pendingUpdate else { return }
        writeOptimizerValues()
        _ = run(StepKey(kind: .update, count: 1, update: u.kind, profiled: false))
        pendingUpdate = nil
    }

    /// Submits the command buffer of `key` (recording it the first time) and waits for it.
    @discardableResult
    func run(_ key: StepKey) -> RecordedStep {
        var recorded = RecordedStep(commands: nil, timed: [], dispatches: 0, barriers: 0, copies: 0)
        fatalOnError {
            if let cached = cache[key] {
                recorded = cached
            } else {
                if cache.count >= 16 {  // e.g. a learning-rate schedule: start over rather than grow
                    cache.values.forEach { context.freeCommandBuffer($0.commands) }
                    cache.removeAll()
                }
                recorded = try record(key)
                cache[key] = recorded
            }
            /// What the submission does, spelt out only for an error (not a string per step).
            func what() -> String {
                switch key.kind {
                case .train: return "training step \(stepsRun + 1)"
                case .evaluate: return "an evaluation batch (after training step \(stepsRun))"
                case .update: return "the update after training step \(stepsRun)"
                }
            }
            try context.run(recorded.commands, what())
            if key.kind == .train { stepsRun += 1 }
        }
        return recorded
    }

    private func record(_ key: StepKey) throws -> RecordedStep {
        let cb = try context.allocateCommandBuffer()
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        try vkCheck(vk.beginCommandBuffer!(cb, &begin), "vkBeginCommandBuffer")
        var out = RecordedStep(commands: cb, timed: [], dispatches: 0, barriers: 0, copies: 0)
        var hazards = Hazards()
        let timestamp = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
        if key.profiled {
            vk.cmdResetQueryPool!(cb, queryPool, 0, UInt32(program.shaders.count + 2))
            vk.cmdWriteTimestamp!(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queryPool, 0)
        }
        func guardHazards(reads: [Span], writes: [Span]) {
            if hazards.needsBarrier(reads: reads, writes: writes) {
                context.barrier(cb)
                out.barriers += 1
            }
        }
        func copy(_ storage: Int, toDevice: Bool) {
            guard let host = hostSide[storage], host.buffer != bound[storage].buffer else { return }
            guardHazards(reads: toDevice ? [] : [Span(storage)], writes: toDevice ? [Span(storage)] : [])
            let s = program.storages[storage]
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(4 * (s.perSample * key.count + s.fixed)))
            vk.cmdCopyBuffer!(cb, toDevice ? host.buffer : bound[storage].buffer, toDevice ? bound[storage].buffer : host.buffer, 1, &region)
            out.copies += 1
        }
        var push: (Int32, Int32) = (Int32(key.count), key.kind == .train ? 1 : 0)
        let phases: [ShaderPhase]
        switch key.kind {
        case .train: phases = [.forward, .loss, .backward]
        case .evaluate: phases = [.forward, .loss]
        case .update: phases = []
        }
        // The update first: the shader of the optimizer's kind (adamw runs adam's with other values).
        var order: [Int] = []
        if let kind = key.update {
            let name = (kind == .sgd ? "sgd" : "adam") + "_update"
            order = program.shaders.indices.filter { program.shaders[$0].phase == .update && program.shaders[$0].name == name }
            copy(optimizerIndex, toDevice: true)
        }
        // Then the step's shaders by dependency level (program order within a level).
        order += program.shaders.indices.filter { phases.contains(program.shaders[$0].phase) }
            .sorted { (program.shaders[$0].level, $0) < (program.shaders[$1].level, $1) }
        if key.kind != .update {
            ([inputIndex, labelsIndex] + [stepKeyIndex].compactMap { $0 }).forEach { copy($0, toDevice: true) }
        }
        for i in order {
            let s = program.shaders[i]
            guardHazards(reads: s.reads, writes: s.writes)
            vk.cmdBindPipeline!(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines[i])
            vk.cmdBindDescriptorSets!(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layouts[i], 0, 1, &sets[i], 0, nil)
            withUnsafeBytes(of: &push) { vk.cmdPushConstants!(cb, layouts[i], VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, 8, $0.baseAddress) }
            let groups = (invocations(s, count: key.count) + program.localSize - 1) / program.localSize
            let grid = dispatchGrid(groups)
            vk.cmdDispatch!(cb, UInt32(grid.x), UInt32(grid.y), 1)
            out.dispatches += 1
            if key.profiled {
                vk.cmdWriteTimestamp!(cb, timestamp, queryPool, UInt32(out.timed.count + 1))
                out.timed.append(i)
            }
        }
        if key.kind != .update { [lossIndex, hitsIndex, probsIndex].forEach { copy($0, toDevice: false) } }
        context.barrier(cb, toHost: true)
        try vkCheck(vk.endCommandBuffer!(cb), "vkEndCommandBuffer")
        return out
    }

    private func readTimestamps(_ recorded: RecordedStep) {
        var ticks = [UInt64](repeating: 0, count: recorded.timed.count + 1)
        let flags = VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue
        let result = ticks.withUnsafeMutableBytes {
            vk.getQueryPoolResults!(context.device, queryPool, 0, UInt32($0.count / 8), $0.count, $0.baseAddress, 8, flags)
        }
        guard result == VK_SUCCESS else { return }
        let period = Double(context.properties.limits.timestampPeriod) * 1e-9
        for (i, shader) in recorded.timed.enumerated() where ticks[i + 1] >= ticks[i] {
            profile.seconds[shader] += Double(ticks[i + 1] - ticks[i]) * period
        }
    }

    /// Per-kernel device times (timestamp queries) averaged over the profiled training steps, with GFLOP/s from
    /// each kernel's MACs and, below a kernel of several shaders, each shader's time; then what a step costs in
    /// submissions, dispatches, barriers and host transfers.
    func profileReport() -> String {
        guard profile.steps > 0 else { return "no steps profiled" }
        let steps = Double(profile.steps)
        let samples = Double(profile.samples) / steps
        var out = "profile over \(profile.steps) steps on \(context.deviceName) (Vulkan, \(String(format: "%.1f", samples)) samples each)\n"
        if queryPool == nil { out += "(this device has no timestamp queries: kernel times unavailable)\n" }
        let width = max(22, (program.kernels.map(\.name.count) + program.shaders.map { $0.name.count + 2 }).max() ?? 0)
        out += "kernel".padding(toLength: width + 3, withPad: " ", startingAt: 0) + "ms/step   GFLOP/s   share\n"
        let total = profile.seconds.reduce(0, +)
        func row(_ name: String, _ seconds: Double, _ flops: Double) -> String {
            let gflops = flops > 0 && seconds > 0 ? String(format: "%9.1f", flops / seconds * 1e-9) : "        -"
            return name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: " %9.3f ", seconds / steps * 1e3) + gflops + String(format: " %6.1f%%\n", 100 * seconds / max(total, 1e-12))
        }
        for (k, kernel) in program.kernels.enumerated() {
            let shaders = program.shaders.indices.filter { program.shaders[$0].kernel == k }
            let seconds = shaders.reduce(0) { $0 + profile.seconds[$1] }
            out += row(kernel.name, seconds, 2 * Double(kernel.macs) * samples * steps)
            if shaders.count > 1 { for s in shaders { out += row("  " + program.shaders[s].name, profile.seconds[s], 0) } }
        }
        out += "total on the device".padding(toLength: width, withPad: " ", startingAt: 0)
        out += String(format: " %9.3f ms/step; wall %.3f ms/step (submit, wait, host work)\n", total / steps * 1e3, profile.wall / steps * 1e3)
        out += String(format: "per step: %.1f submissions, %.0f dispatches, %.0f barriers, %.0f buffer copies; ",
                      Double(profile.submissions) / steps, Double(profile.dispatches) / steps, Double(profile.barriers) / steps,
                      Double(profile.copies) / steps)
        out += "host->device \(profile.bytesIn / profile.steps) bytes, device->host \(profile.bytesOut / profile.steps) bytes\n"
        return out
    }
}
