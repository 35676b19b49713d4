// CIFAR-10's binary format: records of one label byte and 3072 image bytes, the 32x32 image's red plane, then its
// green and blue planes (C,H,W). A data set is a folder holding data_batch_1.bin ... data_batch_5.bin (training,
// in that order) and test_batch.bin, or a single .bin file; each may be gzip-compressed (.bin.gz). Records are
// read one at a time, so a file never costs more memory than the samples it really holds, and a file that ends
// inside a record is an error. Images are stored H,W,C, as the network reads them.
import Foundation

enum CIFARNames {
    static let train = (1...5).map { "data_batch_\($0).bin" }
    static let test = "test_batch.bin"
    /// Bytes of one record: the label, then 3 x 32 x 32 image bytes.
    static let recordBytes = 1 + 3 * 32 * 32
}

/// Whether `folder` holds CIFAR-10 binary batches (rather than IDX files).
func isCIFARFolder(_ folder: String) -> Bool {
    (CIFARNames.train + [CIFARNames.test]).contains { findIDXFile(folder, $0) != nil }
}

/// Whether `path` names a CIFAR-10 batch file (`.bin` or `.bin.gz`).
func isCIFARFile(_ path: String) -> Bool { path.hasSuffix(".bin") || path.hasSuffix(".bin.gz") }

/// The files of a CIFAR-10 folder: the training batches that exist (data_batch_1 must), or test_batch.bin.
func cifarFiles(_ folder: String, test: Bool) throws -> [String] {
    if test {
        guard let file = findIDXFile(folder, CIFARNames.test) else {
            throw RuntimeError("\(folder): missing \(CIFARNames.test) (or \(CIFARNames.test).gz)")
        }
        return [file]
    }
    let files = CIFARNames.train.compactMap { findIDXFile(folder, $0) }
    guard findIDXFile(folder, CIFARNames.train[0]) != nil else {
        throw RuntimeError("\(folder): missing \(CIFARNames.train[0]) (or \(CIFARNames.train[0]).gz)")
    }
    return files
}

/// Reads CIFAR-10 records from `paths`, in order, up to `limit` samples, checked against the network's `layout`
/// (32x32x3 input, at least as many classes as the labels use). The images may take `budget` bytes.
func readCIFAR(_ paths: [String], layout: SampleLayout, limit: Int?, budget: Int) throws -> Dataset {
    guard layout.height == 32, layout.width == 32, layout.channels == 3 else {
        throw RuntimeError("\(paths.first ?? "CIFAR-10"): CIFAR-10 images are 32x32x3 (3072 values) but the network "
            + "\(layout.network) expects \(layout.inputDescription)")
    }
    let plane = 32 * 32, imageBytes = CIFARNames.recordBytes - 1
    var values: [UInt8] = [], labels: [Int32] = []
    let wanted = limit ?? Int.max
    files: for path in paths {
        let source = try DataSource(path: path)
        var index = 0
        while labels.count < wanted {
            let (record, complete) = try source.readExactly(CIFARNames.recordBytes)
            if record.isEmpty { break }  // the file ends between records
            guard complete else {
                throw RuntimeError("\(path): truncated: record \(index) has \(record.count) of its "
                    + "\(CIFARNames.recordBytes) bytes (1 label byte and 3072 image bytes)")
            }
            let label = Int(record[0])
            guard label < layout.classes else {
                throw RuntimeError("\(path): label \(label) of record \(index) is outside 0..<\(layout.classes)")
            }
            try checkMemory(need: saturatingProduct(labels.count + 1, imageBytes), available: budget,
                            what: "\(path): \(labels.count + 1) CIFAR-10 images", hint: "use fewer with --limit")
            for y in 0..<32 {
                for x in 0..<32 {
                    for c in 0..<3 { values.append(record[1 + c * plane + y * 32 + x]) }
                }
            }
            labels.append(Int32(label))
            index += 1
        }
        if labels.count >= wanted { break files }
    }
    guard !labels.isEmpty else { throw RuntimeError("\(paths.first ?? "CIFAR-10"): empty data set (0 records)") }
    return Dataset(source: paths[0], sampleSize: layout.sampleSize, storage: .bytes(values), labels: labels)
}
