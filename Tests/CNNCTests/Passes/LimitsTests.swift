import Foundation
import Testing
@testable import CNNC

/// The size limits (Sources/CNNC/IR/Limits.swift): every net that exceeds one is a diagnostic at its statement,
/// never an overflow trap, a truncated C int, a runaway source file or a shaderc "internal error"; deep nets
/// compile in time linear in their depth.
@Suite struct LimitsTests {
    static func compile(_ source: String, file: String = "big.cnn") throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: file)
    }

    /// The diagnostic `source` fails with (a test failure if it compiles or throws something else).
    static func diagnostic(_ source: String) throws -> Diagnostic {
        do {
            _ = try compile(source)
        } catch let d as Diagnostic {
            return d
        }
        Issue.record("compiled: \(source)")
        throw CompileError("compiled")
    }

    @Test func hugeInputIsADiagnosticAtItsShape() throws {
        // Crashed report, plan and compile with an arithmetic overflow (rc 132).
        let d = try Self.diagnostic("input 1000000x1000000x1000000\nconv 8 3x3\nflatten\ndense 10\nsoftmax\n")
        #expect(d.location.line == 1 && d.location.column == 7 && d.length == 23)
        #expect(d.message.contains("1000000000000000000 elements") && d.message.contains("2^30"))
        #expect(d.hint != nil)
        // Per-sample elements past 2^31 compiled to an int loop bound of 2,500,000,000.
        let wide = try Self.diagnostic("input 50000x50000x1\nflatten\ndense 10\nsoftmax\n")
        #expect(wide.location.line == 1 && wide.message.contains("2500000000"))
    }

    @Test func parameterAndMACLimitsPointAtTheLayer() throws {
        let dense = try Self.diagnostic("input 1000x1000x1000\nflatten\ndense 10\nsoftmax\n")
        #expect(dense.location.line == 3 && dense.message.contains("dense1.weight has 10000000000 elements"))
        // Hung the compiler (3.2 GB after 30 s): a 10^12-element weight.
        let conv = try Self.diagnostic("input 28x28x1\nconv 1000000 1000x1000 pad=same\nflatten\ndense 10\nsoftmax\n")
        #expect(conv.location.line == 2 && conv.message.contains("conv1.weight"))
        let output = try Self.diagnostic("input 1000x1000x3\nconv 100000 3x3\n")
        #expect(output.location.line == 2 && output.message.contains("conv1 output 998x998x100000"))
        let macs = try Self.diagnostic("input 1000x1000x1000\nconv 1000 3x3\n")
        #expect(macs.location.line == 2 && macs.message.contains("multiply-accumulates"))
        var many = "input 28x28x1\nflatten\n"
        for _ in 0..<4 { many += "dense 30000 bias=none\n" }
        let total = try Self.diagnostic(many)
        #expect(total.location.line == 6 && total.message.contains("parameters"))
    }

    @Test func hugeNumbersAreDiagnosticsOfTheParser() throws {
        let d = try Self.diagnostic("input 28x28x1\nconv 99999999999999999999 3x3\n")
        #expect(d.location.line == 2 && d.location.column == 6 && d.message.contains("too large"))
        let k = try Self.diagnostic("input 28x28x1\nconv 8 3x99999999999999999999\n")
        #expect(k.location.line == 2)
    }

    @Test func tooManyLayers() throws {
        let source = "input 4x4x1\n" + String(repeating: "relu\n", count: Limits.maxLayers + 1)
        let d = try Self.diagnostic(source)
        #expect(d.location.line == Limits.maxLayers + 2 && d.message.contains("too many layers"))
    }

    /// The largest net the limits allow (a 2^30-element input) at the largest batch: report and plan print
    /// without trapping, and the C keeps 64-bit sample offsets and exact parameter ranges.
    @Test func netAtTheLimitsReportsAndKeeps64BitOffsets() throws {
        let c = try Self.compile("input 1024x1024x1024\nmaxpool 64x64\nconv 16 3x3\nflatten\ndense 10\nsoftmax\n")
        for format in [ReportFormat.text, .markdown, .json] {
            #expect(!ReportRenderer.render(c, format: format, batch: Limits.maxBatch).isEmpty)
        }
        #expect(PlanPrinter.render(c.plan, batch: Limits.maxBatch).contains("memory at batch 1000000"))
        let kernels = try #require(try CPUTarget.generate(c).files["Sources/Kernels/kernels.c"])
        // Sample n of the input starts at n * 2^30: in 64 bits (batch x elements would overflow an int).
        #expect(kernels.contains("(size_t)n * 1073741824"))
        let ranges = try #require(kernels.split(separator: "\n").first { $0.contains("parameter_ranges[") && $0.contains("= {") })
        #expect(ranges.contains("\(c.plan.parameterCount)"))
    }

    /// `conv 1000000 3x3` wrote a 390 MB kernels.c: the filter groups of the row kernel, the dense output tiles
    /// and weight-gradient chunks were printed once per block. They loop now; the source stays small.
    @Test func manyChannelsKeepTheSourceSmall() throws {
        let c = try Self.compile("input 8x8x1\nconv 1000000 3x3\nconv 10 6x6\nflatten\ndense 100000\ndense 10\nsoftmax\n")
        let package = try CPUTarget.generate(c)
        let kernels = try #require(package.files["Sources/Kernels/kernels.c"])
        #expect(kernels.utf8.count < 200_000, "kernels.c is \(kernels.utf8.count) bytes")
        #expect(kernels.contains("for (int f0 = 0; f0 < 1000000; f0 += 32)"))
        #expect(kernels.contains("for (int t0 = 0; t0 < 99968; t0 += 32)"))
    }

    @Test func vulkanRefusesABatchThatOverflowsGLSLInts() throws {
        let source = "input 8x8x1\nconv 1000000 3x3\nconv 10 6x6\nflatten\ndense 10\nsoftmax\n"
        do {
            _ = try VulkanTarget.generate(try Self.compile(source))
            Issue.record("compiled")
        } catch let e as CompileError {
            #expect(e.description.hasPrefix("big.cnn: error: the vulkan target indexes buffers with 32-bit GLSL ints"))
            #expect(e.description.contains("conv1_out (36000000 elements per sample)"))
            #expect(e.description.contains("largest batch it supports is 59"))
            #expect(!e.description.contains("internal error"))
        }
        let fits = try VulkanTarget.generate(try Self.compile(source + "train batch=59\n"))
        #expect(fits.files["Sources/Network/Network.swift"]?.contains("largestBatch: 59,") == true)
    }

    /// CPU seconds of this thread (the machine is shared, so wall time says little) to compile a net of `layers`
    /// alternating conv and relu layers: parse, report, plan and the CPU package's files, in memory.
    static func compileSeconds(layers: Int) throws -> (seconds: Double, package: GeneratedPackage, groups: Int) {
        var source = "input 8x8x1\n"
        for i in 0..<layers { source += i % 2 == 0 ? "conv 2 1x1\n" : "relu\n" }
        source += "flatten\ndense 10\nsoftmax\n"
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + 1e-9 * Double(t.tv_nsec)
        }
        let start = now()
        let c = try compile(source, file: "deep.cnn")
        _ = ReportRenderer.render(c, format: .text, batch: 64)
        _ = PlanPrinter.render(c.plan, batch: 64)
        let package = try CPUTarget.generate(c)
        return (now() - start, package, c.plan.groups.count)
    }

    /// 20,000 layers took 84 s (lookups by name over every buffer, quadratic in depth); now they take a few
    /// seconds in a debug build, and four times the layers cost about four times the time.
    @Test
    func deepNetCompilesInLinearTime() throws {
        let small = try Self.compileSeconds(layers: 5_000)
        let (seconds, package, groups) = try Self.compileSeconds(layers: 20_000)
        // A debug build: about 2 s parse to plan, the rest printing and line-wrapping a 105 MB kernels.c.
        #expect(seconds < 20, "20,000 layers took \(seconds) s of CPU")
        #expect(seconds < 8 * small.seconds, "5,000 layers: \(small.seconds) s, 20,000: \(seconds) s")
        #expect(groups == 10_003)
        #expect(package.files["Sources/Kernels/kernels.c"]?.contains("conv10000_forward") == true)
    }

    /// `cnnc report --batch 99999999999999` trapped; --batch is checked against Limits.maxBatch.
    @Test func hugeBatchOptionIsAnError() throws {
        let cnnc = repositoryRoot.appendingPathComponent(".build/debug/cnnc")
        try #require(FileManager.default.isExecutableFile(atPath: cnnc.path), "build cnnc first")
        let net = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(getpid()).cnn")
        try Data("input 28x28x1\nconv 8 3x3\nflatten\ndense 10\nsoftmax\n".utf8).write(to: net)
        defer { try? FileManager.default.removeItem(at: net) }
        for command in ["report", "plan"] {
            let p = Process()
            p.executableURL = cnnc
            p.arguments = [command, "--batch", "99999999999999", net.path]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationReason == .exit && p.terminationStatus == 64, "\(command): \(text)")
            #expect(text.contains("--batch must be between 1 and 1000000"))
        }
    }
}
