import Foundation
import Testing
@testable import CNNC

/// `cnnc export --format c`: the files build with gcc and clang under -std=c99 -Wall -Wextra -Werror -pedantic,
/// and the example program's probabilities are the reference interpreter's (evaluation mode: batchnorm's running
/// statistics, dropout as the identity), the same for any workspace batch, clean under ASan and UBSan; with a
/// trained checkpoint it classifies Fashion-MNIST's test set exactly as the trainer does.
@Suite("C export", .serialized)
struct CExportTests {
    typealias F = CExportFixture

    @Test("weights are hexadecimal literals that read back as the same bits")
    func hexLiterals() {
        var rng = Reference.Random(seed: 7)
        var values: [Float] = [0, -0.0, 1, -1, 0.1, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, Float(bitPattern: 0x007f_ffff)]
        while values.count < 20_000 {
            let v = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if v.isFinite { values.append(v) }
        }
        for v in values {
            let literal = CInference.hexLiteral(v)
            #expect(literal.hasSuffix("f") && literal.contains("0x"), "\(literal)")
            let back = Float(String(literal.dropLast()))
            #expect(back?.bitPattern == v.bitPattern, "\(v) -> \(literal) -> \(back.map { "\($0)" } ?? "nil")")
        }
        #expect(CInference.hexLiteral(0.1875) == "0x1.8p-3f")
        #expect(CInference.hexLiteral(-0.0) == "-0x0p+0f")
    }

    @Test("the example's probabilities are the reference's, built by every compiler",
          arguments: ["allkinds", "fashion_bn", "inception"])
    func matchesReference(_ name: String) throws {
        let c = name == "allkinds" ? try ExportFixture.compile(ONNXRuntimeTests.allKinds, file: "allkinds.cnn")
                                   : try ExportFixture.example(name)
        let net = c.network, dir = try ExportFixture.folder("c-\(name)")
        let parameters = try F.checkpoint(net, seed: 11, scale: name == "allkinds" ? 0.5 : 0.1,
                                          to: dir.appendingPathComponent("w.safetensors"))
        let out = dir.appendingPathComponent("out")
        let written = try CExport.export(c, weightsPath: dir.appendingPathComponent("w.safetensors").path, to: out.path)
        let images = F.randomImages(net, count: 5, seed: 3)
        let want = F.reference(net, parameters, images)
        let spread = want.flatMap { $0 }.max()! - want.flatMap { $0 }.min()!
        #expect(spread > 1e-3, "probabilities nearly uniform (spread \(spread)); the check would prove little")
        for compiler in F.compilers {
            let exe = try F.build(out, prefix: written.prefix, compiler: compiler, flags: ["-O2"])
            let got = try F.classify(exe, images, classes: net.output.count, in: dir)
            #expect(got.probabilities.count == 5)
            for (i, (p, r)) in zip(got.probabilities, want).enumerated() {
                let diff = zip(p, r).map { abs(Double($0) - $1) }.max()!
                #expect(diff < 1e-5, "\(name), \(compiler), image \(i): differs from the reference by \(diff)")
                let sorted = r.sorted(by: >)
                if sorted[0] - sorted[1] > 1e-4 { #expect(got.classes[i] == r.firstIndex(of: sorted[0])!) }
            }
        }
    }

    @Test("each image's probabilities are the same bits whatever the workspace batch")
    func batchIndependent() throws {
        let c = try ExportFixture.example("mnist002"), net = c.network
        let dir = try ExportFixture.folder("c-batch")
        let weights = dir.appendingPathComponent("w.safetensors")
        _ = try F.checkpoint(net, seed: 5, scale: 0.1, to: weights)
        let images = F.randomImages(net, count: 13, seed: 9)
        var results: [[[Float]]] = []
        for batch in [1, 5] {
            let out = dir.appendingPathComponent("b\(batch)")
            try CExport.export(c, weightsPath: weights.path, to: out.path, batch: batch)
            let header = try String(contentsOf: out.appendingPathComponent("mnist002.h"), encoding: .utf8)
            #expect(header.contains("#define MNIST002_BATCH \(batch)\n"))
            let exe = try F.build(out, prefix: "mnist002", compiler: F.compilers[0], flags: ["-O2"])
            results.append(try F.classify(exe, images, classes: 10, in: dir).probabilities)
        }
        #expect(results[0].count == 13)
        #expect(results[0] == results[1])
    }

    @Test("the example runs clean under AddressSanitizer and UndefinedBehaviorSanitizer")
    func sanitizers() throws {
        let c = try ExportFixture.example("fashion_bn"), net = c.network
        let dir = try ExportFixture.folder("c-asan")
        let weights = dir.appendingPathComponent("w.safetensors")
        let parameters = try F.checkpoint(net, seed: 21, scale: 0.1, to: weights)
        let out = dir.appendingPathComponent("out")
        // A batch of 3 over 5 images: a full workspace, then a partial one.
        try CExport.export(c, weightsPath: weights.path, to: out.path, batch: 3)
        let exe = try F.build(out, prefix: "fashion_bn", compiler: F.compilers.last!,
                              flags: ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                      "-fno-omit-frame-pointer"])
        let images = F.randomImages(net, count: 5, seed: 4)
        let got = try F.classify(exe, images, classes: 10, in: dir, environment: ["ASAN_OPTIONS": "detect_leaks=1"])
        #expect(got.stderr.isEmpty, "\(got.stderr.prefix(2000))")
        let want = F.reference(net, parameters, images)
        #expect(got.probabilities.count == 5)
        for (p, r) in zip(got.probabilities, want) { #expect(zip(p, r).map { abs(Double($0) - $1) }.max()! < 1e-5) }
    }

    @Test("trained on Fashion-MNIST: the trainer's test accuracy exactly, image by image the reference's",
          .enabled(if: FileManager.default.fileExists(atPath: "\(fashionMNIST)/t10k-images-idx3-ubyte.gz")))
    func trained() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/mnist002.cnn"), encoding: .utf8)
        let trainer = try GeneratedTrainer.build(source, name: "cexport-mnist002")
        let net = trainer.compilation.network
        let dir = try ExportFixture.folder("c-trained")
        let weights = dir.appendingPathComponent("trained.safetensors").path
        let trained = try trainer.train(["--data", fashionMNIST, "--limit", "3000", "--epochs", "1", "--batch", "32",
                                         "--save", weights])
        try #require(trained.status == 0, "\(trained.output)")
        // The trainer's evaluation of the whole test set (10000 images: four decimals are a count).
        let evaluated = try trainer.train(["--data", fashionMNIST, "--epochs", "0", "--load", weights])
        try #require(evaluated.status == 0, "\(evaluated.output)")
        let line = try #require(evaluated.output.split(separator: "\n").first { $0.hasPrefix("test accuracy ") })
        let accuracy = try #require(Double(line.split(separator: " ")[2]), "\(line)")
        let trainerCorrect = Int((accuracy * 10_000).rounded())

        let out = dir.appendingPathComponent("out")
        try CExport.export(trainer.compilation, weightsPath: weights, to: out.path, batch: 8)
        let test = try F.fashionTest()
        var predictions: [[Int]] = []
        for compiler in F.compilers {
            let exe = try F.build(out, prefix: "mnist002", compiler: compiler, flags: ["-O3", "-march=native"])
            let got = try F.classify(exe, test.images, classes: 10, in: dir)
            try #require(got.classes.count == 10_000)
            let correct = zip(got.classes, test.labels).filter { $0 == $1 }.count
            #expect(correct == trainerCorrect, "\(compiler): \(correct) of 10000 right, the trainer \(trainerCorrect)")
            predictions.append(got.classes)
            // The first images against the reference interpreter, on the checkpoint's values.
            let tensors = try SafeTensorsFile.read(URL(fileURLWithPath: weights))
            let parameters = tensors.mapValues { $0.values.map(Double.init) }
            let want = F.reference(net, parameters, Array(test.images[0..<40 * 784]))
            for (i, r) in want.enumerated() {
                let diff = zip(got.probabilities[i], r).map { abs(Double($0) - $1) }.max()!
                #expect(diff < 1e-5, "\(compiler), image \(i): differs from the reference by \(diff)")
                #expect(got.classes[i] == r.firstIndex(of: r.max()!)!)
            }
        }
        #expect(Set(predictions.map { $0 }).count == 1, "the compilers' builds predict differently")
    }

    @Test("files: replaces only its own, checks all three before writing any, reads the checkpoint first")
    func files() throws {
        let c = try ExportFixture.example("mnist002")
        let dir = try ExportFixture.folder("c-files")
        let weights = dir.appendingPathComponent("w.safetensors")
        _ = try F.checkpoint(c.network, seed: 1, to: weights)
        let out = dir.appendingPathComponent("out")
        let written = try CExport.export(c, weightsPath: weights.path, to: out.path)
        #expect(written.files.map { ($0 as NSString).lastPathComponent } == ["mnist002.h", "mnist002.c", "example.c"])
        try CExport.export(c, weightsPath: weights.path, to: out.path)  // again: its own files are replaced

        // A file of the user's in the way: an error naming it, and nothing else rewritten.
        let header = out.appendingPathComponent("mnist002.h")
        try FileManager.default.removeItem(at: header)
        try "int mine;\n".write(to: out.appendingPathComponent("example.c"), atomically: true, encoding: .utf8)
        let message = F.errorMessage { try CExport.export(c, weightsPath: weights.path, to: out.path) }
        #expect(message?.hasSuffix("example.c: error: exists and is not a file written by cnnc export; refusing to replace it")
                == true, "\(message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: header.path))
        #expect(try String(contentsOf: out.appendingPathComponent("example.c"), encoding: .utf8) == "int mine;\n")

        // The output is a file, not a folder.
        let file = dir.appendingPathComponent("plain")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let notFolder = F.errorMessage { try CExport.export(c, weightsPath: weights.path, to: file.path) }
        #expect(notFolder == "\(file.path): error: exists and is not a folder; refusing to write into it")

        // A checkpoint of another network: its error, and no folder made.
        let other = dir.appendingPathComponent("other.safetensors")
        _ = try F.checkpoint(try ExportFixture.example("lenet5").network, seed: 1, to: other)
        let fresh = dir.appendingPathComponent("fresh")
        let mismatch = F.errorMessage { try CExport.export(c, weightsPath: other.path, to: fresh.path) }
        #expect(mismatch?.hasPrefix("\(other.path): error: ") == true, "\(mismatch ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
    }

    @Test("a network that does not end in softmax is refused")
    func needsSoftmax() throws {
        let c = try ExportFixture.compile("net nosoftmax\ninput 4x4x1\nflatten\ndense 3\n", file: "nosoftmax.cnn")
        var weights: [String: [Float]] = [:]
        for p in c.network.state { weights[p.name] = [Float](repeating: 0, count: p.count) }
        let message = F.errorMessage { _ = try CExport.files(c, weights: weights, batch: 1) }
        #expect(message == "nosoftmax.cnn: error: export --format c needs 'softmax' as the last layer (the exported "
                + "function returns its probabilities)")
    }
}
