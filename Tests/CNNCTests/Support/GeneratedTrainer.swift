import Foundation
@testable import CNNC

/// Compiles a network, builds its generated package with `swift build`, and runs its trainer: the end-to-end
/// path a user takes. Packages are built under one temporary folder per test process and reused by name.
struct GeneratedTrainer {
    let compilation: Compilation
    let directory: URL
    let configuration: String
    /// The build folder, when not the package's own `.build`.
    var scratchPath: String?

    static let workRoot: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnnc-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Compiles `source` (a .cnn text named `name`) for `target` ("cpu" or "vulkan") and builds it.
    /// `extraBuildFlags` e.g. sanitizers; `distributed`: `cnnc compile --distributed mpi` (cpu).
    static func build(_ source: String, name: String, target: String = "cpu", configuration: String = "release",
                      extraBuildFlags: [String] = [], scratchPath: String? = nil,
                      distributed: Bool = false) throws -> GeneratedTrainer {
        let cnn = workRoot.appendingPathComponent("\(name).cnn")
        try source.write(to: cnn, atomically: true, encoding: .utf8)
        let c = try Compilation(path: cnn.path)
        let dir = workRoot.appendingPathComponent("\(name)-\(target)")
        if target == "vulkan" {
            try VulkanTarget.write(c, to: dir.path)
        } else {
            try PackageWriter.write(try CPUTarget.generate(c, distributed: distributed), to: dir.path)
        }
        let scratch = scratchPath.map { ["--scratch-path", dir.appendingPathComponent($0).path] } ?? []
        let result = try run("/usr/bin/env", ["swift", "build", "-c", configuration, "--package-path", dir.path] + scratch + extraBuildFlags)
        guard result.status == 0 else {
            throw TrainerError("swift build of \(name) failed:\n\(result.output.suffix(4000))")
        }
        return GeneratedTrainer(compilation: c, directory: dir, configuration: configuration, scratchPath: scratchPath)
    }

    var executable: String { directory.appendingPathComponent("\(scratchPath ?? ".build")/\(configuration)/train").path }

    /// Runs the trainer with `arguments`; returns its exit status and combined output.
    func train(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try GeneratedTrainer.run(executable, arguments, environment: environment)
    }

    /// Runs `tool`; `environment` adds to (or overrides) this process's environment.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

struct TrainerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The repository root, for Examples/.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Debian's Fashion-MNIST (dataset-fashion-mnist, installed by scripts/setup.sh).
let fashionMNIST = "/usr/share/datasets/fashion-mnist"

/// Writes a CSV data set: one sample per row, values in H,W,C order, then the label.
func writeCSV(_ images: [[Double]], _ labels: [Int], to url: URL) throws {
    var text = ""
    for (image, label) in zip(images, labels) {
        text += image.map { String(Float($0)) }.joined(separator: ",") + ",\(label)\n"
    }
    try text.write(to: url, atomically: true, encoding: .utf8)
}
