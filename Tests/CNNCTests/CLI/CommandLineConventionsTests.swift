import CNNC
import Foundation
import Testing

/// cnnc's command-line conventions, through the built executable: --version, the exit statuses (0, 1, 64),
/// shell completion of .cnn files and folders, and the manual page Docs/cnnc.1 being what `cnnc man` prints.
@Suite("cnnc: version, exit statuses, completion, manual page")
struct CommandLineConventionsTests {
    static let cnnc = repositoryRoot.appendingPathComponent(".build/debug/cnnc").path
    static let example = repositoryRoot.appendingPathComponent("Examples/digits004.cnn").path

    /// Runs cnnc; stdout and stderr apart.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try #require(FileManager.default.isExecutableFile(atPath: cnnc), "build cnnc first (swift build)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: cnnc)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit, "\(arguments): killed by a signal")
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test("--version prints `cnnc VERSION`, the library's one constant")
    func version() throws {
        let r = try Self.run(["--version"])
        #expect(r.status == 0 && r.out == "cnnc \(CNNCVersion.current)\n" && r.err.isEmpty, "\(r)")
        let parts = CNNCVersion.current.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil }, "not MAJOR.MINOR.PATCH: \(CNNCVersion.current)")
    }

    @Test("both targets' packages record the version, as a Swift string literal, for `train --version`")
    func generatedPackagesRecordTheVersion() throws {
        let c = try Compilation(path: Self.example)
        let literal = "cnncVersion: " + Spelling.swiftString(CNNCVersion.current) + ","
        for (target, package) in [("cpu", try CPUTarget.generate(c)), ("vulkan", try VulkanTarget.generate(c))] {
            let network = try #require(package.files["Sources/Network/Network.swift"], "\(target)")
            #expect(network.components(separatedBy: literal).count == 2, "\(target): \(literal) once in Network.swift")
        }
    }

    @Test("a command line cnnc cannot run exits 64; an error in the input exits 1; success 0")
    func exitStatuses() throws {
        let usage: [[String]] = [
            ["report", "--no-such-option", Self.example],        // unknown option
            ["report", Self.example, "--batch"],                 // missing value
            ["report", Self.example, "--batch", "many"],         // value of the wrong type
            ["report", Self.example, "--batch", "0"],            // value validate() refuses
            ["report", Self.example, "--format", "yaml"],        // not one of the values
            ["report"],                                          // missing argument
            ["frobnicate"],                                      // unknown subcommand
            ["export", Self.example, "--weights", "w.safetensors", "--batch", "2"],  // options that exclude each other
            ["compile", Self.example, "--target", "vulkan", "--distributed", "mpi"],
            ["compile", Self.example, "--target", "vulkan", "--tune"],
            ["compile", Self.example, "--tune", "--tuning", "tuning.json"],
            ["compile", Self.example, "--tune-seconds", "5"],
            ["compile", Self.example, "--tune", "--tune-seconds", "0.5"],
        ]
        for arguments in usage {
            let r = try Self.run(arguments)
            #expect(r.status == CNNCExitStatus.usage && r.status == 64 && r.out.isEmpty, "\(arguments): \(r)")
            #expect(r.err.hasPrefix("Error: "), "\(arguments): \(r.err)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnnc-cli-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("broken.cnn")
        try Data("net broken\ninput 4x4\nconv 2 9x9\n".utf8).write(to: broken)
        let input: [([String], String)] = [
            (["report", dir.appendingPathComponent("missing.cnn").path], "missing.cnn: error: cannot read file"),
            (["plan", broken.path], "broken.cnn:"),
            (["check", dir.appendingPathComponent("missing.cnn").path], "missing.cnn: error: cannot read file"),
        ]
        for (arguments, message) in input {
            let r = try Self.run(arguments)
            #expect(r.status == CNNCExitStatus.failure && r.status == 1, "\(arguments): \(r)")
            #expect(r.out.isEmpty && r.err.hasPrefix(dir.path + "/" + message), "\(arguments): \(r.err)")
        }
        let ok = try Self.run(["report", Self.example])
        #expect(ok.status == 0 && !ok.out.isEmpty, "\(ok.err)")
    }

    @Test("--help documents the exit statuses")
    func helpNamesExitStatuses() throws {
        let r = try Self.run(["--help"])
        #expect(r.status == 0)
        for (status, meaning) in CNNCExitStatus.table {
            #expect(r.out.contains("  \(status)") && r.out.contains(meaning.prefix(20)), "\(status) \(meaning): \(r.out)")
        }
        #expect(CNNCExitStatus.table.map(\.status) == [0, 1, 64])
    }

    @Test("shell completion offers .cnn files for networks, folders for compile -o")
    func completion() throws {
        let bash = try Self.run(["--generate-completion-script", "bash"])
        #expect(bash.status == 0)
        // Every command's network argument: bash's file completion filtered to *.cnn (plus folders to descend).
        let cnnFilter = "-o plusdirs -fX '!*.@(cnn)'"
        #expect(bash.out.components(separatedBy: cnnFilter).count - 1 == 6, "a .cnn filter per command:\n\(bash.out)")
        #expect(bash.out.contains("'!*.@(safetensors)'"), "export --weights")
        #expect(bash.out.contains("__cnnc_add_completions -d\n"), "compile -o completes folders")
        let zsh = try Self.run(["--generate-completion-script", "zsh"])
        #expect(zsh.status == 0 && zsh.out.components(separatedBy: ":file:_files -g '\\''*.cnn'\\''").count - 1 == 6, "\(zsh.out)")
    }

    @Test("Docs/cnnc.1 is what `cnnc man` prints from the command definitions")
    func manualIsCurrent() throws {
        let r = try Self.run(["man"])
        #expect(r.status == 0 && r.err.isEmpty, "\(r.err)")
        let committed = try String(contentsOf: repositoryRoot.appendingPathComponent("Docs/cnnc.1"), encoding: .utf8)
        let old = committed.split(separator: "\n", omittingEmptySubsequences: false)
        let new = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(old, new).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(old.count, new.count)
        let stale = committed != r.out
        let shown = line < old.count ? String(old[line]) : "end of file"
        #expect(!stale, "Docs/cnnc.1 is stale from line \(line + 1) (\(shown)); regenerate it: swift build && .build/debug/cnnc man > Docs/cnnc.1")
        // What the page must show: every visible command with its options, and the exit statuses.
        for text in [".TH \"CNNC\" \"1\"", ".SS \"cnnc report\"", ".SS \"cnnc export\"", "\\fB\\-\\-weights\\fR \\fIWEIGHTS\\fR",
                     "The network, a .cnn file.", ".SH \"EXIT STATUS\"", "\n64\n", "cnnc \(CNNCVersion.current)"] {
            #expect(r.out.contains(text), "the manual lacks \(text)")
        }
        #expect(!r.out.contains(".SS \"cnnc man\"") && !r.out.contains(".SS \"cnnc help\""), "hidden commands are not listed")
    }

    @Test("groff formats the manual without warnings", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/groff")))
    func manualFormats() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/groff")
        p.arguments = ["-man", "-Tutf8", "-ww", "-z", repositoryRoot.appendingPathComponent("Docs/cnnc.1").path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let warnings = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && warnings.isEmpty, "\(warnings)")
    }
}
