import Foundation
import Testing
@testable import CNNC

/// `cnnc check` end to end: it passes on the example networks and the graph networks, and it fails, on the
/// tensor concerned only, when the double kernel file's gradient is broken by a thousandth.
@Suite("cnnc check: gradients against finite differences", .serialized)
struct GradientCheckTests {
    static func check(_ source: String, file: String, temporaryDirectory: String? = nil,
                      edit: @escaping (String) -> String = { $0 }) throws -> GradientCheck.Result {
        var options = GradientCheck.Options()
        options.temporaryDirectory = temporaryDirectory
        return try GradientCheck.run(source: Array(source.utf8), file: file, options: options, editKernels: edit)
    }

    /// A fresh folder of this test's own to serve as the temporary directory (other suites run `cnnc check` at the
    /// same time, so the shared one is not a place to count leftovers in).
    static func privateTemporaryDirectory(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        return dir
    }

    static func example(_ name: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/\(name).cnn"), encoding: .utf8)
    }

    /// fashion_bn: batchnorm 2-D and 1-D (checked on 8 samples by default), dropout, a fused residual.
    @Test("the examples pass", arguments: ["mnist002", "residual", "inception", "fashion_bn"])
    func examplesPass(_ name: String) throws {
        let r = try Self.check(try Self.example(name), file: "\(name).cnn")
        let failing = r.rows.filter { $0.maxError > r.options.tolerance }.map { "\($0.tensor) \($0.maxError)" }
        #expect(r.passed, "\(failing)")
        let c = try Compilation(source: Array(try Self.example(name).utf8), file: "\(name).cnn")
        #expect(r.rows.map(\.tensor) == c.network.parameters.map(\.name) + ["input"])
        for row in r.rows {
            #expect(row.checked == min(row.elements, r.options.samples))
            #expect(row.nonzero > 0, "\(row.tensor): every probed gradient is zero")
        }
    }

    /// Every layer kind of the graph tests: shortcuts, concat, add with the input, tanh, sigmoid, pooling.
    @Test("the graph networks pass")
    func graphNetsPass() throws {
        for net in GraphGradientTests.nets {
            let r = try Self.check(net.source, file: "\(net.name).cnn")
            #expect(r.passed, "\(net.name): \(r.rows.map { "\($0.tensor) \($0.maxError)" })")
        }
    }

    /// A gradient off by a thousandth, in a lowered kernel (dense1's bias), in a hand-printed conv weight gradient
    /// (conv2), and in the input's gradient alone (conv1's input gradient, which only the input variant has):
    /// the check fails on exactly that tensor.
    @Test("a broken gradient fails the check", arguments: [
        (#"(dbias0\[oc\] \+=) dz;  // dense1\.bias"#, "$1 1.001 * dz;", "dense1.bias"),
        (#"(dwp\[cb \* 4 \+ oc\] \+=) s;"#, "$1 1.001 * s;", "conv2.weight"),
        (#"(for \(int j = 0; j < 64; j\+\+\) din\[[^\]]*\]) = 0\.0;"#, "$1 = 1e-3;", "input"),
    ])
    func brokenGradientFails(_ pattern: String, _ template: String, _ tensor: String) throws {
        let regex = try NSRegularExpression(pattern: pattern)
        var edited = 0
        let r = try Self.check(try Self.example("digits004"), file: "digits004.cnn") { text in
            let all = NSRange(text.startIndex..., in: text)
            edited += regex.numberOfMatches(in: text, range: all)
            return regex.stringByReplacingMatches(in: text, range: all, withTemplate: template)
        }
        try #require(edited > 0, "the double kernels no longer match \(pattern)")
        #expect(!r.passed)
        #expect(r.rows.filter { $0.maxError > r.options.tolerance }.map(\.tensor) == [tensor])
        let text = GradientCheck.render(r, file: "digits004.cnn")
        #expect(text.contains("1 of 9 tensors fail: \(tensor)"), "\(text)")
    }

    /// Kernels the C compiler rejects are a one-line error, and the temporary folder is gone afterwards.
    @Test("a compile error is one line and leaves nothing behind")
    func compileError() throws {
        let temporary = try Self.privateTemporaryDirectory("check-tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        #expect {
            _ = try Self.check(try Self.example("digits004"), file: "digits004.cnn", temporaryDirectory: temporary.path) {
                $0 + "\nthis is not C;\n"
            }
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("digits004.cnn: error: the C compiler rejected the double-precision kernels: ")
                && !text.contains("\n")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path)
        #expect(left.isEmpty, "\(left)")
    }

    /// The command: exit 0 and the table on a good network; one line and exit 1 on a file with an error, a missing
    /// file, and a network without a softmax.
    @Test("the command's exit status and errors")
    func command() throws {
        let cnnc = repositoryRoot.appendingPathComponent(".build/debug/cnnc").path
        try #require(FileManager.default.isExecutableFile(atPath: cnnc), "build cnnc first")
        let temporary = try Self.privateTemporaryDirectory("check-tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let good = try GeneratedTrainer.run(cnnc, ["check", repositoryRoot.appendingPathComponent("Examples/digits004.cnn").path],
                                            environment: ["TMPDIR": temporary.path])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("tolerance 1.0e-05: all 9 tensors pass"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = [
            ("bad.cnn", "input 8x8\nconv 2 9x9\nflatten\ndense 10\nsoftmax\n", "bad.cnn:2:"),
            ("nosoftmax.cnn", "input 8x8\nflatten\ndense 10\n", "needs 'softmax' as the last layer"),
        ]
        for (name, text, message) in cases {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
            let r = try GeneratedTrainer.run(cnnc, ["check", dir.appendingPathComponent(name).path])
            #expect(r.status == 1, "\(name): \(r.output)")
            #expect(r.output.contains(message), "\(name): \(r.output)")
            #expect(r.output.contains("error:"), "\(name): \(r.output)")
        }
        let noCompiler = try GeneratedTrainer.run(cnnc, ["check", repositoryRoot.appendingPathComponent("Examples/digits004.cnn").path],
                                                  environment: ["PATH": dir.path, "TMPDIR": temporary.path])
        #expect(noCompiler.status == 1 && noCompiler.output == "error: cnnc check builds the kernels with the system C "
                + "compiler, and there is no 'cc' on PATH\n", "\(noCompiler.output)")
        let missing = try GeneratedTrainer.run(cnnc, ["check", dir.appendingPathComponent("missing.cnn").path])
        #expect(missing.status == 1 && missing.output.hasSuffix("missing.cnn: error: cannot read file\n"), "\(missing.output)")
        // Nothing left behind in the temporary directory.
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path)
        #expect(left.isEmpty, "\(left)")
    }
}

/// The double spelling of the C kernels.
@Suite("CDouble")
struct CDoubleTests {
    @Test("float words become double ones; comments and strings stay")
    func widen() throws {
        let c = """
            static const char* const names[1] = {"float 1.0f"};  // float and 2.0f stay in comments
            static void k(const float* restrict x, float* restrict y) {
                const float a = fmaxf(x[0], 0.5f) + logf(1e-7f) + net_expf(x[1]) + net_tanhf(2.f) + (float)3;
                const vf16 v = vf16_load(x); const vi16 m = v > (vf16){0}; vi16_store((int*)y, vi16_select(m, m, m));
                y[0] = a; y[1] = 0x1f; /* float */
            }
            """
        let d = try CDouble.widen(c)
        #expect(d == """
            static const char* const names[1] = {"float 1.0f"};  // float and 2.0f stay in comments
            static void k(const double* restrict x, double* restrict y) {
                const double a = fmax(x[0], 0.5) + log(1e-7) + exp(x[1]) + tanh(2.) + (double)3;
                const vd16 v = vd16_load(x); const vl16 m = v > (vd16){0}; vl16_store((int*)y, vl16_select(m, m, m));
                y[0] = a; y[1] = 0x1f; /* float */
            }
            """)
        #expect(throws: CompileError.self) { try CDouble.widen("y = net_rsqrtf(x);") }
    }

    /// Every example's kernels, widened, name no float type or float function outside comments.
    @Test("no float word is left in the examples' double kernels")
    func examplesWiden() throws {
        for name in ["mnist002", "lenet5", "residual", "inception", "fashion", "digits004"] {
            let c = try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path)
            let text = try CDouble.kernels(CEmitter(plan: c.plan)) + CDouble.header(CEmitter(plan: c.plan))
            let code = text.split(separator: "\n").map { $0.split(separator: "//", maxSplits: 1).first ?? "" }.joined(separator: "\n")
            for word in ["float", "vf16", "vi16", "net_expf", "logf", "fmaxf", "0f"] {
                #expect(!code.contains(word + " ") && !code.contains(word + "(") && !code.contains(word + ")")
                        && !code.contains(word + ";") && !code.contains(word + ","), "\(name): \(word)")
            }
        }
    }
}

extension CDoubleTests {
    /// The double kernels and the driver compile warning-free under both compilers `cc` may be (clang's vector
    /// comparisons and lax conversions differ from gcc's).
    @Test("the double kernels compile with clang and gcc", arguments: ["mnist002", "inception"])
    func compiles(_ name: String) throws {
        let c = try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path, inputGradient: true)
        let emitter = CEmitter(plan: c.plan)
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("double-\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try CDouble.kernels(emitter).write(to: dir.appendingPathComponent("kernels.c"), atomically: true, encoding: .utf8)
        try CDouble.header(emitter).write(to: dir.appendingPathComponent("kernels.h"), atomically: true, encoding: .utf8)
        try CheckDriver.source(emitter).write(to: dir.appendingPathComponent("driver.c"), atomically: true, encoding: .utf8)
        for compiler in ["clang", "gcc"] {
            for source in ["kernels.c", "driver.c"] {
                let r = try GeneratedTrainer.run("/usr/bin/env", [
                    compiler, "-std=gnu11", "-c", "-O0", "-Wall", "-Werror", "-Wno-unused-parameter",
                    dir.appendingPathComponent(source).path, "-o", dir.appendingPathComponent("\(source)-\(compiler).o").path,
                ])
                #expect(r.status == 0, "\(compiler) \(source): \(r.output.prefix(2000))")
            }
        }
    }
}

extension GradientCheckTests {
    /// `--target vulkan`: the GLSL kernels' gradients (float32, on lavapipe) against the checked double CPU
    /// kernels', on the same batch and parameters: within 1e-4 for every parameter tensor, none for the input.
    /// With dropout and batchnorm: both builds must draw the same masks (a run with other masks differs by far
    /// more than the tolerance) and normalise over the same batch.
    @Test("the Vulkan target's gradients match the checked CPU kernels")
    func vulkan() throws {
        var options = GradientCheck.Options()
        options.target = .vulkan
        let source = """
            net vk_check
            input 6x6x1
            conv 4 3x3 pad=1 relu
            dropout 0.5
            maxpool 2x2
            flatten
            dense 8 bias=none
            batchnorm relu
            dense 3
            softmax
            """
        let r = try GradientCheck.run(source: Array(source.utf8), file: "vk_check.cnn", options: options)
        #expect(r.passed, "\(GradientCheck.render(r, file: "vk_check.cnn"))")
        #expect(r.rows.dropLast().allSatisfy { $0.vulkanError != nil && $0.vulkanError! < 1e-4 })
        #expect(r.rows.last?.vulkanError == nil)
        #expect(GradientCheck.render(r, file: "vk_check.cnn").contains("vulkan vs cpu 1.0e-04"))
    }

    /// The Vulkan comparison can fail: one element off by a thousandth is an error of 1e-3; a NaN is infinite;
    /// and the checkpoint order is PyTorch's (conv weights [oc][c][kh][kw] from cnnc's [kh][kw][c][oc]).
    @Test("the Vulkan comparison and the PyTorch order")
    func vulkanComparison() {
        let expected: [Double] = [0.5, -0.25, 1e-9, 2]
        #expect(CheckVulkan.relativeError(expected.map { Float($0) }, expected) < 1e-7)
        #expect(abs(CheckVulkan.relativeError([0.5, -0.25, 0, 2.002], expected) - 0.002 / 2.002) < 1e-6)
        #expect(CheckVulkan.relativeError([.nan, -0.25, 0, 2], expected) == .infinity)
        // cnnc's [kh=1][kw=2][c=2][oc=2]: element ((y * 2 + x) * 2 + c) * 2 + o; PyTorch's [oc][c][kh][kw].
        #expect(CheckVulkan.torchOrder(.convWeight(oc: 2, c: 2, kh: 1, kw: 2)) == [0, 4, 2, 6, 1, 5, 3, 7])
        #expect(CheckVulkan.torchOrder(.elementBias(h: 1, w: 2, c: 2)) == [0, 2, 1, 3])
    }
}
