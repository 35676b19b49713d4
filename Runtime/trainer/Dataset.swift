// In-memory data sets and how they are found: an MNIST-style IDX folder, a CIFAR-10 binary folder or file
// (CIFAR.swift) or a CSV file, with an optional separate test set, a held-out split, and a limit. Samples are gathered into the network's staging buffer per batch.
import Foundation

/// Sample values as read: bytes (IDX) are converted to floats only when a batch is gathered.
enum SampleStorage {
    case bytes([UInt8])
    case floats([Float])
}

/// `count` samples of `sampleSize` raw values each (H,W,C order), with labels in 0..<classes.
struct Dataset {
    let source: String
    let sampleSize: Int
    var storage: SampleStorage
    var labels: [Int32]

    var count: Int { labels.count }

    /// The samples `range` (in file order) as a new data set.
    func slice(_ range: Range<Int>) -> Dataset {
        let values = range.lowerBound * sampleSize..<range.upperBound * sampleSize
        let part: SampleStorage
        switch storage {
        case .bytes(let b): part = .bytes(Array(b[values]))
        case .floats(let f): part = .floats(Array(f[values]))
        }
        return Dataset(source: source, sampleSize: sampleSize, storage: part, labels: Array(labels[range]))
    }

    /// Copies the samples `indices` (positions in this data set) into `images` and `labelsOut`, back to back;
    /// with `placed`, slot i's sample is placed as `placed.placements[i]` in the same pass (augmentation).
    func gather(_ indices: UnsafeBufferPointer<Int32>, images: UnsafeMutablePointer<Float>,
                labels labelsOut: UnsafeMutablePointer<Int32>, placed: PlacedBatch? = nil) {
        let size = sampleSize
        labels.withUnsafeBufferPointer { all in
            for (slot, index) in indices.enumerated() { labelsOut[slot] = all[Int(index)] }
        }
        switch storage {
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { all in
                for (slot, index) in indices.enumerated() {
                    let from = all.baseAddress! + Int(index) * size
                    let to = images + slot * size
                    if let placed, !placed.placement(slot).isIdentity {
                        placed.placement(slot).copy(from: from, to: to, height: placed.height, width: placed.width,
                                                     channels: placed.channels) { Float($0) }
                    } else {
                        for i in 0..<size { to[i] = Float(from[i]) }
                    }
                }
            }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { all in
                for (slot, index) in indices.enumerated() {
                    let from = all.baseAddress! + Int(index) * size
                    let to = images + slot * size
                    if let placed, !placed.placement(slot).isIdentity {
                        placed.placement(slot).copy(from: from, to: to, height: placed.height, width: placed.width,
                                                     channels: placed.channels) { $0 }
                    } else {
                        to.update(from: from, count: size)
                    }
                }
            }
        }
    }
}

/// A batch's augmentation as Dataset.gather applies it: slot i's placement is `placements[first + i]` (`first`: where
/// this rank's share starts in the whole batch's draws), samples of h x w x c values.
struct PlacedBatch {
    let placements: [Placement]
    var first = 0
    let height: Int, width: Int, channels: Int

    func placement(_ slot: Int) -> Placement { placements[first + slot] }
}

/// The training set and the optional test set.
struct DataSets {
    var train: Dataset
    var test: Dataset?
}

/// The standard file names of an MNIST-style folder.
enum IDXNames {
    static let trainImages = "train-images-idx3-ubyte"
    static let trainLabels = "train-labels-idx1-ubyte"
    static let testImages = "t10k-images-idx3-ubyte"
    static let testLabels = "t10k-labels-idx1-ubyte"
}

func isDirectory(_ path: String) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
}

/// `folder/name` or `folder/name.gz`, whichever exists (nil when neither does).
func findIDXFile(_ folder: String, _ name: String) -> String? {
    let plain = (folder as NSString).appendingPathComponent(name)
    if FileManager.default.fileExists(atPath: plain) { return plain }
    if FileManager.default.fileExists(atPath: plain + ".gz") { return plain + ".gz" }
    return nil
}

/// The files the data options name (for the check that no output overwrites one).
func inputFiles(_ options: Options) -> [NamedPath] {
    var files: [NamedPath] = []
    for (option, path) in [("--data", options.dataPath), ("--test-data", options.testDataPath)] {
        guard let path else { continue }
        if isDirectory(path) {
            let names = [IDXNames.trainImages, IDXNames.trainLabels, IDXNames.testImages, IDXNames.testLabels]
                + CIFARNames.train + [CIFARNames.test]
            for name in names {
                if let file = findIDXFile(path, name) { files.append(NamedPath(option: option, path: file)) }
            }
            for image in pngClassFolderImages(path) { files.append(NamedPath(option: option, path: image)) }
        } else {
            files.append(NamedPath(option: option, path: path))
        }
    }
    if let load = options.loadPath { files.append(NamedPath(option: "--load", path: load)) }
    return files
}

/// A CSV data set (at most `limit` rows), checked against the network's `layout`.
func loadCSV(_ path: String, layout: SampleLayout, limit: Int?, budget: Int) throws -> Dataset {
    let (values, labels) = try readCSV(path, layout: layout, limit: limit, budget: budget)
    return Dataset(source: path, sampleSize: layout.sampleSize, storage: .floats(values), labels: labels)
}

/// Loads the training set (and, unless `trainOnly`, the test set) as the options ask, each checked against the
/// network's `layout`. The data may take
/// `budget` bytes of memory; only as many training samples as --limit asks for are read (all of them with
/// --test-split, which holds out the end of the file).
func loadDataSets(_ options: Options, layout: SampleLayout, trainOnly: Bool, budget: Int) throws -> DataSets {
    guard let dataPath = options.dataPath else { throw RuntimeError("no training data: give --data PATH (see --help)") }
    guard FileManager.default.fileExists(atPath: dataPath) else { throw RuntimeError("\(dataPath): no such file or folder") }

    var train: Dataset
    var test: Dataset? = nil
    let folder = isDirectory(dataPath)
    let readLimit = options.testSplit == nil ? options.limit : nil
    let cifar = folder ? isCIFARFolder(dataPath) : isCIFARFile(dataPath)
    let png = folder && !cifar && isPNGClassFolder(dataPath)
    var classes: [String] = []
    if png {
        classes = try pngClasses(dataPath, layout: layout)
        let names = classes.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", ")
        Console.out("classes of \(dataPath): \(names)\n")
        train = try readPNGFolder(dataPath, classes: classes, layout: layout, limit: readLimit, budget: budget)
    } else if cifar {
        let files = folder ? try cifarFiles(dataPath, test: false) : [dataPath]
        train = try readCIFAR(files, layout: layout, limit: readLimit, budget: budget)
    } else if folder {
        train = try loadIDXFolder(dataPath, layout: layout, test: false, limit: readLimit, budget: budget)
    } else {
        train = try loadCSV(dataPath, layout: layout, limit: readLimit, budget: budget)
    }
    let left = Swift.max(0, budget - saturatingProduct(train.count, train.sampleSize, folder || cifar ? 1 : 4))  // IDX, CIFAR, PNG: bytes

    if let fraction = options.testSplit {
        let held = Int((Double(train.count) * fraction).rounded())
        guard held >= 1, held < train.count else {
            throw RuntimeError("--test-split \(fraction): \(dataPath) has \(train.count) samples, which leaves "
                + "\(train.count - held) for training and \(held) for testing; both must be at least 1")
        }
        if !trainOnly { test = train.slice(train.count - held..<train.count) }
        train = train.slice(0..<train.count - held)
    } else if !trainOnly {
        if let testPath = options.testDataPath {
            guard FileManager.default.fileExists(atPath: testPath) else {
                throw RuntimeError("\(testPath): no such file or folder")
            }
            if png {
                guard isDirectory(testPath) else {
                    throw RuntimeError("--test-data \(testPath): training data is a PNG class folder, so the test set "
                        + "must be one too")
                }
                test = try readPNGFolder(testPath, classes: classes, layout: layout, limit: nil, budget: left)
            } else if isDirectory(testPath) && isCIFARFolder(testPath) {
                let tests = findIDXFile(testPath, CIFARNames.test) != nil
                test = try readCIFAR(try cifarFiles(testPath, test: tests), layout: layout, limit: nil, budget: left)
            } else if isCIFARFile(testPath) {
                test = try readCIFAR([testPath], layout: layout, limit: nil, budget: left)
            } else {
                test = isDirectory(testPath)
                    ? try loadIDXFolder(testPath, layout: layout, test: true, fallBackToTrain: true, budget: left)
                    : try loadCSV(testPath, layout: layout, limit: nil, budget: left)
            }
        } else if cifar && folder {
            if findIDXFile(dataPath, CIFARNames.test) != nil {
                test = try readCIFAR(try cifarFiles(dataPath, test: true), layout: layout, limit: nil, budget: left)
            }
        } else if folder {
            let images = findIDXFile(dataPath, IDXNames.testImages), labels = findIDXFile(dataPath, IDXNames.testLabels)
            if images != nil || labels != nil { test = try loadIDXFolder(dataPath, layout: layout, test: true, budget: left) }
        }
    }

    if let limit = options.limit, limit < train.count {
        train = train.slice(0..<limit)
    }
    return DataSets(train: train, test: test)
}

/// The training (`test == false`) or test pair of IDX files in `folder`. A folder given as a separate test set
/// (`--test-data`) that holds only `train-*` files is read from those.
func loadIDXFolder(_ folder: String, layout: SampleLayout, test: Bool, fallBackToTrain: Bool = false, limit: Int? = nil,
                   budget: Int) throws -> Dataset {
    var test = test
    if test && fallBackToTrain && findIDXFile(folder, IDXNames.testImages) == nil
        && findIDXFile(folder, IDXNames.testLabels) == nil && findIDXFile(folder, IDXNames.trainImages) != nil {
        test = false
    }
    let imageName = test ? IDXNames.testImages : IDXNames.trainImages
    let labelName = test ? IDXNames.testLabels : IDXNames.trainLabels
    guard let imagePath = findIDXFile(folder, imageName) else {
        throw RuntimeError("\(folder): missing \(imageName) (or \(imageName).gz)")
    }
    guard let labelPath = findIDXFile(folder, labelName) else {
        throw RuntimeError("\(folder): missing \(labelName) (or \(labelName).gz)")
    }
    let (values, labels) = try readIDXPair(images: imagePath, labels: labelPath, layout: layout, limit: limit,
                                           budget: budget)
    return Dataset(source: imagePath, sampleSize: layout.sampleSize, storage: .bytes(values), labels: labels)
}
