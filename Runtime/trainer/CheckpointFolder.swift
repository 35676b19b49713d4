// --checkpoint-dir DIR: after every complete epoch the trainer writes, each file atomically (SafeWrite.swift),
//   DIR/last.optim.safetensors  the network's training state (TrainableNetwork.trainingState: the optimizer's
//                               moment1 and moment2 as flat F32 tensors over the trainable parameters; the counters, such as dropout's mask step, as
//                               metadata `counter.NAME`),
//   DIR/last.safetensors        the weights and buffers, as --save writes them (loadable by --load and PyTorch),
//   DIR/best.safetensors        the same, when the test accuracy is the best so far,
//   DIR/last.json               LAST: the epoch and step, the shuffler's position, the settings that fix the
//                               run's course and the metrics so far (ResumePoint, Resume.swift).
// All four are written and synced under temporary names first, then renamed in that order. Each safetensors file
// carries the step it was written at in its metadata, and last.json names that step: a kill between two renames
// (a window of microseconds) leaves files of different steps, which --resume refuses rather than mixing them.
// Only files this trainer wrote are replaced (their metadata or format says so), and only the temporary files a
// killed trainer left are removed (by their name, which PreparedFile makes); nothing else in DIR is touched.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct CheckpointFolder {
    static let weightsName = "last.safetensors"
    static let optimizerName = "last.optim.safetensors"
    static let bestName = "best.safetensors"
    static let stateName = "last.json"
    /// The metadata key that marks a safetensors file as this trainer's checkpoint; its value says which one.
    static let markerKey = "cnnc_checkpoint"
    /// last.json's `format`.
    static let format = "cnnc-checkpoint"
    /// last.json is read whole; it holds a line of metrics per epoch, far below this.
    static let largestStateBytes = 1 << 28

    let path: String

    func file(_ name: String) -> String { path.hasSuffix("/") ? path + name : path + "/" + name }

    /// The four files, in the order they are written.
    var files: [String] { [Self.optimizerName, Self.weightsName, Self.bestName, Self.stateName].map(file) }

    /// Checks the folder before anything is read: a folder, or a missing one whose parent is writable; each of
    /// the four files missing or a regular file this trainer wrote; and, unless this run resumes from it, no
    /// last.json (another run's checkpoint, which a fresh run would overwrite).
    func plan(resumingHere: Bool) throws {
        let option = "--checkpoint-dir \(path)"
        var info = stat()
        guard stat(path, &info) == 0 else {
            let parent = splitPath(path).folder
            guard isDirectory(parent) else { throw RuntimeError("\(option): folder \(parent) does not exist") }
            guard access(parent, W_OK) == 0 else { throw RuntimeError("\(option): folder \(parent) is not writable") }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw RuntimeError("\(option): is not a folder") }
        guard access(path, W_OK) == 0 else { throw RuntimeError("\(option): is not writable") }
        for file in files {
            guard lstat(file, &info) == 0 else { continue }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw RuntimeError("\(option): \(file) is not a regular file; refusing to replace it")
            }
            guard Self.isOurs(file) else {
                throw RuntimeError("\(option): \(file) was not written by a cnnc trainer; refusing to replace it "
                    + "(move it away or choose another folder)")
            }
        }
        try removeStaleTemporaries()
        if !resumingHere && lstat(file(Self.stateName), &info) == 0 {
            throw RuntimeError("\(option): already holds a checkpoint; continue it with --resume \(path), "
                + "or choose another folder")
        }
    }

    /// Removes the temporary files a killed trainer left while writing a checkpoint (PreparedFile's names: a dot,
    /// one of the four names, a dot, 1 to 16 hex digits, `.tmp`; regular files only). Nothing else is touched.
    func removeStaleTemporaries() throws {
        let names = Set([Self.optimizerName, Self.weightsName, Self.bestName, Self.stateName])
        let hex = Set("0123456789abcdef")
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            guard entry.hasPrefix("."), entry.hasSuffix(".tmp") else { continue }
            let middle = entry.dropFirst().dropLast(4)
            guard let dot = middle.lastIndex(of: "."), names.contains(String(middle[..<dot])) else { continue }
            let random = middle[middle.index(after: dot)...]
            guard (1...16).contains(random.count), random.allSatisfy(hex.contains) else { continue }
            var info = stat()
            guard lstat(file(entry), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(file(entry)) != 0 && errno != ENOENT {
                throw RuntimeError("--checkpoint-dir \(path): cannot remove the stale \(entry): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Whether `file` is a checkpoint file of this trainer: a safetensors file with the marker in its metadata,
    /// or a last.json of the checkpoint format.
    static func isOurs(_ file: String) -> Bool {
        if file.hasSuffix(".json") {
            guard let text = try? readStateFile(file), let json = try? parseJSON(text[...]),
                  case .string(let format)? = json["format"] else { return false }
            return format == Self.format
        }
        guard let reader = try? SafetensorsReader(path: file) else { return false }
        return reader.metadata[markerKey] != nil
    }

    /// The bytes of a last.json, bounded.
    static func readStateFile(_ file: String) throws -> [UInt8] {
        let (fd, info) = try openForReading(file)
        defer { close(fd) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw RuntimeError("\(file): not a regular file") }
        let size = Int(info.st_size)
        guard size <= largestStateBytes else {
            throw RuntimeError("\(file): \(size) bytes, more than a checkpoint's state holds (\(largestStateBytes))")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, size - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RuntimeError("\(file): cannot read it whole (the file changed?)") }
            got += n
        }
        return bytes
    }

    /// Writes the checkpoint of `point` (see the top of this file for the order), creating the folder if missing.
    func write<N: TrainableNetwork>(_ network: N, _ point: ResumePoint, best: Bool) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw RuntimeError("--checkpoint-dir \(path): cannot create it: \(String(cString: strerror(errno)))")
        }
        let info = N.info
        let stamp = [("step", String(point.steps)), ("epoch", String(point.epoch))]
        let state = network.trainingState()
        let arrays = state.arrays.map { NamedTensor(name: $0.name, shape: [info.trainableCount], values: $0.values) }
        let counters = state.counters.map { ("counter." + $0.name, String($0.value)) }
        network.synchronizeParameters()
        let weights = parameterTensors(network.parameters, info)
        func metadata(_ marker: String) -> [(String, String)] { checkpointMetadata(info) + [(Self.markerKey, marker)] + stamp }
        // All written and synced first, then renamed in a row, last.json last.
        var files = [try PreparedFile(safetensorsBytes(arrays, metadata: metadata("optimizer") + counters),
                                      for: file(Self.optimizerName)),
                     try PreparedFile(safetensorsBytes(weights, metadata: metadata("last")), for: file(Self.weightsName))]
        if best { files.append(try PreparedFile(safetensorsBytes(weights, metadata: metadata("best")), for: file(Self.bestName))) }
        files.append(try PreparedFile(Array(point.json(info, stateNames: network.trainingStateNames).utf8),
                                      for: file(Self.stateName)))
        for file in files { try file.commit() }
    }
}
