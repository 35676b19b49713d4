import Foundation
import Testing
@testable import CNNC

/// End to end: a .cnn file whose name is Swift code (it ran when SwiftPM read the generated Package.swift), holding
/// a network whose layer names are keywords and the generated code's own names, compiles to a CPU package that
/// builds, prints no payload, trains a step and saves a checkpoint under the user's tensor names.
@Suite("hostile names, built")
struct HostileNamesBuildTests {
    static let payload = "CNNC-PAYLOAD-RAN"
    static let fileName = "x\" + { print(\"\(payload)\") ; return \"\" }() + \".cnn"

    @Test("the injection-named file with nasty layer names builds, runs and prints no payload")
    func buildsAndTrains() throws {
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("hostile-names")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cnn = dir.appendingPathComponent(Self.fileName)
        try NamesTests.nastyNet.write(to: cnn, atomically: false, encoding: .utf8)
        let c = try Compilation(path: cnn.path)
        #expect(c.network.name == "x\" + { print(\"\(Self.payload)\") ; return \"\" }() + \"")
        let package = dir.appendingPathComponent("pkg")
        try PackageWriter.write(try CPUTarget.generate(c), to: package.path, force: true)

        let build = try GeneratedTrainer.run("/usr/bin/env", ["swift", "build", "-c", "release", "--package-path", package.path])
        #expect(build.status == 0, "\(build.output.suffix(4000))")
        let lines = { (text: String) in text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(!lines(build.output).contains(Self.payload), "the file name's Swift ran at build time")
        guard build.status == 0 else { return }

        let train = package.appendingPathComponent(".build/release/train").path
        let help = try GeneratedTrainer.run(train, ["--help"])
        #expect(help.status == 0)
        #expect(!lines(help.output).contains(Self.payload))
        #expect(help.output.contains(c.network.name), "the name is printed as data")

        let images = (0..<8).map { i in (0..<36).map { Double(($0 * 7 + i * 3) % 5) } }
        let data = dir.appendingPathComponent("tiny.csv")
        try writeCSV(images, (0..<8).map { $0 % 3 }, to: data)
        let weights = dir.appendingPathComponent("w.safetensors")
        let run = try GeneratedTrainer.run(train, ["--data", data.path, "--epochs", "1", "--save", weights.path])
        #expect(run.status == 0, "\(run.output)")
        #expect(!lines(run.output).contains(Self.payload))
        let checkpoint = try SafeTensorsFile.read(weights)
        #expect(Set(checkpoint.keys).isSuperset(of: ["a-b.weight", "a__b.weight", "A.weight", "a.weight", "d_a.bias", "Self.bias"]))
    }
}
