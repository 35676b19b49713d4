import Foundation
import Testing
@testable import CNNC

/// The generated code as text: golden files beside this test (re-record with CNNC_RECORD_GOLDEN=1), and the C of
/// every example compiled with all warnings as errors.
@Suite("generated code")
struct GeneratedCodeTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let examples = ["digits004", "lenet5", "mnist002", "fashion", "residual", "inception", "batchnorm", "fashion_bn", "fashion_aug",
                                   "resnet8"]

    func generate(_ example: String) throws -> GeneratedPackage {
        let path = repositoryRoot.appendingPathComponent("Examples/\(example).cnn").path
        let c = try Compilation(path: path)
        return try CPUTarget.generate(c)
    }

    @Test("digits004's generated files match the golden files", arguments: ["Sources/Kernels/kernels.c",
                                                                          "Sources/Kernels/include/kernels.h",
                                                                          "Sources/Network/Network.swift", "Package.swift"])
    func golden(_ file: String) throws {
        let package = try generate("digits004")
        let text = try #require(package.files[file])
        // The plan names the source path as given; make it independent of where the repository is.
        let stable = text.replacingOccurrences(of: repositoryRoot.path + "/", with: "")
        let url = Self.golden.appendingPathComponent("digits004." + (file as NSString).lastPathComponent + ".golden")
        if ProcessInfo.processInfo.environment["CNNC_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
            try stable.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(stable == expected, "\(file) differs from \(url.lastPathComponent); re-record with CNNC_RECORD_GOLDEN=1 if intended")
    }

    @Test("generated C compiles without warnings under -Wall -Wextra", arguments: examples)
    func warningFree(_ example: String) throws {
        let package = try generate(example)
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("warnings-\(example)")
        try PackageWriter.write(package, to: dir.path)
        for compiler in ["clang", "gcc"] {
            let result = try GeneratedTrainer.run("/usr/bin/env", [
                compiler, "-std=c11", "-c", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
                "-I", dir.appendingPathComponent("Sources/Kernels/include").path,
                dir.appendingPathComponent("Sources/Kernels/kernels.c").path, "-o", dir.appendingPathComponent("k-\(compiler).o").path,
            ])
            #expect(result.status == 0, "\(compiler): \(result.output)")
        }
    }

    /// Generated code reads like a hand-written file: no `for` loop with constant bounds that runs once (a loop over
    /// 16 channels 16 at a time is a constant), and no line over 120 characters.
    @Test("generated C has no loop that runs once and no line over 120 characters", arguments: examples)
    func readable(_ example: String) throws {
        let package = try generate(example)
        let loop = /for \(int (\w+) = (\d+); (\w+) < (\d+); (\w+) (\+\+|\+= (\d+))\)/
        for file in ["Sources/Kernels/kernels.c", "Sources/Kernels/include/kernels.h"] {
            let text = try #require(package.files[file])
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                #expect(line.count <= 120, "\(example) \(file):\(number + 1) has \(line.count) characters")
                for match in line.matches(of: loop) where match.1 == match.3 && match.1 == match.5 {
                    let start = Int(match.2)!, end = Int(match.4)!, step = match.7.map { Int($0)! } ?? 1
                    #expect(end - start > step, "\(example) \(file):\(number + 1) runs once: \(line)")
                }
            }
        }
    }

    /// The kernel file's own exp and tanh (vectorizable stand-ins for libm's) against libm in double precision over
    /// [-100, 100] and at the special values: within 1e-6 relative (3e-7 and 4e-7 by construction), NaN kept.
    @Test("the kernels' exp and tanh match libm")
    func transcendentals() throws {
        let package = try generate("lenet5")
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("transcendentals")
        try PackageWriter.write(package, to: dir.path)
        let harness = dir.appendingPathComponent("check.c")
        try """
        #include "kernels.c"
        #include <stdio.h>
        static double rel(double got, double want) { return fabs(got - want) / (fabs(want) > 1e-30 ? fabs(want) : 1e-30); }
        int main(void) {
            double worst_exp = 0, worst_tanh = 0;
            for (int i = -2000000; i <= 2000000; i++) {
                const float x = (float)i * 5e-5f;
                const double e = rel(net_expf(x), exp((double)x)), t = rel(net_tanhf(x), tanh((double)x));
                if (x > -87.0f && x < 88.0f && e > worst_exp) worst_exp = e;
                if (t > worst_tanh) worst_tanh = t;
            }
            const int nan_kept = net_expf(NAN) != net_expf(NAN) && net_tanhf(NAN) != net_tanhf(NAN);
            const int limits = net_tanhf(INFINITY) == 1.0f && net_tanhf(-INFINITY) == -1.0f && net_expf(-INFINITY) >= 0.0f;
            printf("%.3g %.3g %d %d\\n", worst_exp, worst_tanh, nan_kept, limits);
            return 0;
        }
        """.write(to: harness, atomically: true, encoding: .utf8)
        let binary = dir.appendingPathComponent("check").path
        let build = try GeneratedTrainer.run("/usr/bin/env", ["clang", "-std=c11", "-O2", "-I", dir.appendingPathComponent("Sources/Kernels").path,
                                                              "-I", dir.appendingPathComponent("Sources/Kernels/include").path,
                                                              harness.path, "-o", binary, "-lm"])
        try #require(build.status == 0, "\(build.output)")
        let run = try GeneratedTrainer.run(binary, [])
        let fields = run.output.split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(fields.count == 4, "\(run.output)")
        print("net_expf max relative error \(fields[0]), net_tanhf \(fields[1])")
        #expect(Double(fields[0])! < 1e-6)
        #expect(Double(fields[1])! < 1e-6)
        #expect(fields[2] == "1", "NaN must stay NaN")
        #expect(fields[3] == "1", "tanh(+-inf) = +-1, exp(-inf) = 0")
    }

    @Test("every generated file says where it came from")
    func provenance() throws {
        let package = try generate("mnist002")
        for file in ["Sources/Kernels/kernels.c", "Sources/Kernels/include/kernels.h", "Sources/Network/Network.swift", "Package.swift"] {
            #expect(package.files[file]?.contains("Generated by cnnc from mnist002.cnn; do not edit.") == true, "\(file)")
        }
        let c = try #require(package.files["Sources/Kernels/kernels.c"])
        #expect(c.contains("static void conv1_forward("))
        #expect(c.contains("static void conv1_backward("))
        #expect(c.contains("// in is (N,28,28,1), weight is (3,3,1,16), bias0 is (28,28,16), out is (N,28,28,16)"))
    }
}

/// The line wrapper every printer's output goes through.
@Suite struct LineWrapTests {
    @Test func longCodeBreaksAfterACommaOutsideStrings() {
        let call = "    f(\"a, b, c\", " + (1...40).map { "arg\($0)" }.joined(separator: ", ") + ");"
        let lines = LineWrap.wrap(call).split(separator: "\n")
        #expect(lines.count > 1 && lines.allSatisfy { $0.count <= 120 })
        #expect(lines[0].hasPrefix("    f(\"a, b, c\", arg1,"))
        #expect(lines[1].hasPrefix("            arg"))
        #expect(lines.joined(separator: " ").replacingOccurrences(of: "  +", with: " ", options: .regularExpression)
                == call.replacingOccurrences(of: "  +", with: " ", options: .regularExpression))
    }

    @Test func aTrailingCommentMovesAboveItsCode() {
        let line = "    x = y;  // " + String(repeating: "word ", count: 30)
        let lines = LineWrap.wrap(line).split(separator: "\n").map(String.init)
        #expect(lines.last == "    x = y;")
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("    //") && $0.count <= 120 })
    }

    /// A long doc comment continues as a doc comment, as prose: `///` and one space, never `//` (which would end
    /// the doc comment) with a deeper indent.
    @Test func aDocCommentContinuesAsADocComment() {
        let line = "    /// " + String(repeating: "word ", count: 30)
        let lines = LineWrap.wrap(line).split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines.allSatisfy { $0.count <= 120 })
        #expect(lines.allSatisfy { $0.hasPrefix("    /// word") }, "\(lines)")
    }

    @Test func preprocessorLinesMacrosAndUnbreakableStringsStay() {
        let define = "#define X " + String(repeating: "a + ", count: 40) + "b"
        let macro = "#define Y(a) \\\n    " + String(repeating: "a + ", count: 40) + "a"
        let string = "let s = \"" + String(repeating: "x", count: 200) + "\""
        for text in [define, macro, string] { #expect(LineWrap.wrap(text) == text) }
    }

    @Test func aBlockCommentInCodeIsNotATrailingComment() {
        let line = "    g(params + 0 /* conv1.weight */, " + (1...30).map { "b\($0)" }.joined(separator: ", ") + ");  // note"
        let lines = LineWrap.wrap(line).split(separator: "\n").map(String.init)
        #expect(lines.first == "    // note")
        #expect(lines[1].hasPrefix("    g(params + 0 /* conv1.weight */, b1,"))
    }
}
