import Foundation
import Testing
@testable import CNNC
#if canImport(Glibc)
import Glibc
#endif

/// Whether this machine has a Vulkan loader with at least one device, found the way the trainer finds it
/// (dlopen of the loader, an instance, the physical devices), without the Vulkan headers.
enum VulkanProbe {
    static let available: Bool = {
        guard let loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL) else { return false }
        typealias CreateInstance = @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
        typealias EnumerateDevices = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>?, UnsafeMutableRawPointer?) -> Int32
        typealias DestroyInstance = @convention(c) (OpaquePointer?, UnsafeRawPointer?) -> Void
        guard let create = dlsym(loader, "vkCreateInstance"), let enumerate = dlsym(loader, "vkEnumeratePhysicalDevices"),
              let destroy = dlsym(loader, "vkDestroyInstance") else { return false }
        // VkInstanceCreateInfo: sType (1 = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO) and zeros, 64 bytes.
        var info = [UInt64](repeating: 0, count: 8)
        info[0] = 1
        var instance: OpaquePointer?
        let created = info.withUnsafeBytes { unsafeBitCast(create, to: CreateInstance.self)($0.baseAddress, nil, &instance) }
        guard created == 0 else { return false }
        var count: UInt32 = 0
        let result = unsafeBitCast(enumerate, to: EnumerateDevices.self)(instance, &count, nil)
        unsafeBitCast(destroy, to: DestroyInstance.self)(instance, nil)
        return result == 0 && count > 0
    }()

    static let skipMessage: Comment = "no Vulkan device (install mesa-vulkan-drivers for lavapipe); Vulkan tests skipped"
}

/// The generated Vulkan trainer against the reference interpreter, on the CPU gradient tests' nets (together every
/// layer kind, strides, SAME, explicit and asymmetric padding, non-square inputs and kernels): forward
/// probabilities, loss and every parameter gradient within 1e-4 relative, under the Khronos validation layer
/// (synchronization validation included) with no message at all.
@Suite("generated Vulkan matches the reference", .serialized, .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage))
struct VulkanGradientTests {
    @Test("forward, loss and every gradient, validation clean", arguments: 0..<CPUGradientTests.nets.count)
    func matchesReference(_ index: Int) throws {
        let (name, source) = CPUGradientTests.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name, target: "vulkan")
        let test = try ReferenceCase(trainer, name: name, index: index)
        // Host-visible memory where the device has it (lavapipe), and the discrete-GPU path with staging copies and
        // sums split across the lanes of a workgroup as compiled (lavapipe, a CPU device, runs LANES = 1 otherwise).
        for staging in ["0", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-vk-dump-\(staging).safetensors")
            let run = try trainer.train(test.arguments(dump: dump),
                                        environment: ["CNNC_VALIDATION": "1", "CNNC_VULKAN_STAGING": staging,
                                                      "CNNC_VULKAN_LANES": staging == "1" ? "compiled" : "1"])
            #expect(run.status == 0, "\(run.output)")
            #expect(!run.output.contains("vulkan validation"), "validation messages:\n\(run.output.prefix(3000))")
            print(try test.check(dump, label: "\(name) (Vulkan\(staging == "1" ? ", staging" : ""))"))
        }
    }
}
