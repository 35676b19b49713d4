import Foundation
import Testing
@testable import CNNC
@testable import TrainerRuntime

/// A generated package as an app and a user meet it: its library (an app's package depends on it by path, imports
/// the module and predicts with a trained checkpoint) and its `predict` tool (PNG and PGM files, IDX data with the
/// trainer's test accuracy, one-line errors). One small CPU package, built in debug, shared by the tests; the net
/// has batchnorm and dropout, so evaluation semantics show, and `scale` and `normalize`, which `predict` applies as
/// the trainer does.
@Suite("generated library and predict tool", .serialized)
struct LibraryAndPredictTests {
    static let net = """
        net lib-net
        input 28x28
        scale 1/255
        normalize mean=0.3 std=0.35
        conv 4 3x3 bias=none
        batchnorm relu
        maxpool 4x4
        dropout 0.25
        dense 10
        softmax
        train epochs=1 batch=32 lr=0.05 momentum=0.9 seed=3
        """

    static let root = GeneratedTrainer.workRoot.appendingPathComponent("library")

    /// The built package and a checkpoint trained on 600 Fashion-MNIST images (made once per test process).
    func trained() throws -> (package: GeneratedTrainer, weights: URL) {
        let package = try GeneratedTrainer.build(Self.net, name: "lib-net", configuration: "debug")
        let weights = Self.root.appendingPathComponent("lib-net.safetensors")
        if !FileManager.default.fileExists(atPath: weights.path) {
            try FileManager.default.createDirectory(at: Self.root, withIntermediateDirectories: true)
            let run = try package.train(["--data", fashionMNIST, "--limit", "600", "--epochs", "1", "--save", weights.path])
            guard run.status == 0 else { throw TrainerError("training failed: \(run.output)") }
        }
        return (package, weights)
    }

    func predict(_ package: GeneratedTrainer, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try GeneratedTrainer.run(package.directory.appendingPathComponent(".build/debug/predict").path, arguments)
    }

    /// Writes `count` 28x28 grey PNG images with distinct patterns; returns their paths.
    func writeImages(_ count: Int, size: Int = 28, prefix: String = "img") throws -> [String] {
        try FileManager.default.createDirectory(at: Self.root, withIntermediateDirectories: true)
        return try (0..<count).map { i in
            let path = Self.root.appendingPathComponent("\(prefix)\(i).png").path
            let pixels = (0..<size * size).map { UInt8(truncatingIfNeeded: ($0 * (7 + 2 * i) + 31 * i) % 256) }
            try PNGFolderTests.writePNG(pixels, width: size, height: size, channels: 1, to: path)
            return path
        }
    }

    /// `predict --format csv` rows: the probabilities of every class (--top = all), in class order, per input.
    func csvProbabilities(_ output: String, classes: Int) throws -> [[Float]] {
        let rows = output.split(separator: "\n").dropFirst()
        return try rows.map { row in
            let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 2 + 2 * classes, "\(row)")
            var p = [Float](repeating: -1, count: classes)
            for k in 0..<classes { p[Int(fields[2 + 2 * k])!] = Float(fields[3 + 2 * k])! }
            return p
        }
    }

    @Test("an app's package imports the library, loads the checkpoint and predicts what the predict tool prints")
    func appUsesLibrary() throws {
        let (package, weights) = try trained()
        let images = try writeImages(3)
        let tool = try predict(package, ["--load", weights.path, "--top", "10", "--format", "csv"] + images)
        #expect(tool.status == 0, "\(tool.output)")
        let expected = try csvProbabilities(tool.output, classes: 10)
        #expect(expected.count == 3)

        // The app: a package of its own in a temporary folder, depending on the generated one by path.
        let app = Self.root.appendingPathComponent("app")
        try? FileManager.default.removeItem(at: app)
        try FileManager.default.createDirectory(at: app.appendingPathComponent("Sources/app"), withIntermediateDirectories: true)
        let module = Symbols.moduleName("lib-net")
        #expect(module == "lib_net")
        try """
        // swift-tools-version:5.9
        import PackageDescription
        let package = Package(
            name: "app",
            dependencies: [.package(path: \(Spelling.swiftString(package.directory.path)))],
            targets: [.executableTarget(name: "app", dependencies: [.product(name: "\(module)", package: "\(package.directory.lastPathComponent)")])]
        )
        """.write(to: app.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        // Reads the images' raw pixel values from a file of bytes (the test decodes the PNGs with libpng below).
        try """
        import Foundation
        import \(module)

        let model = try Model(checkpoint: CommandLine.arguments[1])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[2]))
        for p in try model.predict(bytes.map { Float($0) }) {
            print(p.map { "\\($0)" }.joined(separator: " "), "sum", p.reduce(0, +))
        }
        """.write(to: app.appendingPathComponent("Sources/app/main.swift"), atomically: true, encoding: .utf8)
        var raw: [UInt8] = []
        for image in images {
            let rgba = try decodePNG(try readBoundedFile(image, limit: 1 << 20), path: image, width: 28, height: 28)
            appendPixels(rgba, channels: 1, to: &raw)
        }
        let pixels = Self.root.appendingPathComponent("pixels.bin")
        try Data(raw).write(to: pixels)

        let build = try GeneratedTrainer.run("/usr/bin/env", ["swift", "build", "--package-path", app.path])
        try #require(build.status == 0, "\(build.output.suffix(4000))")
        let run = try GeneratedTrainer.run(app.appendingPathComponent(".build/debug/app").path, [weights.path, pixels.path])
        #expect(run.status == 0, "\(run.output)")
        let rows = run.output.split(separator: "\n").map { $0.split(separator: " ") }
        try #require(rows.count == 3, "\(run.output)")
        for (row, want) in zip(rows, expected) {
            let p = row.prefix(10).compactMap { Float($0) }
            try #require(p.count == 10 && row[10] == "sum", "\(row)")
            #expect(abs(p.reduce(0, +) - 1) < 1e-5, "probabilities sum to 1: \(p)")
            for (got, tool) in zip(p, want) { #expect(abs(got - tool) <= 1e-6, "library \(got), predict \(tool)") }
        }
        // The library refuses what is not whole images, and a missing checkpoint, with one line.
        let bad = try GeneratedTrainer.run(app.appendingPathComponent(".build/debug/app").path, ["/nonexistent.safetensors", pixels.path])
        #expect(bad.status != 0 && bad.output.contains("/nonexistent.safetensors: no such file"), "\(bad.output)")
    }

    @Test("predict on IDX data prints the trainer's test accuracy for the same checkpoint; text and json agree")
    func accuracyMatchesTrainer() throws {
        let (package, weights) = try trained()
        let metrics = Self.root.appendingPathComponent("eval.json")
        try? FileManager.default.removeItem(at: metrics)
        let eval = try package.train(["--data", fashionMNIST, "--load", weights.path, "--epochs", "0", "--metrics", metrics.path])
        #expect(eval.status == 0, "\(eval.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let testAccuracy = try #require((json["final"] as? [String: Any])?["test_accuracy"] as? Double)

        let asJSON = try predict(package, ["--load", weights.path, "--data", fashionMNIST, "--format", "json", "--top", "2"])
        #expect(asJSON.status == 0, "\(asJSON.output.suffix(2000))")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(asJSON.output.utf8)) as? [String: Any])
        #expect(document["accuracy"] as? Double == testAccuracy)
        #expect(document["count"] as? Int == 10000)
        let predictions = try #require(document["predictions"] as? [[String: Any]])
        #expect(predictions.count == 10000)
        #expect((predictions.first?["top"] as? [[String: Any]])?.count == 2)

        let text = try predict(package, ["--load", weights.path, "--data", fashionMNIST])
        #expect(text.status == 0)
        let last = text.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("accuracy \(fixed(testAccuracy, 4)) ("), "\(last)")
        #expect(eval.output.contains("test accuracy \(fixed(testAccuracy, 4))"))
    }

    @Test("predict on a PNG class folder prints the trainer's test accuracy on it")
    func pngFolderAccuracy() throws {
        let (package, weights) = try trained()
        let folder = Self.root.appendingPathComponent("classes")
        try? FileManager.default.removeItem(at: folder)
        for (c, name) in ["bag", "coat", "shirt"].enumerated() {
            let dir = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<4 {
                let pixels = (0..<784).map { UInt8(truncatingIfNeeded: ($0 * (3 + c) + 17 * i) % 256) }
                try PNGFolderTests.writePNG(pixels, width: 28, height: 28, channels: 1, to: dir.appendingPathComponent("\(i).png").path)
            }
        }
        let metrics = Self.root.appendingPathComponent("png-eval.json")
        try? FileManager.default.removeItem(at: metrics)
        let eval = try package.train(["--data", folder.path, "--test-data", folder.path, "--load", weights.path, "--epochs", "0",
                                      "--metrics", metrics.path])
        #expect(eval.status == 0, "\(eval.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let testAccuracy = try #require((json["final"] as? [String: Any])?["test_accuracy"] as? Double)
        let run = try predict(package, ["--load", weights.path, "--data", folder.path, "--format", "json"])
        #expect(run.status == 0, "\(run.output)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(document["accuracy"] as? Double == testAccuracy && document["count"] as? Int == 12)
        #expect(document["classes"] as? [String] == ["bag", "coat", "shirt"])
        let first = try #require((document["predictions"] as? [[String: Any]])?.first)
        #expect(first["input"] as? String == folder.appendingPathComponent("bag/0.png").path && first["label"] as? Int == 0)
    }

    @Test("predict reads PGM like PNG, and refuses bad headers, wrong sizes and bad command lines in one line")
    func imagesAndErrors() throws {
        let (package, weights) = try trained()
        let png = try writeImages(1, prefix: "same")[0]
        let rgba = try decodePNG(try readBoundedFile(png, limit: 1 << 20), path: png, width: 28, height: 28)
        let grey = stride(from: 0, to: rgba.count, by: 4).map { rgba[$0] }
        let pgm = Self.root.appendingPathComponent("same.pgm"), plain = Self.root.appendingPathComponent("plain.pgm")
        try Data(Array("P5\n# a comment\n28 28\n255\n".utf8) + grey).write(to: pgm)
        try ("P2 28 28 255\n" + grey.map(String.init).joined(separator: " ") + "\n").write(to: plain, atomically: true, encoding: .utf8)
        let same = try predict(package, ["--load", weights.path, "--format", "csv", "--top", "10", png, pgm.path, plain.path])
        #expect(same.status == 0, "\(same.output)")
        let rows = try csvProbabilities(same.output, classes: 10)
        #expect(rows.count == 3 && rows[0] == rows[1] && rows[0] == rows[2], "\(same.output)")

        let text = try predict(package, ["--load", weights.path, "--top", "3", png])
        #expect(text.status == 0)
        let line = text.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix(png + ": ") && line.split(separator: ",").count == 3, "\(line)")

        // One-line errors naming the file: exit status 1.
        let truncated = Self.root.appendingPathComponent("short.pgm"), badHeader = Self.root.appendingPathComponent("bad.pgm")
        try Data(Array("P5 28 28 255\n".utf8) + grey.prefix(100)).write(to: truncated)
        try Data(Array("P5 28 x8 255\n".utf8) + grey).write(to: badHeader)
        let small = try writeImages(1, size: 8, prefix: "small")[0]
        for (file, message) in [(truncated.path, "truncated: the header promises 28x28 bytes (784) but the file holds 100"),
                                (badHeader.path, "malformed header: expected the height as a decimal number"),
                                (small, "image is 8x8 but the network expects 28x28")] {
            let run = try predict(package, ["--load", weights.path, file])
            #expect(run.status == 1, "\(run.output)")
            #expect(run.output.hasPrefix("error: \(file): \(message)") && run.output.split(separator: "\n").count == 1,
                    "\(run.output)")
        }
        // Usage errors: exit status 64, one line; --help: 0.
        for arguments in [[png], ["--load", weights.path], ["--load", weights.path, "--top", "11", png],
                          ["--load", weights.path, "--format", "xml", png], ["--load", weights.path, "--tpo", "2", png],
                          ["--load", weights.path, "--data", fashionMNIST, png]] {
            let run = try predict(package, arguments)
            #expect(run.status == 64 && run.output.hasPrefix("error: ") && run.output.split(separator: "\n").count == 1,
                    "\(arguments): \(run.output)")
        }
        let help = try predict(package, ["--help"])
        #expect(help.status == 0 && help.output.hasPrefix("usage: predict --load"))
    }
}
