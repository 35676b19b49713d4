// MNIST-style IDX files: big-endian header (0, 0, type, dimension count, then one UInt32 per dimension) followed
// by the values. Images are unsigned bytes [N, H, W] or [N, H, W, C]; labels unsigned bytes [N]. The header is
// read and checked first; then only the values it promises (or the first `limit` items) are read, so a file
// that is truncated, longer than its header says, or a decompression bomb is an error after a bounded read.
import Foundation

/// An IDX file as read: the dimensions its header declares and the bytes of the first `items` items.
struct IDXData {
    let dims: [Int]
    let items: Int
    let bytes: [UInt8]
    /// Bytes read from the file (compressed ones, for gzip data): what reading it cost.
    let fileBytesRead: Int
}

/// Reads the IDX file at `path`, which must hold unsigned bytes with one of `dimensionCounts` dimensions.
/// `check` sees the dimensions before any value is read (to refuse a wrong image size early). At most `limit`
/// items are read (all when nil); when all are, nothing may follow them. The values may take `budget` bytes.
func readIDX(_ path: String, what: String, dimensionCounts: [Int], limit: Int?, budget: Int,
             check: ([Int]) throws -> Void = { _ in }) throws -> IDXData {
    let source = try DataSource(path: path)
    let (magic, magicComplete) = try source.readExactly(4)
    guard magicComplete else { throw RuntimeError("\(path): too short for an IDX file (\(magic.count) bytes)") }
    let rank = Int(magic[3])
    guard magic[0] == 0, magic[1] == 0, magic[2] == 0x08, dimensionCounts.contains(rank) else {
        let found = magic.map { String(format: "%02X", $0) }.joined()
        let expected = dimensionCounts.map { String(format: "0x%08X", 0x0800 | $0) }.joined(separator: " or ")
        throw RuntimeError("\(path): wrong IDX magic number 0x\(found), expected \(expected) (unsigned-byte \(what))")
    }
    let (header, headerComplete) = try source.readExactly(4 * rank)
    guard headerComplete else {
        throw RuntimeError("\(path): truncated IDX header (\(4 + header.count) bytes, the header needs \(4 + 4 * rank))")
    }
    let dims = (0..<rank).map { d in
        header[4 * d..<4 * d + 4].reduce(0) { $0 << 8 | Int($1) }
    }
    let shape = dims.map(String.init).joined(separator: "x")
    let itemBytes = saturatingProduct(dims.dropFirst().reduce(1) { saturatingProduct($0, $1) })
    let totalBytes = saturatingProduct(dims[0], itemBytes)
    try check(dims)
    let items = Swift.min(dims[0], limit ?? Int.max)
    let wanted = saturatingProduct(items, itemBytes)
    try checkMemory(need: wanted, available: budget, what: "\(path): \(items) \(what) of \(shape)",
                    hint: "use fewer with --limit")
    let (values, complete) = try source.readExactly(wanted)
    guard complete else {
        throw RuntimeError("\(path): truncated: the header declares \(shape) \(what) (\(totalBytes) bytes) "
            + "but the file holds \(values.count) bytes of data")
    }
    if items == dims[0], try !source.atEnd() {
        throw RuntimeError("\(path): corrupt: unexpected bytes after the \(shape) \(what) its header declares")
    }
    return IDXData(dims: dims, items: items, bytes: values, fileBytesRead: source.fileBytesRead)
}

/// What a data set must look like to fit the network (passed in, so that the readers know nothing else of it).
struct SampleLayout {
    let height: Int, width: Int, channels: Int
    let classes: Int
    /// The network's name, for messages.
    let network: String

    var sampleSize: Int { height * width * channels }

    /// `28x28 (784 values)` or `32x32x3 (3072 values)`.
    var inputDescription: String {
        let dims = channels == 1 ? "\(height)x\(width)" : "\(height)x\(width)x\(channels)"
        return "\(dims) (\(sampleSize) values)"
    }
}

/// Reads an images file and its labels file (at most `limit` samples), checking them against `layout`.
func readIDXPair(images imagePath: String, labels labelPath: String, layout: SampleLayout, limit: Int?,
                 budget: Int) throws -> (values: [UInt8], labels: [Int32]) {
    let (h, w, c) = (layout.height, layout.width, layout.channels)
    let images = try readIDX(imagePath, what: "images", dimensionCounts: [3, 4], limit: limit, budget: budget) { dims in
        let perImage = Array(dims.dropFirst())
        guard perImage == [h, w, c] || (c == 1 && perImage == [h, w]) else {
            let size = saturatingProduct(perImage.reduce(1) { saturatingProduct($0, $1) })
            throw RuntimeError("\(imagePath): images are \(perImage.map(String.init).joined(separator: "x")) "
                + "(\(size) values) but the network \(layout.network) expects \(layout.inputDescription)")
        }
        guard dims[0] > 0 else { throw RuntimeError("\(imagePath): empty data set (0 images)") }
    }
    let count = images.dims[0]
    let labels = try readIDX(labelPath, what: "labels", dimensionCounts: [1], limit: limit, budget: budget) { dims in
        guard dims[0] == count else {
            throw RuntimeError("\(labelPath): \(dims[0]) labels but \(imagePath) has \(count) images")
        }
    }
    var result = [Int32](repeating: 0, count: images.items)
    for i in 0..<images.items {
        let label = Int(labels.bytes[i])
        guard label < layout.classes else {
            throw RuntimeError("\(labelPath): label \(label) at index \(i) is outside 0..<\(layout.classes)")
        }
        result[i] = Int32(label)
    }
    return (images.bytes, result)
}
