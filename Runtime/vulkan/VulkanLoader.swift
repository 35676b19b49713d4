// The Vulkan loader, opened at run time: every entry point the trainer calls, loaded through
// vkGetInstanceProcAddr / vkGetDeviceProcAddr (extension functions can only be reached that way, and a machine
// without Vulkan gets a clear error instead of a dynamic-linker failure). Also the C macros Swift cannot import.
import CVulkan
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// VK_MAKE_API_VERSION, which does not import into Swift.
func vkMakeAPIVersion(_ variant: UInt32, _ major: UInt32, _ minor: UInt32, _ patch: UInt32) -> UInt32 {
    (variant << 29) | (major << 22) | (minor << 12) | patch
}
func vkVersionString(_ v: UInt32) -> String { "\(v >> 22 & 0x7F).\(v >> 12 & 0x3FF).\(v & 0xFFF)" }
let vkWholeSize = UInt64.max
let vkQueueFamilyIgnored = UInt32.max

/// A VkResult as its name, for error messages.
func vkResultName(_ r: VkResult) -> String {
    switch r {
    case VK_SUCCESS: return "VK_SUCCESS"
    case VK_NOT_READY: return "VK_NOT_READY"
    case VK_TIMEOUT: return "VK_TIMEOUT"
    case VK_INCOMPLETE: return "VK_INCOMPLETE"
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY"
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED"
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST"
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT"
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT"
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT"
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER"
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS"
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV"
    default: return "VkResult \(r.rawValue)"
    }
}

/// Throws a RuntimeError naming the call when `r` is not VK_SUCCESS; memory exhaustion gets its own advice.
func vkCheck(_ r: VkResult, _ what: @autoclosure () -> String) throws {
    guard r != VK_SUCCESS else { return }
    if r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY {
        throw RuntimeError("Vulkan: out of \(r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host") memory in \(what()); try a smaller --batch")
    }
    if r == VK_ERROR_DEVICE_LOST {
        throw RuntimeError("Vulkan: device lost in \(what()) (a driver crash or timeout); try a smaller --batch or another --device")
    }
    throw RuntimeError("Vulkan: \(what()) failed: \(vkResultName(r))")
}

/// The entry points, loaded once: global and instance-level ones by `loadInstance`, device-level ones by `loadDevice`.
struct VulkanAPI {
    private var library: UnsafeMutableRawPointer?
    var getInstanceProcAddr: PFN_vkGetInstanceProcAddr!
    var createInstance: PFN_vkCreateInstance!
    var enumerateInstanceLayerProperties: PFN_vkEnumerateInstanceLayerProperties!
    var enumerateInstanceExtensionProperties: PFN_vkEnumerateInstanceExtensionProperties!
    var enumerateInstanceVersion: PFN_vkEnumerateInstanceVersion!

    var destroyInstance: PFN_vkDestroyInstance!
    var enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices!
    var getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties!
    var getPhysicalDeviceQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties!
    var getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties!
    var createDevice: PFN_vkCreateDevice!
    var getDeviceProcAddr: PFN_vkGetDeviceProcAddr!
    var createDebugUtilsMessenger: PFN_vkCreateDebugUtilsMessengerEXT!
    var destroyDebugUtilsMessenger: PFN_vkDestroyDebugUtilsMessengerEXT!
    var setDebugUtilsObjectName: PFN_vkSetDebugUtilsObjectNameEXT!

    var destroyDevice: PFN_vkDestroyDevice!
    var getDeviceQueue: PFN_vkGetDeviceQueue!
    var deviceWaitIdle: PFN_vkDeviceWaitIdle!
    var createBuffer: PFN_vkCreateBuffer!
    var destroyBuffer: PFN_vkDestroyBuffer!
    var getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements!
    var allocateMemory: PFN_vkAllocateMemory!
    var freeMemory: PFN_vkFreeMemory!
    var bindBufferMemory: PFN_vkBindBufferMemory!
    var mapMemory: PFN_vkMapMemory!
    var createShaderModule: PFN_vkCreateShaderModule!
    var destroyShaderModule: PFN_vkDestroyShaderModule!
    var createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout!
    var destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout!
    var createPipelineLayout: PFN_vkCreatePipelineLayout!
    var destroyPipelineLayout: PFN_vkDestroyPipelineLayout!
    var createComputePipelines: PFN_vkCreateComputePipelines!
    var destroyPipeline: PFN_vkDestroyPipeline!
    var createDescriptorPool: PFN_vkCreateDescriptorPool!
    var destroyDescriptorPool: PFN_vkDestroyDescriptorPool!
    var allocateDescriptorSets: PFN_vkAllocateDescriptorSets!
    var updateDescriptorSets: PFN_vkUpdateDescriptorSets!
    var createCommandPool: PFN_vkCreateCommandPool!
    var destroyCommandPool: PFN_vkDestroyCommandPool!
    var allocateCommandBuffers: PFN_vkAllocateCommandBuffers!
    var freeCommandBuffers: PFN_vkFreeCommandBuffers!
    var beginCommandBuffer: PFN_vkBeginCommandBuffer!
    var endCommandBuffer: PFN_vkEndCommandBuffer!
    var cmdBindPipeline: PFN_vkCmdBindPipeline!
    var cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets!
    var cmdPushConstants: PFN_vkCmdPushConstants!
    var cmdDispatch: PFN_vkCmdDispatch!
    var cmdPipelineBarrier: PFN_vkCmdPipelineBarrier!
    var cmdCopyBuffer: PFN_vkCmdCopyBuffer!
    var cmdFillBuffer: PFN_vkCmdFillBuffer!
    var cmdWriteTimestamp: PFN_vkCmdWriteTimestamp!
    var cmdResetQueryPool: PFN_vkCmdResetQueryPool!
    var createQueryPool: PFN_vkCreateQueryPool!
    var destroyQueryPool: PFN_vkDestroyQueryPool!
    var getQueryPoolResults: PFN_vkGetQueryPoolResults!
    var createFence: PFN_vkCreateFence!
    var destroyFence: PFN_vkDestroyFence!
    var resetFences: PFN_vkResetFences!
    var waitForFences: PFN_vkWaitForFences!
    var queueSubmit: PFN_vkQueueSubmit!

    /// Opens the system loader and loads the global entry points.
    init() throws {
        let names = ["libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib", "libMoltenVK.dylib"]
        for name in names where library == nil { library = dlopen(name, RTLD_NOW | RTLD_LOCAL) }
        guard let library, let symbol = dlsym(library, "vkGetInstanceProcAddr") else {
            throw RuntimeError("no Vulkan loader (libvulkan.so.1): install one with a driver, e.g. `apt-get install libvulkan1 mesa-vulkan-drivers`")
        }
        getInstanceProcAddr = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
        createInstance = try instanceFunction(nil, "vkCreateInstance")
        enumerateInstanceLayerProperties = try instanceFunction(nil, "vkEnumerateInstanceLayerProperties")
        enumerateInstanceExtensionProperties = try instanceFunction(nil, "vkEnumerateInstanceExtensionProperties")
        enumerateInstanceVersion = try? instanceFunction(nil, "vkEnumerateInstanceVersion")
    }

    func instanceFunction<T>(_ instance: VkInstance?, _ name: String) throws -> T {
        guard let f = getInstanceProcAddr!(instance, name) else {
            throw RuntimeError("Vulkan: the loader has no \(name); update the Vulkan loader and driver")
        }
        return unsafeBitCast(f, to: T.self)
    }

    func deviceFunction<T>(_ device: VkDevice?, _ name: String) throws -> T {
        guard let f = getDeviceProcAddr!(device, name) else {
            throw RuntimeError("Vulkan: the driver has no \(name); update the Vulkan driver")
        }
        return unsafeBitCast(f, to: T.self)
    }

    mutating func loadInstance(_ i: VkInstance?, debugUtils: Bool) throws {
        destroyInstance = try instanceFunction(i, "vkDestroyInstance")
        enumeratePhysicalDevices = try instanceFunction(i, "vkEnumeratePhysicalDevices")
        getPhysicalDeviceProperties = try instanceFunction(i, "vkGetPhysicalDeviceProperties")
        getPhysicalDeviceQueueFamilyProperties = try instanceFunction(i, "vkGetPhysicalDeviceQueueFamilyProperties")
        getPhysicalDeviceMemoryProperties = try instanceFunction(i, "vkGetPhysicalDeviceMemoryProperties")
        createDevice = try instanceFunction(i, "vkCreateDevice")
        getDeviceProcAddr = try instanceFunction(i, "vkGetDeviceProcAddr")
        if debugUtils {
            createDebugUtilsMessenger = try instanceFunction(i, "vkCreateDebugUtilsMessengerEXT")
            destroyDebugUtilsMessenger = try instanceFunction(i, "vkDestroyDebugUtilsMessengerEXT")
            setDebugUtilsObjectName = try instanceFunction(i, "vkSetDebugUtilsObjectNameEXT")
        }
    }

    mutating func loadDevice(_ d: VkDevice?) throws {
        destroyDevice = try deviceFunction(d, "vkDestroyDevice")
        getDeviceQueue = try deviceFunction(d, "vkGetDeviceQueue")
        deviceWaitIdle = try deviceFunction(d, "vkDeviceWaitIdle")
        createBuffer = try deviceFunction(d, "vkCreateBuffer")
        destroyBuffer = try deviceFunction(d, "vkDestroyBuffer")
        getBufferMemoryRequirements = try deviceFunction(d, "vkGetBufferMemoryRequirements")
        allocateMemory = try deviceFunction(d, "vkAllocateMemory")
        freeMemory = try deviceFunction(d, "vkFreeMemory")
        bindBufferMemory = try deviceFunction(d, "vkBindBufferMemory")
        mapMemory = try deviceFunction(d, "vkMapMemory")
        createShaderModule = try deviceFunction(d, "vkCreateShaderModule")
        destroyShaderModule = try deviceFunction(d, "vkDestroyShaderModule")
        createDescriptorSetLayout = try deviceFunction(d, "vkCreateDescriptorSetLayout")
        destroyDescriptorSetLayout = try deviceFunction(d, "vkDestroyDescriptorSetLayout")
        createPipelineLayout = try deviceFunction(d, "vkCreatePipelineLayout")
        destroyPipelineLayout = try deviceFunction(d, "vkDestroyPipelineLayout")
        createComputePipelines = try deviceFunction(d, "vkCreateComputePipelines")
        destroyPipeline = try deviceFunction(d, "vkDestroyPipeline")
        createDescriptorPool = try deviceFunction(d, "vkCreateDescriptorPool")
        destroyDescriptorPool = try deviceFunction(d, "vkDestroyDescriptorPool")
        allocateDescriptorSets = try deviceFunction(d, "vkAllocateDescriptorSets")
        updateDescriptorSets = try deviceFunction(d, "vkUpdateDescriptorSets")
        createCommandPool = try deviceFunction(d, "vkCreateCommandPool")
        destroyCommandPool = try deviceFunction(d, "vkDestroyCommandPool")
        allocateCommandBuffers = try deviceFunction(d, "vkAllocateCommandBuffers")
        freeCommandBuffers = try deviceFunction(d, "vkFreeCommandBuffers")
        beginCommandBuffer = try deviceFunction(d, "vkBeginCommandBuffer")
        endCommandBuffer = try deviceFunction(d, "vkEndCommandBuffer")
        cmdBindPipeline = try deviceFunction(d, "vkCmdBindPipeline")
        cmdBindDescriptorSets = try deviceFunction(d, "vkCmdBindDescriptorSets")
        cmdPushConstants = try deviceFunction(d, "vkCmdPushConstants")
        cmdDispatch = try deviceFunction(d, "vkCmdDispatch")
        cmdPipelineBarrier = try deviceFunction(d, "vkCmdPipelineBarrier")
        cmdCopyBuffer = try deviceFunction(d, "vkCmdCopyBuffer")
        cmdFillBuffer = try deviceFunction(d, "vkCmdFillBuffer")
        cmdWriteTimestamp = try deviceFunction(d, "vkCmdWriteTimestamp")
        cmdResetQueryPool = try deviceFunction(d, "vkCmdResetQueryPool")
        createQueryPool = try deviceFunction(d, "vkCreateQueryPool")
        destroyQueryPool = try deviceFunction(d, "vkDestroyQueryPool")
        getQueryPoolResults = try deviceFunction(d, "vkGetQueryPoolResults")
        createFence = try deviceFunction(d, "vkCreateFence")
        destroyFence = try deviceFunction(d, "vkDestroyFence")
        resetFences = try deviceFunction(d, "vkResetFences")
        waitForFences = try deviceFunction(d, "vkWaitForFences")
        queueSubmit = try deviceFunction(d, "vkQueueSubmit")
    }
}

/// Fixed-size C character arrays (deviceName, layerName) as Swift strings.
func vkString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}
