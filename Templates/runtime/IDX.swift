// MNIST-style IDX files: big-endian header (0, 0, type, dimension count, then one UInt32 per dimension) followed
// by the values. Images are unsigned bytes [N, H, W] or [N, H, W, C]; labels unsigned bytes [N].
import Foundation

/// A parsed IDX header: the dimensions and where the values start.
struct IDXHeader {
    let dims: [Int]
    let dataOffset: Int
}

/// Parses and checks the header of `bytes` (from `path`), which must hold unsigned bytes with one of
/// `dimensionCounts` dimensions, and exactly as many values as the header declares.
func parseIDXHeader(_ bytes: [UInt8], path: String, what: String, dimensionCounts: [Int]) throws -> IDXHeader {
    guard bytes.count >= 4 else {
        throw RuntimeError("\(path): too short for an IDX file (\(bytes.count) bytes)")
    }
    let magic = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    let expected = dimensionCounts.map { String(format: "0x%08X", 0x0800 | $0) }.joined(separator: " or ")
    let rank = Int(bytes[3])
    guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, dimensionCounts.contains(rank) else {
        throw RuntimeError("\(path): wrong IDX magic number \(String(format: "0x%08X", magic)), expected \(expected) "
            + "(unsigned-byte \(what))")
    }
    let dataOffset = 4 + 4 * rank
    guard bytes.count >= dataOffset else {
        throw RuntimeError("\(path): truncated IDX header (\(bytes.count) bytes, the header needs \(dataOffset))")
    }
    var dims: [Int] = []
    var total = 1
    var overflow = false
    for d in 0..<rank {
        let at = 4 + 4 * d
        let size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        dims.append(size)
        let (product, over) = total.multipliedReportingOverflow(by: size)
        total = product
        overflow = overflow || over
    }
    let available = bytes.count - dataOffset
    let shape = dims.map(String.init).joined(separator: "x")
    if overflow || total > available {
        throw RuntimeError("\(path): truncated: the header declares \(shape) \(what) "
            + (overflow ? "(too many bytes)" : "(\(total) bytes)") + " but the file holds \(available) bytes of data")
    }
    if total < available {
        throw RuntimeError("\(path): corrupt: \(available - total) unexpected bytes after the \(shape) \(what)")
    }
    return IDXHeader(dims: dims, dataOffset: dataOffset)
}

/// Loads an images file and its labels file, checking them against the network's input and classes.
func loadIDXPair(images imagePath: String, labels labelPath: String) throws -> Dataset {
    let imageBytes = try readDataFile(imagePath)
    let imageHeader = try parseIDXHeader(imageBytes, path: imagePath, what: "images", dimensionCounts: [3, 4])
    let count = imageHeader.dims[0]
    let perImage = Array(imageHeader.dims.dropFirst())
    let h = NetInfo.inputH, w = NetInfo.inputW, c = NetInfo.inputC
    let matches = perImage == [h, w, c] || (c == 1 && perImage == [h, w])
    guard matches else {
        let size = perImage.reduce(1, *)
        throw RuntimeError("\(imagePath): images are \(perImage.map(String.init).joined(separator: "x")) (\(size) values) "
            + "but the network \(NetInfo.name) expects \(networkInputDescription)")
    }
    guard count > 0 else { throw RuntimeError("\(imagePath): empty data set (0 images)") }

    let labelBytes = try readDataFile(labelPath)
    let labelHeader = try parseIDXHeader(labelBytes, path: labelPath, what: "labels", dimensionCounts: [1])
    guard labelHeader.dims[0] == count else {
        throw RuntimeError("\(labelPath): \(labelHeader.dims[0]) labels but \(imagePath) has \(count) images")
    }
    var labels = [Int32](repeating: 0, count: count)
    let classes = NetInfo.classes
    for i in 0..<count {
        let label = Int(labelBytes[labelHeader.dataOffset + i])
        guard label < classes else {
            throw RuntimeError("\(labelPath): label \(label) at index \(i) is outside 0..<\(classes)")
        }
        labels[i] = Int32(label)
    }
    let values = Array(imageBytes[imageHeader.dataOffset...])
    return Dataset(source: imagePath, sampleSize: h * w * c, storage: .bytes(values), labels: labels)
}
