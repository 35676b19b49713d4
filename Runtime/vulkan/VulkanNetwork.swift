// The Vulkan target's `TrainableNetwork` (Docs/generated-package.md), for the program the generated Network.swift
// describes (`VulkanNetworkSpec`): buffers allocated once for maxBatch samples, one compute pipeline and
// descriptor set per shader of the program, and command buffers
// recorded once per kind of step (train / evaluate, batch size) and replayed for every batch. Parameters,
// gradients and momentum stay on the device; a step moves only the images and labels in and the per-sample
// losses and hits (and the probabilities) out. The update is deferred into the next step's submission, so a
// training step is one vkQueueSubmit.
import CVulkan
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum HostRole { case upload, download, device }
enum ShaderPhase { case forward, loss, backward, update }

/// A buffer of the program: `perSample * maxBatch + fixed` floats (or ints).
struct StorageSpec {
    let name: String
    let perSample: Int
    let fixed: Int
    let integer: Bool
    let host: HostRole
}

/// One shader of the program and its dispatch: `perSample * ceil(n / sampleBlock) + fixed` invocations in
/// workgroups of 64.
struct ShaderSpec {
    let name: String
    /// Index into Vulkanprogram.kernels (the plan kernel it belongs to).
    let kernel: Int
    let phase: ShaderPhase
    /// Storage indexes, in binding order.
    let bindings: [Int]
    let sampleBlock: Int
    let perSample: Int
    let fixed: Int
    /// Invocations splitting each of its sums as compiled (its specialization constant LANES; 1: none); its
    /// invocation count is proportional to it. The trainer may set it to 1 (`VulkanNetwork.lanes`).
    let lanes: Int
    /// Shared memory it declares, in bytes.
    let sharedBytes: Int
    /// Its dependency level in a training step (cnnc's `GLSLProgram.levels`): shaders are recorded by level, so
    /// the shaders of one level run between the same two barriers.
    let level: Int
    /// What it reads and writes (storages, or element ranges of them), for barrier placement.
    let reads: [Span]
    let writes: [Span]
    /// Index into Vulkanprogram.spirv.
    let spirv: Int
}

/// Elements `range` of storage `storage` (by default all of it): what a shader or a copy touches.
struct Span {
    let storage: Int
    let range: Range<Int>
    init(_ storage: Int, _ range: Range<Int> = 0..<Int.max) { (self.storage, self.range) = (storage, range) }

    func overlaps(_ other: Span) -> Bool { storage == other.storage && range.overlaps(other.range) }
}

/// What cnnc generated for one network: its buffers, its kernels and its shaders in execution order.
struct VulkanProgram {
    /// The largest batch whose buffer indices fit in the shaders' 32-bit ints.
    let largestBatch: Int
    /// Invocations per workgroup of every shader (`local_size_x`).
    let localSize: Int
    let storages: [StorageSpec]
    /// The kernels of the plan (names and multiply-accumulates per sample), for the profile.
    let kernels: [(name: String, macs: Int)]
    let shaders: [ShaderSpec]
    /// The SPIR-V of every shader, as base64 of its little-endian words.
    let spirv: [String]
}

/// A network as the generated Network.swift describes it: `typealias Network = VulkanNetwork<NetInfo>`.
protocol VulkanNetworkSpec {
    static var info: NetworkInfo { get }
    static var program: VulkanProgram { get }
}

/// Settings read from the environment, for tests: the device itself is chosen with --device N.
enum VulkanOptions {
    /// CNNC_VULKAN_STAGING=1: keep every buffer in device memory with mapped staging twins for the host's data, as on
    /// a discrete GPU, even where host-visible memory is device-local (to test that path on integrated GPUs and lavapipe).
    static var forceStaging: Bool { ProcessInfo.processInfo.environment["CNNC_VULKAN_STAGING"] == "1" }
    /// CNNC_VULKAN_LANES=compiled: split sums across lanes even on a CPU device (to test that path on lavapipe);
    /// =1: never.
    static var lanes: String? { ProcessInfo.processInfo.environment["CNNC_VULKAN_LANES"] }
    /// CNNC_VULKAN_TIMEOUT=SECONDS: how long a submission may run before the trainer gives up (default 600), as
    /// vkWaitForFences's nanoseconds (checked: a value that is not a positive number is an error, a huge one waits
    /// forever) and in whole seconds for the error.
    static func timeout() throws -> (nanoseconds: UInt64, text: String) {
        guard let text = ProcessInfo.processInfo.environment["CNNC_VULKAN_TIMEOUT"] else { return (600_000_000_000, "600") }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            throw RuntimeError("CNNC_VULKAN_TIMEOUT=\(text): must be a positive number of seconds")
        }
        let nanoseconds = seconds * 1e9
        return (nanoseconds < Double(UInt64.max) ? UInt64(nanoseconds) : UInt64.max,
                seconds < 1e18 ? "\(Int(seconds))" : text)
    }
}

final class VulkanNetwork<Spec: VulkanNetworkSpec>: TrainableNetwork {
    static var info: NetworkInfo { Spec.info }
    let maxBatch: Int
    let program = Spec.program
    let parameters: UnsafeMutablePointer<Float>
    let gradients: UnsafeMutablePointer<Float>
    var profilingEnabled = false
    let context: VulkanContext
    var vk: VulkanAPI { context.vk }
    /// Per storage: the buffer the shaders bind, and where the host reads or writes it (the same buffer when
    /// host-visible memory is device-local, as on integrated GPUs and lavapipe; a mapped staging twin otherwise).
    var bound: [VulkanBuffer] = []
    var hostSide: [VulkanBuffer?] = []
    var transfer: VulkanBuffer
    var pipelines: [VkPipeline?] = []
    var layouts: [VkPipelineLayout?] = []
    var sets: [VkDescriptorSet?] = []
    var queryPool: VkQueryPool?
    var cache: [StepKey: RecordedStep] = [:]
    /// The update that runs at the start of the next submission: the optimizer's kind and this step's values.
    var pendingUpdate: (values: OptimizerValues, kind: OptimizerKind)?
    var profile = ProfileCounters(shaders: Spec.program.shaders.count)
    let inputIndex: Int, labelsIndex: Int, lossIndex: Int, hitsIndex: Int, probsIndex: Int
    /// The storage of dropout's mask key (seed, training steps taken), uploaded before every step; nil without
    /// dropout. A buffer rather than push constants, which a replayed command buffer would repeat unchanged.
    let stepKeyIndex: Int?
    /// The storage of the optimizer's values (OptimizerValues.floats), written before a submission that updates.
    let optimizerIndex: Int
    /// Whether shaders split their sums across lanes as compiled (false on a CPU device: LANES = 1).
    var splitSums = true
    /// Training steps submitted so far (for errors that name the step).
    var stepsRun = 0
    var maskSeed: UInt32 = 0
    var maskStep: UInt32 = 0

    var probabilities: UnsafeMutablePointer<Float> {
        hostSide[probsIndex]!.mapped!.assumingMemoryBound(to: Float.self)
    }

    /// The host bytes `init` allocates for `maxBatch` (parameters, gradients, the parameter transfer buffer) plus the
    /// program's buffers, counted once (they are host memory on integrated GPUs and lavapipe, and staged through it
    /// on discrete ones). The trainer checks this against the available memory before it reads any data; the
    /// device's own heap sizes are not checked here (vkAllocateMemory reports that failure as an error).
    static func memoryBytes(maxBatch: Int, threads: Int) -> Int {
        let buffers = Spec.program.storages.map { saturatingProduct(4, saturatingSum([saturatingProduct($0.perSample, maxBatch), $0.fixed])) }
        return saturatingSum([saturatingProduct(16, Spec.info.parameterCount)] + buffers)
    }

    /// `--list-devices`: every Vulkan device, numbered as --device takes them.
    static func deviceList() throws -> String {
        try VulkanContext().deviceList()
    }

    init(maxBatch: Int, threads: Int, device: Int? = nil) throws {
        guard maxBatch <= Spec.program.largestBatch else {
            throw RuntimeError("--batch \(maxBatch) is too large for this network on Vulkan: its shaders index with 32-bit "
                               + "ints, which allow at most batch \(Spec.program.largestBatch)")
        }
        self.maxBatch = maxBatch
        context = try VulkanContext()
        try context.open(deviceIndex: device)
        splitSums = VulkanOptions.lanes == "compiled" || (VulkanOptions.lanes != "1" && !context.isCPU)
        parameters = .allocate(capacity: Spec.info.parameterCount)
        parameters.initialize(repeating: 0, count: Spec.info.parameterCount)
        gradients = .allocate(capacity: Spec.info.parameterCount)
        gradients.initialize(repeating: 0, count: Spec.info.parameterCount)
        func index(_ name: String) -> Int { Spec.program.storages.firstIndex { $0.name == name }! }
        (inputIndex, labelsIndex, lossIndex, hitsIndex, probsIndex) = (index("input"), index("labels"), index("loss"), index("hits"), index("probs"))
        stepKeyIndex = Spec.program.storages.firstIndex { $0.name == "stepkey" }
        optimizerIndex = index("optimizer")
        transfer = try context.makeBuffer("parameter transfer", bytes: 8 * Spec.info.parameterCount, host: true)
        try checkLimits()
        for s in program.storages {
            let bytes = 4 * (s.perSample * maxBatch + s.fixed)
            if s.host == .device {
                bound.append(try context.makeBuffer(s.name, bytes: bytes, host: false))
                hostSide.append(nil)
                continue
            }
            let host = try context.makeBuffer(s.name, bytes: bytes, use: s.host == .download ? .reads : .writes)
            bound.append(host.deviceLocal && !VulkanOptions.forceStaging ? host : try context.makeBuffer(s.name + " (device)", bytes: bytes, host: false))
            hostSide.append(host)
        }
        try createPipelines()
        if context.timestampsSupported {
            var info = VkQueryPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            info.queryType = VK_QUERY_TYPE_TIMESTAMP
            info.queryCount = UInt32(program.shaders.count + 2)
            try vkCheck(vk.createQueryPool!(context.device, &info, nil, &queryPool), "vkCreateQueryPool")
            let (vk, device, pool) = (vk, context.device, queryPool)
            context.onDestroy { vk.destroyQueryPool!(device, pool, nil) }
        }
        // Everything starts at zero (the optimizer's state, and gradients no kernel writes).
        try context.once { cb in
            let twins = zip(bound, hostSide).compactMap { b, h in h.flatMap { $0.buffer == b.buffer ? nil : $0 } }
            for b in bound + twins { vk.cmdFillBuffer!(cb, b.buffer, 0, vkWholeSize, 0) }
        }
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// One pipeline, descriptor set layout and descriptor set per shader; all bindings are storage buffers and
    /// every shader takes the same 8 bytes of push constants (n, train).
    private func createPipelines() throws {
        let device = context.device, vk = self.vk
        var poolSize = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                            descriptorCount: UInt32(max(1, program.shaders.reduce(0) { $0 + $1.bindings.count })))
        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = UInt32(program.shaders.count)
        poolInfo.poolSizeCount = 1
        var pool: VkDescriptorPool?
        try withUnsafePointer(to: &poolSize) { poolInfo.pPoolSizes = $0
            try vkCheck(vk.createDescriptorPool!(device, &poolInfo, nil, &pool), "vkCreateDescriptorPool")
        }
        context.onDestroy { vk.destroyDescriptorPool!(device, pool, nil) }
        for s in program.shaders {
            let words = try spirvWords(s)
            var module: VkShaderModule?
            var moduleInfo = VkShaderModuleCreateInfo()
            moduleInfo.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            moduleInfo.codeSize = 4 * words.count
            try words.withUnsafeBufferPointer { moduleInfo.pCode = $0.baseAddress
                try vkCheck(vk.createShaderModule!(device, &moduleInfo, nil, &module), "creating the shader module of \(s.name)")
            }
            defer { vk.destroyShaderModule!(device, module, nil) }
            var bindings = s.bindings.indices.map { i in
                VkDescriptorSetLayoutBinding(binding: UInt32(i), descriptorType: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 1,
                                             stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, pImmutableSamplers: nil)
            }
            var setLayout: VkDescriptorSetLayout?
            var setInfo = VkDescriptorSetLayoutCreateInfo()
            setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            setInfo.bindingCount = UInt32(bindings.count)
            try bindings.withUnsafeMutableBufferPointer { setInfo.pBindings = UnsafePointer($0.baseAddress)
                try vkCheck(vk.createDescriptorSetLayout!(device, &setInfo, nil, &setLayout), "vkCreateDescriptorSetLayout (\(s.name))")
            }
            context.onDestroy { vk.destroyDescriptorSetLayout!(device, setLayout, nil) }
            var range = VkPushConstantRange(stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0, size: 8)
            var layoutInfo = VkPipelineLayoutCreateInfo()
            layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
            layoutInfo.setLayoutCount = 1
            layoutInfo.pushConstantRangeCount = 1
            var layout: VkPipelineLayout?
            try withUnsafePointer(to: &setLayout) { setLayouts in
                try withUnsafePointer(to: &range) { range in
                    layoutInfo.pSetLayouts = setLayouts
                    layoutInfo.pPushConstantRanges = range
                    try vkCheck(vk.createPipelineLayout!(device, &layoutInfo, nil, &layout), "vkCreatePipelineLayout (\(s.name))")
                }
            }
            context.onDestroy { vk.destroyPipelineLayout!(device, layout, nil) }
            var pipeline: VkPipeline?
            var lanes = Int32(lanes(s))
            var entry = VkSpecializationMapEntry(constantID: 0, offset: 0, size: 4)
            var specialization = VkSpecializationInfo(mapEntryCount: 1, pMapEntries: nil, dataSize: 4, pData: nil)
            var info = VkComputePipelineCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
            info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
            info.stage.module = module
            info.layout = layout
            let result = "main".withCString { name in
                info.stage.pName = name
                return withUnsafePointer(to: &entry) { entry in
                    withUnsafePointer(to: &lanes) { lanes in
                        specialization.pMapEntries = entry
                        specialization.pData = UnsafeRawPointer(lanes)
                        return withUnsafePointer(to: &specialization) { specialization in
                            if s.lanes > 1 { info.stage.pSpecializationInfo = specialization }
                            return vk.createComputePipelines!(device, nil, 1, &info, nil, &pipeline)
                        }
                    }
                }
            }
            guard result == VK_SUCCESS else {
                if result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY { try vkCheck(result, "creating pipeline \(s.name)") }
                throw RuntimeError("the Vulkan driver (\(context.deviceName)) rejected shader \(s.name) (\(vkResultName(result))); "
                    + "see Shaders/\(s.name).comp, run with CNNC_VALIDATION=1 and report it as a cnnc bug")
            }
            context.onDestroy { vk.destroyPipeline!(device, pipeline, nil) }
            context.name(pipeline, VK_OBJECT_TYPE_PIPELINE, s.name)
            var set: VkDescriptorSet?
            var allocInfo = VkDescriptorSetAllocateInfo()
            allocInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            allocInfo.descriptorPool = pool
            allocInfo.descriptorSetCount = 1
            try withUnsafePointer(to: &setLayout) { allocInfo.pSetLayouts = $0
                try vkCheck(vk.allocateDescriptorSets!(device, &allocInfo, &set), "vkAllocateDescriptorSets (\(s.name))")
            }
            var infos = s.bindings.map { VkDescriptorBufferInfo(buffer: bound[$0].buffer, offset: 0, range: vkWholeSize) }
            infos.withUnsafeMutableBufferPointer { infos in
                var writes = s.bindings.indices.map { i -> VkWriteDescriptorSet in
                    var w = VkWriteDescriptorSet()
                    w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    w.dstSet = set
                    w.dstBinding = UInt32(i)
                    w.descriptorCount = 1
                    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                    w.pBufferInfo = UnsafePointer(infos.baseAddress! + i)
                    return w
                }
                vk.updateDescriptorSets!(device, UInt32(writes.count), &writes, 0, nil)
            }
            pipelines.append(pipeline)
            layouts.append(layout)
            sets.append(set)
        }
    }

    private func spirvWords(_ s: ShaderSpec) throws -> [UInt32] {
        guard let data = Data(base64Encoded: program.spirv[s.spirv]), data.count % 4 == 0 else {
            throw RuntimeError("internal: the embedded SPIR-V of shader \(s.name) is damaged")
        }
        return data.withUnsafeBytes { raw in (0..<data.count / 4).map { UInt32(littleEndian: raw.load(fromByteOffset: 4 * $0, as: UInt32.self)) } }
    }

    // MARK: the contract

    func computeGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult {
        defer { maskStep &+= 1 }
        return step(.train, images: images, labels: labels, count: count)
    }

    func seedMasks(_ seed: UInt32) {
        maskSeed = seed
        maskStep = 0
    }

    func evaluate(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int) -> StepResult {
        step(.evaluate, images: images, labels: labels, count: count)
    }

    /// Deferred: the update runs at the start of the next submission (or when the parameters are read).
    func applyUpdate(_ values: OptimizerValues, kind: OptimizerKind) {
        if pendingUpdate != nil { flushUpdate() }
        pendingUpdate = (values, kind)
    }

    func resetOptimizer() {
        flushUpdate()
        let state = ["moment1", "moment2"].map { name in bound[program.storages.firstIndex { $0.name == name }!] }
        fatalOnError { try context.once { cb in for s in state { vk.cmdFillBuffer!(cb, s.buffer, 0, vkWholeSize, 0) } } }
    }

    var trainingStateNames: (arrays: [String], counters: [String]) { (["moment1", "moment2"], ["mask_step"]) }

    /// Downloads the optimizer's state (after the pending update) through the transfer buffer.
    func trainingState() -> TrainingState {
        flushUpdate()
        let n = Spec.info.trainableCount
        var arrays: [(name: String, values: [Float])] = []
        for name in ["moment1", "moment2"] {
            let state = bound[program.storages.firstIndex { $0.name == name }!]
            fatalOnError {
                try context.once { cb in
                    var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(4 * n))
                    vk.cmdCopyBuffer!(cb, state.buffer, transfer.buffer, 1, &region)
                }
            }
            arrays.append((name, Array(UnsafeBufferPointer(start: transfer.mapped!.assumingMemoryBound(to: Float.self), count: n))))
        }
        return TrainingState(arrays: arrays, counters: [("mask_step", Int64(maskStep))])
    }

    /// Uploads the optimizer's state through the transfer buffer; the mask step is uploaded with every step anyway.
    func restoreTrainingState(_ state: TrainingState) {
        flushUpdate()
        let n = Spec.info.trainableCount
        for (name, values) in state.arrays {
            guard let index = program.storages.firstIndex(where: { $0.name == name }), name.hasPrefix("moment") else { continue }
            let target = bound[index]
            values.withUnsafeBytes { transfer.mapped!.copyMemory(from: $0.baseAddress!, byteCount: 4 * n) }
            fatalOnError {
                try context.once { cb in
                    var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(4 * n))
                    vk.cmdCopyBuffer!(cb, transfer.buffer, target.buffer, 1, &region)
                }
            }
        }
        for (name, value) in state.counters where name == "mask_step" { maskStep = UInt32(truncatingIfNeeded: value) }
    }

    /// Uploads `parameters` (after an initialisation or a checkpoint load).
    func parametersChanged() {
        flushUpdate()
        let n = Spec.info.parameterCount
        transfer.mapped!.copyMemory(from: parameters, byteCount: 4 * n)
        let params = bound[program.storages.firstIndex { $0.name == "params" }!]
        fatalOnError {
            try context.once { cb in
                var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(4 * n))
                vk.cmdCopyBuffer!(cb, transfer.buffer, params.buffer, 1, &region)
            }
        }
    }

    /// Downloads the parameters and the gradients of the last step into `parameters` and `gradients`.
    func synchronizeParameters() {
        flushUpdate()
        let n = Spec.info.parameterCount
        let params = bound[program.storages.firstIndex { $0.name == "params" }!]
        let grads = bound[program.storages.firstIndex { $0.name == "grads" }!]
        fatalOnError {
            try context.once { cb in
                var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(4 * n))
                vk.cmdCopyBuffer!(cb, params.buffer, transfer.buffer, 1, &region)
                region.dstOffset = VkDeviceSize(4 * n)
                vk.cmdCopyBuffer!(cb, grads.buffer, transfer.buffer, 1, &region)
            }
        }
        parameters.update(from: transfer.mapped!.assumingMemoryBound(to: Float.self), count: n)
        gradients.update(from: transfer.mapped!.assumingMemoryBound(to: Float.self) + n, count: n)
    }

    /// The contract's calls cannot throw; a Vulkan failure in the middle of training ends the run with its message.
    func fatalOnError(_ body: () throws -> Void) {
        do { try body() } catch {
            Console.err("error: \(error)\n")
            exit(1)
        }
    }
}

extension VulkanNetwork {
    /// The LANES shader `s` runs with: as compiled, or 1 where sums are not split.
    func lanes(_ s: ShaderSpec) -> Int { splitSums ? s.lanes : 1 }

    /// Invocations of shader `s` for a batch of `count`.
    func invocations(_ s: ShaderSpec, count: Int) -> Int {
        (s.perSample * ((count + s.sampleBlock - 1) / s.sampleBlock) + s.fixed) / s.lanes * lanes(s)
    }

    /// Every device limit the program needs, checked before anything is allocated: one line naming the limit.
    func checkLimits() throws {
        let limits = context.properties.limits
        let device = "Vulkan device \(context.deviceName)"
        func fail(_ what: String) -> RuntimeError { RuntimeError("\(device): \(what); choose another with --device N") }
        if let s = program.shaders.max(by: { $0.bindings.count < $1.bindings.count }),
           s.bindings.count > Int(limits.maxPerStageDescriptorStorageBuffers) {
            throw fail("shader \(s.name) binds \(s.bindings.count) storage buffers, more than its "
                       + "maxPerStageDescriptorStorageBuffers (\(limits.maxPerStageDescriptorStorageBuffers))")
        }
        if let s = program.shaders.max(by: { $0.sharedBytes < $1.sharedBytes }),
           s.sharedBytes > Int(limits.maxComputeSharedMemorySize) {
            throw fail("shader \(s.name) needs \(s.sharedBytes) bytes of shared memory, more than its "
                       + "maxComputeSharedMemorySize (\(limits.maxComputeSharedMemorySize))")
        }
        if program.localSize > Int(limits.maxComputeWorkGroupInvocations) || program.localSize > Int(limits.maxComputeWorkGroupSize.0) {
            throw fail("the shaders' workgroups of \(program.localSize) exceed its maxComputeWorkGroupInvocations "
                       + "(\(limits.maxComputeWorkGroupInvocations)) or maxComputeWorkGroupSize[0] (\(limits.maxComputeWorkGroupSize.0))")
        }
        for s in program.storages {
            let bytes = 4 * (s.perSample * maxBatch + s.fixed)
            if bytes > Int(limits.maxStorageBufferRange) {
                throw fail("buffer \(s.name) needs \(bytes) bytes at batch \(maxBatch), more than its maxStorageBufferRange "
                           + "(\(limits.maxStorageBufferRange)); try a smaller --batch")
            }
        }
        for s in program.shaders {
            let groups = (invocations(s, count: maxBatch) + program.localSize - 1) / program.localSize
            let (x, y) = dispatchGrid(groups)
            if x > Int(limits.maxComputeWorkGroupCount.0) || y > Int(limits.maxComputeWorkGroupCount.1) {
                throw fail("shader \(s.name) dispatches \(x) x \(y) workgroups at batch \(maxBatch), more than its "
                           + "maxComputeWorkGroupCount (\(limits.maxComputeWorkGroupCount.0) x \(limits.maxComputeWorkGroupCount.1)); "
                           + "try a smaller --batch")
            }
        }
    }

    /// `groups` workgroups as the grid a dispatch takes: at most 65535 (every device's minimum) along x.
    func dispatchGrid(_ groups: Int) -> (x: Int, y: Int) {
        let x = min(groups, 65535)
        return (x, x == 0 ? 0 : (groups + x - 1) / x)
    }
}
