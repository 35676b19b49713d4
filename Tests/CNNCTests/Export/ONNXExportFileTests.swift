import Foundation
import Testing
@testable import CNNC

/// Writing the .onnx file: exclusive and atomic, never replacing what cnnc did not write, nothing left behind.
@Suite("ONNX export writes its file safely")
struct ONNXExportFileTests {
    let compilation: Compilation
    let dir: URL
    let weights: String

    init() throws {
        compilation = try ExportFixture.compile(CheckpointReaderTests.source)
        dir = try ExportFixture.folder("files")
        let values = ExportFixture.weights(compilation.network)
        let url = dir.appendingPathComponent("tiny.safetensors")
        try SafeTensorsFile.write(Dictionary(uniqueKeysWithValues: compilation.network.parameters.map {
            ($0.name, SafeTensorsFile.Tensor(shape: $0.layout.torchShape, values: values[$0.name]!))
        }), to: url)
        weights = url.path
    }

    /// The folder's entries other than the checkpoint: no temporary file may stay behind.
    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "tiny.safetensors" }.sorted()
    }

    func expectRefusal(_ path: String, _ fragment: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            try ONNXExport.export(compilation, weightsPath: weights, to: path)
            Issue.record("exported over \(path)", sourceLocation: sourceLocation)
        } catch let e as CompileError {
            #expect(e.description == "\(path): error: \(fragment)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("writes the model, and replaces a model cnnc wrote before")
    func writesAndReplaces() throws {
        let path = dir.appendingPathComponent("tiny.onnx").path
        let model = try ONNXExport.export(compilation, weightsPath: weights, to: path)
        let expected = Data(model.serialized())
        #expect(FileManager.default.contents(atPath: path) == expected)
        try Data(ONNXModel.signature + [0x08, 0x01]).write(to: URL(fileURLWithPath: path))  // an older cnnc model
        try ONNXExport.export(compilation, weightsPath: weights, to: path)
        #expect(FileManager.default.contents(atPath: path) == expected)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o600 } == 0o600)
        #expect(try entries() == ["tiny.onnx"])
    }

    @Test("refuses to replace anything cnnc did not write, and leaves it as it was")
    func refuses() throws {
        let foreign = dir.appendingPathComponent("notes.onnx")
        try Data("my notes".utf8).write(to: foreign)
        expectRefusal(foreign.path, "exists and is not an ONNX model written by cnnc; refusing to replace it")
        #expect(FileManager.default.contents(atPath: foreign.path) == Data("my notes".utf8))

        let empty = dir.appendingPathComponent("empty.onnx")
        try Data().write(to: empty)
        expectRefusal(empty.path, "exists and is not an ONNX model written by cnnc; refusing to replace it")

        let folder = dir.appendingPathComponent("folder.onnx")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        expectRefusal(folder.path, "exists and is not a regular file; refusing to replace it")

        // A link is refused even when it points at a model cnnc wrote: the rename would replace the link.
        let target = dir.appendingPathComponent("real.onnx")
        try ONNXExport.export(compilation, weightsPath: weights, to: target.path)
        let link = dir.appendingPathComponent("link.onnx")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        expectRefusal(link.path, "exists and is not a regular file; refusing to replace it")

        #expect(try entries() == ["empty.onnx", "folder.onnx", "link.onnx", "notes.onnx", "real.onnx"])
    }

    @Test("a bad checkpoint or an unwritable place leaves no file behind")
    func nothingHalfWritten() throws {
        let bad = dir.appendingPathComponent("bad.safetensors")
        try Data([16, 0, 0, 0, 0, 0, 0, 0] + Array("{\"x\":1}        ".utf8)).write(to: bad)
        let out = dir.appendingPathComponent("out.onnx").path
        #expect(throws: CompileError.self) { try ONNXExport.export(compilation, weightsPath: bad.path, to: out) }
        #expect(!FileManager.default.fileExists(atPath: out))
        try FileManager.default.removeItem(at: bad)

        let nowhere = dir.appendingPathComponent("missing/out.onnx").path
        expectRefusal(nowhere, "cannot create a temporary file beside it: No such file or directory")
        #expect(try entries() == [])
    }
}
