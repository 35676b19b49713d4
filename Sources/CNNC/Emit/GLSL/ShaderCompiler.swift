import CShaderc

/// GLSL compute shaders to SPIR-V, in process through shaderc's C library (no glslc), for Vulkan 1.1.
/// A shader that does not compile is a cnnc bug; `compile` says which GLSL line was rejected and why.
final class ShaderCompiler {
    /// Why a shader was rejected: shaderc's first error, and the GLSL line it names (1-based) when it names one.
    struct Failure: Error {
        var line: Int?
        var message: String
        var log: String
    }

    private let compiler: shaderc_compiler_t
    private let options: shaderc_compile_options_t

    init() throws {
        guard let compiler = shaderc_compiler_initialize() else {
            throw CompileError("internal error: shaderc could not be initialised")
        }
        guard let options = shaderc_compile_options_initialize() else {
            shaderc_compiler_release(compiler)
            throw CompileError("internal error: shaderc compile options could not be created")
        }
        shaderc_compile_options_set_source_language(options, shaderc_source_language_glsl)
        shaderc_compile_options_set_target_env(options, shaderc_target_env_vulkan,
                                               UInt32(shaderc_env_version_vulkan_1_1.rawValue))
        shaderc_compile_options_set_target_spirv(options, shaderc_spirv_version_1_3)
        shaderc_compile_options_set_optimization_level(options, shaderc_optimization_level_performance)
        shaderc_compile_options_set_warnings_as_errors(options)
        self.compiler = compiler
        self.options = options
    }

    deinit {
        shaderc_compile_options_release(options)
        shaderc_compiler_release(compiler)
    }

    /// Compiles one compute shader; `name` (e.g. `conv1_forward.comp`) appears in shaderc's messages.
    func compile(_ source: String, name: String) -> Result<[UInt32], Failure> {
        let bytes = Array(source.utf8)
        let result = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                shaderc_compile_into_spv(compiler, chars.baseAddress, chars.count, shaderc_compute_shader, name, "main", options)
            }
        }
        defer { shaderc_result_release(result) }
        let status = shaderc_result_get_compilation_status(result)
        guard status == shaderc_compilation_status_success else {
            let log = shaderc_result_get_error_message(result).map { String(cString: $0) } ?? "status \(status.rawValue)"
            return .failure(Self.firstError(log, name: name))
        }
        let length = shaderc_result_get_length(result)
        guard length > 0, length % 4 == 0, let bytesOut = shaderc_result_get_bytes(result) else {
            return .failure(Failure(line: nil, message: "shaderc returned \(length) bytes of SPIR-V", log: ""))
        }
        var words = [UInt32](repeating: 0, count: length / 4)
        words.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: bytesOut, count: length)) }
        guard words.first == 0x0723_0203 else {
            return .failure(Failure(line: nil, message: "shaderc output does not start with the SPIR-V magic number", log: ""))
        }
        return .success(words)
    }

    /// shaderc writes `NAME:LINE: error: MESSAGE` lines; the first one is the one to show.
    static func firstError(_ log: String, name: String) -> Failure {
        for raw in log.split(whereSeparator: \.isNewline) {
            let line = String(raw)
            guard line.hasPrefix(name + ":") else { continue }
            let rest = line.dropFirst(name.count + 1)
            let number = rest.prefix { $0.isNumber }
            guard !number.isEmpty else { continue }
            var message = String(rest.dropFirst(number.count))
            while message.hasPrefix(":") || message.hasPrefix(" ") { message.removeFirst() }
            return Failure(line: Int(number), message: message, log: log)
        }
        let first = log.split(whereSeparator: \.isNewline).first.map(String.init) ?? log
        return Failure(line: nil, message: first, log: log)
    }
}
