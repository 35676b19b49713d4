// A data set as a folder of class subfolders of PNG images: the classes are the subfolder names in sorted
// (byte) order, labelled 0, 1, ...; each image is decoded by the system libpng (simplified API: errors are
// returned, never longjmp'd) to 8-bit RGBA and converted to the network's channels: grey is PIL's
// convert("L") luma, (R*19595 + G*38470 + B*7471 + 32768) >> 16, which keeps a grey image's values; RGB drops the
// alpha (PIL's convert("RGB")); 2 and 4 channels keep it. An image of another size is an error naming the file,
// never resized. Samples are ordered round-robin across the classes (files by name within a class), so --limit
// and --test-split take every class.
import CPNG
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether `name` is a PNG image's file name (not hidden).
func isPNGName(_ name: String) -> Bool { !name.hasPrefix(".") && name.lowercased().hasSuffix(".png") }

/// The visible subfolders of `folder`, sorted by name.
private func classFolders(_ folder: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter { !$0.hasPrefix(".") && isDirectory((folder as NSString).appendingPathComponent($0)) }
        .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
}

/// The PNG files of one class folder, sorted by name.
private func pngFiles(_ folder: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter(isPNGName).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        .map { (folder as NSString).appendingPathComponent($0) }
}

/// Whether `folder` is a PNG class folder: some subfolder holds a PNG image.
func isPNGClassFolder(_ folder: String) -> Bool {
    classFolders(folder).contains { !pngFiles((folder as NSString).appendingPathComponent($0)).isEmpty }
}

/// Every PNG image of a class folder (none when `folder` is not one), for the check that no output overwrites one.
func pngClassFolderImages(_ folder: String) -> [String] {
    classFolders(folder).flatMap { pngFiles((folder as NSString).appendingPathComponent($0)) }
}

/// The bytes of the regular file at `path`, at most `limit` of them (more is an error).
func readBoundedFile(_ path: String, limit: Int) throws -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else { throw RuntimeError("\(path): no such file") }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw RuntimeError("\(path): not a regular file") }
    guard Int(info.st_size) <= limit else {
        throw RuntimeError("\(path): \(info.st_size) bytes, more than the \(limit) an image of the network's "
            + "input size may take")
    }
    let (fd, _) = try openForReading(path)
    defer { close(fd) }
    let capacity = Int(info.st_size) + 1  // one more byte tells a file that grew since stat
    var bytes = [UInt8](repeating: 0, count: capacity)
    var got = 0
    while got < capacity {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, capacity - got) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw RuntimeError("\(path): cannot read: \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        got += n
    }
    guard got < capacity else { throw RuntimeError("\(path): grew while it was read") }
    return Array(bytes[0..<got])
}

/// Decodes the PNG `bytes` (from `path`) to 8-bit RGBA, which must be `width` x `height`.
func decodePNG(_ bytes: [UInt8], path: String, width: Int, height: Int) throws -> [UInt8] {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    func message() -> String {
        withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
    let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
    guard begun != 0 else { throw RuntimeError("\(path): not a readable PNG image (libpng: \(message()))") }
    guard Int(image.width) == width, Int(image.height) == height else {
        let size = "\(image.width)x\(image.height)"
        png_image_free(&image)
        throw RuntimeError("\(path): image is \(size) but the network expects \(width)x\(height); resize it "
            + "first (cnnc never resizes)")
    }
    image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
    var rgba = [UInt8](repeating: 0, count: width * height * 4)
    let finished = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard finished != 0 else {
        let text = message()
        png_image_free(&image)
        throw RuntimeError("\(path): corrupt PNG image (libpng: \(text))")
    }
    return rgba
}

/// The largest image file of the network's input size the readers accept: a PNG is at most about its raw RGBA
/// size (stored blocks) plus chunks, a plain PGM at most 4 bytes a pixel plus comments; allow twice that.
func imageFileLimit(_ layout: SampleLayout) -> Int {
    min(saturatingProduct(layout.height, layout.width, 8), Int.max - (1 << 20)) + (1 << 20)
}

/// One image's RGBA pixels as `channels` values per pixel, appended to `out`.
func appendPixels(_ rgba: [UInt8], channels: Int, to out: inout [UInt8]) {
    let pixels = rgba.count / 4
    for p in 0..<pixels {
        let r = UInt32(rgba[4 * p]), g = UInt32(rgba[4 * p + 1]), b = UInt32(rgba[4 * p + 2]), a = rgba[4 * p + 3]
        let luma = UInt8((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16)
        switch channels {
        case 1: out.append(luma)
        case 2: out.append(luma); out.append(a)
        case 3: out.append(UInt8(r)); out.append(UInt8(g)); out.append(UInt8(b))
        default: out.append(UInt8(r)); out.append(UInt8(g)); out.append(UInt8(b)); out.append(a)
        }
    }
}

/// The class names of a PNG training folder (its subfolders that hold PNG images), checked against the network.
func pngClasses(_ folder: String, layout: SampleLayout) throws -> [String] {
    let classes = classFolders(folder).filter { !pngFiles((folder as NSString).appendingPathComponent($0)).isEmpty }
    guard !classes.isEmpty else { throw RuntimeError("\(folder): no class subfolder holds a .png image") }
    guard classes.count <= layout.classes else {
        throw RuntimeError("\(folder): \(classes.count) class folders but the network \(layout.network) predicts "
            + "\(layout.classes) classes")
    }
    return classes
}

/// The images of a class folder in sample order, each with its label (its class's position in `classes`): round
/// robin across the classes, files by name within a class.
func pngSampleOrder(_ folder: String, classes: [String]) -> [(file: String, label: Int)] {
    let lists = classes.map { pngFiles((folder as NSString).appendingPathComponent($0)) }
    var order: [(file: String, label: Int)] = []
    for round in 0..<(lists.map(\.count).max() ?? 0) {
        for (label, files) in lists.enumerated() where round < files.count { order.append((files[round], label)) }
    }
    return order
}

/// Reads a PNG class folder with the training set's `classes` (a test folder may lack some, not add any), at most
/// `limit` images, taking at most `budget` bytes.
func readPNGFolder(_ folder: String, classes: [String], layout: SampleLayout, limit: Int?,
                   budget: Int) throws -> Dataset {
    guard (1...4).contains(layout.channels) else {
        throw RuntimeError("\(folder): PNG images have 1 to 4 channels but the network \(layout.network) expects "
            + "\(layout.inputDescription)")
    }
    let present = classFolders(folder).filter { !pngFiles((folder as NSString).appendingPathComponent($0)).isEmpty }
    if let stranger = present.first(where: { !classes.contains($0) }) {
        throw RuntimeError("\(folder): class folder '\(stranger)' is not one of the training classes "
            + classes.joined(separator: ", "))
    }
    let order = pngSampleOrder(folder, classes: classes)
    guard !order.isEmpty else { throw RuntimeError("\(folder): no .png images") }
    let count = min(order.count, limit ?? Int.max)
    try checkMemory(need: saturatingProduct(count, layout.sampleSize), available: budget,
                    what: "\(folder): \(count) images of \(layout.inputDescription)", hint: "use fewer with --limit")
    let fileLimit = imageFileLimit(layout)
    var values: [UInt8] = []
    values.reserveCapacity(count * layout.sampleSize)
    var labels: [Int32] = []
    for (file, label) in order.prefix(count) {
        let rgba = try decodePNG(try readBoundedFile(file, limit: fileLimit), path: file, width: layout.width,
                                 height: layout.height)
        appendPixels(rgba, channels: layout.channels, to: &values)
        labels.append(Int32(label))
    }
    return Dataset(source: folder, sampleSize: layout.sampleSize, storage: .bytes(values), labels: labels)
}
