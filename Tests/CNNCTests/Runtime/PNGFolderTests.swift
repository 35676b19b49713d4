import CPNG
import Foundation
import Testing
@testable import TrainerRuntime

/// PNG class folders (Runtime/trainer/PNGFolder.swift) with images the test encodes through libpng's writer:
/// classes in sorted order, values converted to the network's channels as PIL converts, and every bad file one
/// error that names it.
@Suite("PNG class folders")
struct PNGFolderTests {
    typealias F = RuntimeTestFiles

    /// Encodes `pixels` (`channels` bytes per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) as a PNG file.
    static func writePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        let color = channels >= 3 ? PNG_FORMAT_FLAG_COLOR : 0, alpha = channels % 2 == 0 ? PNG_FORMAT_FLAG_ALPHA : 0
        image.format = UInt32(color | alpha)
        let ok = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
        #expect(ok != 0, "libpng wrote \(path)")
    }

    static func layout(_ h: Int, _ w: Int, _ c: Int, classes: Int = 10) -> SampleLayout {
        SampleLayout(height: h, width: w, channels: c, classes: classes, network: "pngnet")
    }

    static func load(_ data: String, _ layout: SampleLayout, _ more: [String] = []) throws -> DataSets {
        let defaults = TrainingDefaults(epochs: 1, batch: 8, learningRate: 0.1, optimizer: OptimizerSettings(momentum: 0), seed: 1)
        let options = try parseOptions(["--data", data] + more, defaults: defaults)
        return try loadDataSets(options, layout: layout, trainOnly: false, budget: 1 << 30)
    }

    static func bytes(_ set: Dataset) -> [UInt8] {
        if case .bytes(let b) = set.storage { return b }
        Issue.record("PNG images are stored as bytes")
        return []
    }

    @Test("grey images: classes sorted, samples round-robin across classes, values unchanged, a test folder")
    func grey() throws {
        let dir = try F.folder("png-grey")
        let train = dir.appendingPathComponent("train"), test = dir.appendingPathComponent("test")
        for (folder, counts) in [(train, ["shirt": 3, "boot": 1]), (test, ["shirt": 1])] {
            for (name, count) in counts {
                let classDir = folder.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: classDir, withIntermediateDirectories: true)
                for k in 0..<count {
                    let value = UInt8((name == "boot" ? 200 : 10) + k)
                    try Self.writePNG([UInt8](repeating: value, count: 12), width: 4, height: 3, channels: 1,
                                      to: classDir.appendingPathComponent("img\(k).png").path)
                }
                try "not an image".write(to: classDir.appendingPathComponent("notes.txt"), atomically: true,
                                          encoding: .utf8)
            }
        }
        let sets = try Self.load(train.path, Self.layout(3, 4, 1), ["--test-data", test.path])
        #expect(sets.train.labels == [0, 1, 1, 1], "boot = 0, shirt = 1, round-robin: boot0 shirt0 shirt1 shirt2")
        let values = Self.bytes(sets.train)
        #expect(values.count == 4 * 12)
        #expect([values[0], values[12], values[24], values[36]] == [200, 10, 11, 12])
        #expect(sets.test?.labels == [1] && Self.bytes(sets.test!).allSatisfy { $0 == 10 })
        let limited = try Self.load(train.path, Self.layout(3, 4, 1), ["--limit", "2"])
        #expect(limited.train.labels == [0, 1], "--limit takes every class first")
    }

    @Test("colour conversions: RGBA to RGB drops alpha, RGB to grey is PIL's luma, grey to RGB repeats it")
    func colour() throws {
        let dir = try F.folder("png-colour")
        let classDir = dir.appendingPathComponent("only")
        try FileManager.default.createDirectory(at: classDir, withIntermediateDirectories: true)
        let rgba: [UInt8] = [255, 0, 0, 128, 0, 255, 0, 255, 0, 0, 255, 0, 10, 20, 30, 40]
        try Self.writePNG(rgba, width: 2, height: 2, channels: 4, to: classDir.appendingPathComponent("a.png").path)
        let rgb = Self.bytes(try Self.load(dir.path, Self.layout(2, 2, 3)).train)
        #expect(rgb == [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
        let grey = Self.bytes(try Self.load(dir.path, Self.layout(2, 2, 1)).train)
        let luma = { (r: UInt32, g: UInt32, b: UInt32) in UInt8((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16) }
        #expect(grey == [luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(10, 20, 30)])
        #expect(grey == [76, 150, 29, 18], "PIL's convert('L') of these pixels")
        let greyDir = try F.folder("png-grey-to-rgb")
        let greyClass = greyDir.appendingPathComponent("g")
        try FileManager.default.createDirectory(at: greyClass, withIntermediateDirectories: true)
        try Self.writePNG([7, 99], width: 2, height: 1, channels: 1, to: greyClass.appendingPathComponent("g.png").path)
        #expect(Self.bytes(try Self.load(greyDir.path, Self.layout(1, 2, 3)).train) == [7, 7, 7, 99, 99, 99])
    }

    @Test("bad PNG data is one error naming the file")
    func errors() throws {
        let dir = try F.folder("png-errors")
        let cats = dir.appendingPathComponent("cat")
        try FileManager.default.createDirectory(at: cats, withIntermediateDirectories: true)
        let wrongSize = cats.appendingPathComponent("big.png").path
        try Self.writePNG([UInt8](repeating: 1, count: 30), width: 5, height: 6, channels: 1, to: wrongSize)
        func message(_ path: String, _ layout: SampleLayout, _ more: [String] = []) -> String? {
            F.errorMessage { _ = try Self.load(path, layout, more) }
        }
        #expect(message(dir.path, Self.layout(4, 4, 1)) == "\(wrongSize): image is 5x6 but the network expects "
                + "4x4; resize it first (cnnc never resizes)")
        try FileManager.default.removeItem(atPath: wrongSize)
        let corrupt = try F.write(Array("\u{89}PNG\r\n\u{1a}\n garbage that is not a PNG".utf8), "bad.png", in: cats)
        #expect(message(dir.path, Self.layout(4, 4, 1))?.hasPrefix("\(corrupt): not a readable PNG image (libpng: ")
                == true)
        try FileManager.default.removeItem(atPath: corrupt)
        try Self.writePNG([UInt8](repeating: 1, count: 16), width: 4, height: 4, channels: 1,
                          to: cats.appendingPathComponent("ok.png").path)
        for name in ["dog", "eel"] {
            let other = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
            try Self.writePNG([UInt8](repeating: 2, count: 16), width: 4, height: 4, channels: 1,
                              to: other.appendingPathComponent("x.png").path)
        }
        #expect(message(dir.path, Self.layout(4, 4, 1, classes: 2))
                == "\(dir.path): 3 class folders but the network pngnet predicts 2 classes")
        let test = try F.folder("png-errors-test")
        let ox = test.appendingPathComponent("ox")
        try FileManager.default.createDirectory(at: ox, withIntermediateDirectories: true)
        try Self.writePNG([UInt8](repeating: 3, count: 16), width: 4, height: 4, channels: 1,
                          to: ox.appendingPathComponent("o.png").path)
        #expect(message(dir.path, Self.layout(4, 4, 1), ["--test-data", test.path])
                == "\(test.path): class folder 'ox' is not one of the training classes cat, dog, eel")
    }
}
