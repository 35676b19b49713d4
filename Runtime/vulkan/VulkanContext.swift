// The Vulkan instance and device the trainer runs on: device choice (--device N, or the best kind
// present), the compute queue, buffers, one-off submissions, and the validation layer (CNNC_VALIDATION=1) whose
// messages are printed as they come and counted; any at all make the trainer exit non-zero at the end.
import CVulkan
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Messages of the validation layer (and the loader), counted by severity.
final class ValidationLog {
    var errors = 0
    var warnings = 0

    func record(_ severity: VkDebugUtilsMessageSeverityFlagBitsEXT, _ message: String) {
        let error = severity.rawValue >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        if error { errors += 1 } else { warnings += 1 }
        Console.err("vulkan validation \(error ? "error" : "warning"): \(message)\n")
    }
}

private let validationCallback: PFN_vkDebugUtilsMessengerCallbackEXT = { severity, _, data, user in
    if let user, let text = data?.pointee.pMessage {
        Unmanaged<ValidationLog>.fromOpaque(user).takeUnretainedValue().record(severity, String(cString: text))
    }
    return VkBool32(VK_FALSE)
}

/// A buffer and its memory; `mapped` is set for host-visible ones (kept mapped for the whole run).
struct VulkanBuffer {
    var buffer: VkBuffer?
    var memory: VkDeviceMemory?
    var bytes: Int
    var mapped: UnsafeMutableRawPointer?
    /// Whether the memory is device-local (on a discrete GPU, host-visible memory usually is not).
    var deviceLocal: Bool
}

final class VulkanContext {
    var vk: VulkanAPI
    private(set) var instance: VkInstance?
    private var messenger: VkDebugUtilsMessengerEXT?
    private(set) var physical: VkPhysicalDevice?
    private(set) var device: VkDevice?
    private(set) var queue: VkQueue?
    private(set) var properties = VkPhysicalDeviceProperties()
    private var memoryProperties = VkPhysicalDeviceMemoryProperties()
    private(set) var timestampsSupported = false
    private(set) var commandPool: VkCommandPool?
    private var fence: VkFence?
    let validation: ValidationLog?
    /// Destroys what was created on the device, newest first, before the device itself goes.
    private var cleanups: [() -> Void] = []
    private(set) var submissions = 0
    /// How long a submission may run (CNNC_VULKAN_TIMEOUT), read once rather than from the environment per step.
    let timeout: (nanoseconds: UInt64, text: String)

    var deviceName: String { vkString(properties.deviceName) }
    /// Whether the device is the CPU (lavapipe): shaders there do not split their sums across lanes.
    var isCPU: Bool { properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU }

    /// Opens the loader and creates the instance (with the validation layer when CNNC_VALIDATION=1).
    init() throws {
        timeout = try VulkanOptions.timeout()
        vk = try VulkanAPI()
        let wantValidation = ProcessInfo.processInfo.environment["CNNC_VALIDATION"] == "1"
        validation = wantValidation ? ValidationLog() : nil
        var version: UInt32 = vkMakeAPIVersion(0, 1, 0, 0)
        if let enumerate = vk.enumerateInstanceVersion { _ = enumerate(&version) }
        guard version >= vkMakeAPIVersion(0, 1, 1, 0) else {
            throw RuntimeError("Vulkan 1.1 is needed, the loader offers \(vkVersionString(version)); update libvulkan1 and the driver")
        }
        var layers: [String] = []
        var extensions: [String] = []
        if wantValidation {
            var count: UInt32 = 0
            _ = vk.enumerateInstanceLayerProperties!(&count, nil)
            var found = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
            _ = vk.enumerateInstanceLayerProperties!(&count, &found)
            guard found.prefix(Int(count)).contains(where: { vkString($0.layerName) == "VK_LAYER_KHRONOS_validation" }) else {
                throw RuntimeError("CNNC_VALIDATION=1 but the Khronos validation layer is not installed: `apt-get install vulkan-validationlayers`")
            }
            layers = ["VK_LAYER_KHRONOS_validation"]
            extensions = ["VK_EXT_debug_utils"]
            var extensionCount: UInt32 = 0
            _ = vk.enumerateInstanceExtensionProperties!("VK_LAYER_KHRONOS_validation", &extensionCount, nil)
            var layerExtensions = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extensionCount))
            _ = vk.enumerateInstanceExtensionProperties!("VK_LAYER_KHRONOS_validation", &extensionCount, &layerExtensions)
            if layerExtensions.prefix(Int(extensionCount)).contains(where: { vkString($0.extensionName) == "VK_EXT_validation_features" }) {
                extensions.append("VK_EXT_validation_features")  // to turn on synchronization validation (barriers)
            }
        }
        // Chained behind the messenger's create info: synchronization validation checks the barriers too.
        let enabledFeatures = UnsafeMutablePointer<VkValidationFeatureEnableEXT>.allocate(capacity: 1)
        enabledFeatures.initialize(to: VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT)
        let features = UnsafeMutablePointer<VkValidationFeaturesEXT>.allocate(capacity: 1)
        features.initialize(to: VkValidationFeaturesEXT())
        features.pointee.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT
        features.pointee.enabledValidationFeatureCount = 1
        features.pointee.pEnabledValidationFeatures = UnsafePointer(enabledFeatures)
        defer { features.deallocate(); enabledFeatures.deallocate() }
        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.apiVersion = vkMakeAPIVersion(0, 1, 1, 0)
        var messengerInfo = VkDebugUtilsMessengerCreateInfoEXT()
        messengerInfo.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        messengerInfo.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
        messengerInfo.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT.rawValue
        messengerInfo.pfnUserCallback = validationCallback
        messengerInfo.pUserData = validation.map { Unmanaged.passUnretained($0).toOpaque() }
        let layerNames = layers.map { UnsafePointer(strdup($0)) }
        let extensionNames = extensions.map { UnsafePointer(strdup($0)) }
        defer { (layerNames + extensionNames).forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        var instance: VkInstance?
        let result = withUnsafePointer(to: &app) { app in
            if extensions.contains("VK_EXT_validation_features") { messengerInfo.pNext = UnsafeRawPointer(features) }
            return withUnsafePointer(to: &messengerInfo) { messengerInfo in
                layerNames.withUnsafeBufferPointer { layerNames in
                    extensionNames.withUnsafeBufferPointer { extensionNames in
                        var info = VkInstanceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                        info.pNext = wantValidation ? UnsafeRawPointer(messengerInfo) : nil
                        info.pApplicationInfo = app
                        info.enabledLayerCount = UInt32(layerNames.count)
                        info.ppEnabledLayerNames = layerNames.baseAddress
                        info.enabledExtensionCount = UInt32(extensionNames.count)
                        info.ppEnabledExtensionNames = extensionNames.baseAddress
                        return vk.createInstance!(&info, nil, &instance)
                    }
                }
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER {
            throw RuntimeError("no Vulkan driver: install one, e.g. `apt-get install mesa-vulkan-drivers` (lavapipe runs on the CPU)")
        }
        try vkCheck(result, "vkCreateInstance")
        self.instance = instance
        try vk.loadInstance(instance, debugUtils: wantValidation)
        if wantValidation {
            messengerInfo.pNext = nil
            try vkCheck(vk.createDebugUtilsMessenger!(instance, &messengerInfo, nil, &messenger), "vkCreateDebugUtilsMessengerEXT")
        }
    }

    deinit {
        if let device {
            _ = vk.deviceWaitIdle!(device)
            cleanups.reversed().forEach { $0() }
            if let fence { vk.destroyFence!(device, fence, nil) }
            if let commandPool { vk.destroyCommandPool!(device, commandPool, nil) }
            vk.destroyDevice!(device, nil)
        }
        if let messenger { vk.destroyDebugUtilsMessenger!(instance, messenger, nil) }
        if let instance { vk.destroyInstance!(instance, nil) }
        if let v = validation, v.errors + v.warnings > 0 {
            Console.err("error: the Vulkan validation layer reported \(v.errors) errors and \(v.warnings) warnings (CNNC_VALIDATION=1)\n")
            exit(3)
        }
    }

    /// Every physical device, in the loader's order (the numbers --device takes).
    func physicalDevices() throws -> [(device: VkPhysicalDevice?, properties: VkPhysicalDeviceProperties)] {
        var count: UInt32 = 0
        try vkCheck(vk.enumeratePhysicalDevices!(instance, &count, nil), "vkEnumeratePhysicalDevices")
        var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try vkCheck(vk.enumeratePhysicalDevices!(instance, &count, &devices), "vkEnumeratePhysicalDevices")
        return devices.prefix(Int(count)).map { d in
            var p = VkPhysicalDeviceProperties()
            vk.getPhysicalDeviceProperties!(d, &p)
            return (d, p)
        }
    }

    static func kindName(_ t: VkPhysicalDeviceType) -> String {
        switch t {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU"
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU"
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU"
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU"
        default: return "other"
        }
    }

    /// One line per device: `0: llvmpipe (LLVM 15.0.6, 256 bits) (CPU, Vulkan 1.3.230)`.
    func deviceList() throws -> String {
        try physicalDevices().enumerated().map { i, d in
            "\(i): \(vkString(d.properties.deviceName)) (\(Self.kindName(d.properties.deviceType)), Vulkan \(vkVersionString(d.properties.apiVersion)))"
        }.joined(separator: "\n") + "\n"
    }

    /// Picks device `index` (nil: the first discrete GPU, else integrated, virtual, CPU) and creates it with
    /// one compute queue.
    func open(deviceIndex index: Int?) throws {
        let devices = try physicalDevices()
        guard !devices.isEmpty else {
            throw RuntimeError("no Vulkan device: install a driver, e.g. `apt-get install mesa-vulkan-drivers` (lavapipe runs on the CPU)")
        }
        let rank: [VkPhysicalDeviceType] = [VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
                                            VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU, VK_PHYSICAL_DEVICE_TYPE_CPU]
        let chosen: Int
        if let index {
            guard index >= 0 && index < devices.count else {
                let list = try deviceList().split(separator: "\n").joined(separator: "; ")
                throw RuntimeError("--device \(index): no such Vulkan device; there are \(devices.count): \(list)")
            }
            chosen = index
        } else {
            chosen = devices.indices.min { (rank.firstIndex(of: devices[$0].properties.deviceType) ?? 9)
                < (rank.firstIndex(of: devices[$1].properties.deviceType) ?? 9) }!
        }
        physical = devices[chosen].device
        properties = devices[chosen].properties
        guard properties.apiVersion >= vkMakeAPIVersion(0, 1, 1, 0) else {
            throw RuntimeError("Vulkan device \(chosen) (\(deviceName)) supports Vulkan \(vkVersionString(properties.apiVersion)); the shaders need 1.1")
        }
        vk.getPhysicalDeviceMemoryProperties!(physical, &memoryProperties)
        var familyCount: UInt32 = 0
        vk.getPhysicalDeviceQueueFamilyProperties!(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        vk.getPhysicalDeviceQueueFamilyProperties!(physical, &familyCount, &families)
        let compute = VK_QUEUE_COMPUTE_BIT.rawValue, graphics = VK_QUEUE_GRAPHICS_BIT.rawValue
        // A compute-only family when there is one (asynchronous compute on discrete GPUs), else any with compute.
        guard let family = families.indices.first(where: { families[$0].queueFlags & (compute | graphics) == compute })
            ?? families.indices.first(where: { families[$0].queueFlags & compute != 0 }) else {
            throw RuntimeError("Vulkan device \(chosen) (\(deviceName)) has no compute queue; choose another with --device N (see --list-devices)")
        }
        timestampsSupported = families[family].timestampValidBits > 0 && properties.limits.timestampPeriod > 0
        var priority: Float = 1
        var device: VkDevice?
        try withUnsafePointer(to: &priority) { priority in
            var queueInfo = VkDeviceQueueCreateInfo()
            queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
            queueInfo.queueFamilyIndex = UInt32(family)
            queueInfo.queueCount = 1
            queueInfo.pQueuePriorities = priority
            try withUnsafePointer(to: &queueInfo) { queueInfo in
                var info = VkDeviceCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                info.queueCreateInfoCount = 1
                info.pQueueCreateInfos = queueInfo
                try vkCheck(vk.createDevice!(physical, &info, nil, &device), "vkCreateDevice on \(deviceName)")
            }
        }
        self.device = device
        try vk.loadDevice(device)
        vk.getDeviceQueue!(device, UInt32(family), 0, &queue)
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = UInt32(family)
        try vkCheck(vk.createCommandPool!(device, &poolInfo, nil, &commandPool), "vkCreateCommandPool")
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        try vkCheck(vk.createFence!(device, &fenceInfo, nil, &fence), "vkCreateFence")
    }

    /// Names an object in validation messages (only when the validation layer is on).
    func name(_ handle: OpaquePointer?, _ type: VkObjectType, _ name: String) {
        guard validation != nil, let handle else { return }
        var info = VkDebugUtilsObjectNameInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT
        info.objectType = type
        info.objectHandle = UInt64(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle))))
        _ = name.withCString { text in
            info.pObjectName = text
            return vk.setDebugUtilsObjectName!(device, &info)
        }
    }

    /// Registers how to destroy something created on the device.
    func onDestroy(_ cleanup: @escaping () -> Void) { cleanups.append(cleanup) }

    /// The memory types a buffer may use, best first: those with every `preferred` flag set, then those with the
    /// first of them, then the rest that have the `required` flags (the fallback chain of `makeBuffer`).
    private func memoryTypes(_ bits: UInt32, required: UInt32, preferred: [UInt32]) -> [(index: UInt32, flags: UInt32)] {
        let types = withUnsafeBytes(of: memoryProperties.memoryTypes) { Array($0.bindMemory(to: VkMemoryType.self)) }
        let usable = (0..<Int(memoryProperties.memoryTypeCount)).filter {
            bits & (1 << UInt32($0)) != 0 && types[$0].propertyFlags & required == required
        }
        let all = preferred.reduce(0, |)
        func rank(_ i: Int) -> Int {
            let f = types[i].propertyFlags
            if f & all == all { return 0 }
            return preferred.first.map { f & $0 == $0 ? 1 : 2 } ?? 2
        }
        return usable.sorted { (rank($0), $0) < (rank($1), $1) }.map { (UInt32($0), types[$0].propertyFlags) }
    }

    /// What the host does with a buffer, which decides its memory: nothing (device-local), writes it (host-visible,
    /// device-local where there is such memory: a discrete GPU's BAR window), or reads it (host-visible and cached:
    /// reading uncached memory is slow; the trainer stages it when that memory is not device-local).
    enum HostUse { case none, writes, reads }

    /// A storage buffer of `bytes`; buffers the host uses are host-visible and coherent, and stay mapped. Memory
    /// types are tried best first; one whose heap is full (out of device memory: a BAR window used up) gives way
    /// to the next.
    func makeBuffer(_ name: String, bytes: Int, host: Bool) throws -> VulkanBuffer {
        try makeBuffer(name, bytes: bytes, use: host ? .writes : .none)
    }

    func makeBuffer(_ name: String, bytes: Int, use: HostUse) throws -> VulkanBuffer {
        let host = use != .none
        let size = max(16, (bytes + 15) / 16 * 16)
        let limit = Int(properties.limits.maxStorageBufferRange)
        guard size <= limit else {
            throw RuntimeError("Vulkan buffer \(name) needs \(size >> 20) MiB, more than this device binds (\(limit >> 20) MiB); try a smaller --batch")
        }
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(size)
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try vkCheck(vk.createBuffer!(device, &info, nil, &buffer), "vkCreateBuffer (\(name), \(size) bytes)")
        let device = self.device, vk = self.vk
        onDestroy { vk.destroyBuffer!(device, buffer, nil) }
        self.name(buffer, VK_OBJECT_TYPE_BUFFER, name)
        var requirements = VkMemoryRequirements()
        vk.getBufferMemoryRequirements!(device, buffer, &requirements)
        let hostFlags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue, cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue
        let chain = memoryTypes(requirements.memoryTypeBits, required: host ? hostFlags : 0,
                                preferred: use == .reads ? [cached, local] : [local])
        guard !chain.isEmpty else {
            throw RuntimeError("Vulkan device \(deviceName) has no \(host ? "host-visible coherent " : "")memory for buffer \(name)")
        }
        var allocation = VkMemoryAllocateInfo()
        allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocation.allocationSize = requirements.size
        var memory: VkDeviceMemory?
        var type = chain[0]
        for (i, candidate) in chain.enumerated() {
            type = candidate
            allocation.memoryTypeIndex = candidate.index
            let result = vk.allocateMemory!(device, &allocation, nil, &memory)
            if result == VK_ERROR_OUT_OF_DEVICE_MEMORY && i + 1 < chain.count { continue }
            try vkCheck(result, "allocating \(size >> 10) KiB for buffer \(name)")
            break
        }
        onDestroy { vk.freeMemory!(device, memory, nil) }
        try vkCheck(vk.bindBufferMemory!(device, buffer, memory, 0), "vkBindBufferMemory (\(name))")
        var mapped: UnsafeMutableRawPointer?
        if host { try vkCheck(vk.mapMemory!(device, memory, 0, vkWholeSize, 0, &mapped), "vkMapMemory (\(name))") }
        return VulkanBuffer(buffer: buffer, memory: memory, bytes: size, mapped: mapped, deviceLocal: type.flags & local != 0)
    }

    func allocateCommandBuffer() throws -> VkCommandBuffer? {
        var info = VkCommandBufferAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        info.commandPool = commandPool
        info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        info.commandBufferCount = 1
        var cb: VkCommandBuffer?
        try vkCheck(vk.allocateCommandBuffers!(device, &info, &cb), "vkAllocateCommandBuffers")
        return cb
    }

    func freeCommandBuffer(_ cb: VkCommandBuffer?) {
        var cb = cb
        vk.freeCommandBuffers!(device, commandPool, 1, &cb)
    }

    /// Submits `cb` and waits for it to finish (`what` it does, for the error when it does not within
    /// CNNC_VULKAN_TIMEOUT seconds, or loses the device).
    func run(_ cb: VkCommandBuffer?, _ what: @autoclosure () -> String = "a transfer") throws {
        var cb = cb
        var submit = VkSubmitInfo()
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        submit.commandBufferCount = 1
        try withUnsafePointer(to: &cb) { cbs in
            submit.pCommandBuffers = cbs
            try vkCheck(vk.queueSubmit!(queue, 1, &submit, fence), "vkQueueSubmit (\(what()))")
        }
        submissions += 1
        let waited = vk.waitForFences!(device, 1, &fence, VkBool32(VK_TRUE), timeout.nanoseconds)
        if waited == VK_TIMEOUT {
            throw RuntimeError("Vulkan device \(deviceName) did not finish \(what()) within \(timeout.text) s "
                               + "(vkWaitForFences timed out; CNNC_VULKAN_TIMEOUT=SECONDS waits longer)")
        }
        try vkCheck(waited, "waiting for \(what())")
        try vkCheck(vk.resetFences!(device, 1, &fence), "vkResetFences")
    }

    /// Records `body` into a one-time command buffer, runs it and waits.
    func once(_ body: (VkCommandBuffer?) -> Void) throws {
        let cb = try allocateCommandBuffer()
        defer { freeCommandBuffer(cb) }
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try vkCheck(vk.beginCommandBuffer!(cb, &begin), "vkBeginCommandBuffer")
        body(cb)
        barrier(cb, toHost: true)
        try vkCheck(vk.endCommandBuffer!(cb), "vkEndCommandBuffer")
        try run(cb)
    }

    /// A global memory barrier between shader and transfer work, or from it to host reads.
    func barrier(_ cb: VkCommandBuffer?, toHost: Bool = false) {
        let work = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        var b = VkMemoryBarrier()
        b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        b.dstAccessMask = toHost ? VK_ACCESS_HOST_READ_BIT.rawValue
            : VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        vk.cmdPipelineBarrier!(cb, work, toHost ? VK_PIPELINE_STAGE_HOST_BIT.rawValue : work, 0, 1, &b, 0, nil, 0, nil)
    }
}
