import CNNCTemplates
import Foundation

/// The Vulkan target: GLSL compute shaders lowered from the kernel plan, compiled to SPIR-V in process by shaderc,
/// the Swift driver that runs them (Templates/vulkan), and the shared runtime.
///
///     DIR/Shaders/NAME.comp, NAME.spv    every shader, readable, and its SPIR-V
///     DIR/Sources/train/Shaders.swift    the same SPIR-V embedded (base64), so `train` is self-contained
///     DIR/Sources/train/Network.swift    NetInfo, and the program: storages and shaders in execution order
///     DIR/Sources/train/Vulkan*.swift    the Vulkan driver (Templates/vulkan), the same for every network:
///                                        loader, instance and device, buffers and pipelines, recorded steps
///     DIR/Sources/CVulkan/               the Vulkan headers as a module (the loader is opened at run time)
public enum VulkanTarget {
    /// The package's text files (without the binary `.spv` files; `write` adds those).
    public static func generate(_ c: Compilation) throws -> GeneratedPackage { try build(c).package }

    /// Generates the package and writes it to `directory`, SPIR-V files included.
    public static func write(_ c: Compilation, to directory: String) throws {
        let built = try build(c)
        try PackageWriter.write(built.package, to: directory)
        let root = URL(fileURLWithPath: directory)
        for (path, words) in built.binaries.sorted(by: { $0.key < $1.key }) {
            let bytes = words.withUnsafeBytes { Data($0) }
            do {
                try bytes.write(to: root.appendingPathComponent(path))
            } catch {
                throw CompileError("\(directory): error: cannot write \(path): \(error.localizedDescription)")
            }
        }
    }

    /// The lowered program and each shader's SPIR-V, in execution order.
    static func compile(_ c: Compilation) throws -> (program: GLSLProgram, spirv: [[UInt32]]) {
        let program = try GLSLProgram(plan: c.plan)
        let compiler = try ShaderCompiler()
        var spirv: [[UInt32]] = []
        for shader in program.shaders {
            switch compiler.compile(shader.source, name: shader.name + ".comp") {
            case .success(let words): spirv.append(words)
            case .failure(let failure): throw rejection(shader, failure, plan: c.plan)
            }
        }
        return (program, spirv)
    }

    /// A shader shaderc rejected: a cnnc bug, reported with the kernel and layer it came from and the GLSL line.
    static func rejection(_ shader: GLSLShader, _ failure: ShaderCompiler.Failure, plan: KernelPlan) -> CompileError {
        let k = plan.kernels[shader.kernel]
        let place = shader.location.map { "\($0.file):\($0.line)" } ?? plan.network.sourceFile
        let layers = k.group.map { plan.groups[$0].layers.map { plan.network.layers[$0].name }.joined(separator: " + ") }
        var text = "\(place): error: internal error in cnnc: shader \(shader.name) (kernel \(k.name)"
        text += layers.map { ", layers \($0)" } ?? ""
        text += ") does not compile: \(failure.message)"
        if let line = failure.line {
            let lines = shader.source.split(separator: "\n", omittingEmptySubsequences: false)
            let code = line >= 1 && line <= lines.count ? lines[line - 1].trimmingCharacters(in: .whitespaces) : "?"
            text += "\n    Shaders/\(shader.name).comp:\(line): \(code)"
        }
        return CompileError(text + "\n    please report this as a cnnc bug")
    }

    struct Built {
        var package: GeneratedPackage
        var binaries: [String: [UInt32]]
    }

    static func build(_ c: Compilation) throws -> Built {
        let net = c.network
        let (program, spirv) = try compile(c)
        var files: [String: String] = [:]
        var binaries: [String: [UInt32]] = [:]
        files["Package.swift"] = try Template.fill("vulkan/Package.swift.template", CPUTarget.provenance(net, CPUTarget.packageHoles))
        for (shader, words) in zip(program.shaders, spirv) {
            files["Shaders/\(shader.name).comp"] = shader.source
            binaries["Shaders/\(shader.name).spv"] = words
        }
        files["Sources/train/Shaders.swift"] = shadersSwift(program, spirv, source: net.sourceFile)
        files["Sources/train/Network.swift"] = try networkSwift(c, program)
        for name in ["VulkanLoader.swift", "VulkanContext.swift", "VulkanNetwork.swift", "VulkanSteps.swift"] {
            files["Sources/train/" + name] = try Templates.text("vulkan/" + name)
        }
        for name in ["module.modulemap", "shim.h"] {
            files["Sources/CVulkan/" + name] = try Templates.text("vulkan/cvulkan/" + name)
        }
        try CPUTarget.addRuntime(to: &files)
        return Built(package: GeneratedPackage(name: net.name, files: files), binaries: binaries)
    }

    static func shadersSwift(_ program: GLSLProgram, _ spirv: [[UInt32]], source: String) -> String {
        var c = CodeWriter()
        c.line("// Generated by cnnc from \(GLSLText.basename(source)); do not edit.")
        c.line("//")
        c.line("// The SPIR-V of every shader (Vulkan 1.1, compiled by cnnc through shaderc from Shaders/NAME.comp), as")
        c.line("// base64 of its little-endian words, in the order of Program.shaders.")
        c.line()
        c.line("let shaderSPIRV: [String] = [")
        for (shader, words) in zip(program.shaders, spirv) {
            let bytes = words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
            c.line("    // \(shader.name): \(bytes.count) bytes")
            c.line("    \(Spelling.swiftString(Data(bytes).base64EncodedString())),")
        }
        c.line("]")
        return c.text
    }

    static func networkSwift(_ c: Compilation, _ program: GLSLProgram) throws -> String {
        let net = c.network, plan = c.plan
        let params = plan.parameters.map { CPUTarget.paramSpec($0, plan: plan) }.joined(separator: "\n")
        let storages = program.storages.map { s in
            "        StorageSpec(name: \(Spelling.swiftString(s.name)), perSample: \(s.perSample), fixed: \(s.fixed), integer: \(s.integer), host: .\(s.host.rawValue)),  // \(s.comment)"
        }.joined(separator: "\n")
        let index = Dictionary(uniqueKeysWithValues: program.storages.enumerated().map { ($1.name, $0) })
        func list(_ xs: [String]) -> String { "[" + xs.map(Spelling.swiftString).joined(separator: ", ") + "]" }
        let shaders = program.shaders.enumerated().map { i, s in
            let threads: String
            switch s.threads {
            case .perSample(let n): threads = "sampleBlock: 1, perSample: \(n), fixed: 0"
            case .fixed(let n): threads = "sampleBlock: 1, perSample: 0, fixed: \(n)"
            case let .sampleBlocks(block, n): threads = "sampleBlock: \(block), perSample: \(n), fixed: 0"
            }
            return "        ShaderSpec(name: \(Spelling.swiftString(s.name)), kernel: \(s.kernel), phase: .\(s.phase.rawValue), "
                + "bindings: [\(s.bindings.map { String(index[$0.storage]!) }.joined(separator: ", "))], \(threads),\n"
                + "                   reads: \(list(s.reads)), writes: \(list(s.writes)), spirv: \(i)),"
        }.joined(separator: "\n")
        let kernels = plan.kernels.map { "        (\(Spelling.swiftString($0.name)), \($0.macs))," }.joined(separator: "\n")
        let classes = plan.groups.last!.output.count
        return try Template.fill("vulkan/Network.swift.template", CPUTarget.provenance(net).merging([
            "inputH": "\(net.input.h)", "inputW": "\(net.input.w)", "inputC": "\(net.input.c)", "classes": "\(classes)",
            "epochs": "\(net.train.epochs)", "batch": "\(net.train.batch)",
            "lr": "\(Float(net.train.learningRate))", "momentum": "\(Float(net.train.momentum))", "seed": "\(net.train.seed)",
            "parameterCount": "\(plan.parameterCount)", "parameters": params,
            "storages": storages, "shaders": shaders, "kernels": kernels,
        ]) { $1 })
    }
}
