// Writing output files (checkpoints, metrics, gradient dumps) without harming anything else: every output is
// checked before training starts (a regular file or nothing, not a symlink unless --follow-symlinks, not the same
// file as an input or as another output), then written to a fresh, exclusively created temporary file next to it,
// synced, and renamed over it. A half-written file, a planted symlink or a user's own `X.tmp` is never involved.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's identity (device and inode): two paths name the same file exactly when their identities match.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}

/// The identity of the file at `path` (following symlinks), nil when there is none.
func fileIdentity(_ path: String) -> FileIdentity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
}

/// What kind of file `mode` describes, for messages: nil for a regular file.
private func nonRegularKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: return "a directory"
    case S_IFLNK: return "a symbolic link"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFIFO: return "a FIFO"
    case S_IFSOCK: return "a socket"
    default: return "not a regular file"
    }
}

/// The folder holding `path` ("." for a bare name) and its last component.
func splitPath(_ path: String) -> (folder: String, name: String) {
    let folder = (path as NSString).deletingLastPathComponent
    return (folder.isEmpty ? "." : folder, (path as NSString).lastPathComponent)
}

/// An output the trainer will write (`--save FILE`) or an input it reads (`--data FILE`), for the checks.
struct NamedPath {
    let option: String
    let path: String
}

/// Checks the outputs before anything is read: each is missing or a regular file (a symlink only with
/// `followSymlinks`, which writes to its final target instead), its folder exists and is writable, and no output
/// is the same file as an input or another output. Returns the paths to write, in order.
func planOutputs(_ outputs: [NamedPath], inputs: [NamedPath], followSymlinks: Bool) throws -> [String] {
    var inputIdentities: [(FileIdentity, NamedPath)] = []
    for input in inputs { if let id = fileIdentity(input.path) { inputIdentities.append((id, input)) } }
    var planned: [(key: String, output: NamedPath)] = []
    var resolved: [String] = []
    for output in outputs {
        var path = output.path
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
            guard followSymlinks else {
                throw RuntimeError("\(output.option) \(path): is a symbolic link; refusing to replace it "
                    + "(give --follow-symlinks to write to its target)")
            }
            guard let target = realpath(path, nil) else {
                throw RuntimeError("\(output.option) \(path): is a symbolic link to a missing file")
            }
            path = String(cString: target)
            free(target)
        }
        let exists = lstat(path, &info) == 0
        if exists, let kind = nonRegularKind(info.st_mode) {
            throw RuntimeError("\(output.option) \(path): is \(kind), not a regular file; refusing to replace it")
        }
        let (folder, name) = splitPath(path)
        var folderInfo = stat()
        guard stat(folder, &folderInfo) == 0, (folderInfo.st_mode & S_IFMT) == S_IFDIR else {
            throw RuntimeError("\(output.option) \(path): folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else {
            throw RuntimeError("\(output.option) \(path): folder \(folder) is not writable")
        }
        // An existing file is known by its inode; a new one by its folder's inode and its name.
        let key = exists ? "\(info.st_dev):\(info.st_ino)" : "\(folderInfo.st_dev):\(folderInfo.st_ino)/\(name)"
        let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        if exists, let input = inputIdentities.first(where: { $0.0 == identity })?.1 {
            throw RuntimeError("\(output.option) \(output.path): is the same file as \(input.option) \(input.path); "
                + "refusing to overwrite an input")
        }
        if let earlier = planned.first(where: { $0.key == key }) {
            throw RuntimeError("\(output.option) \(output.path) and \(earlier.output.option) \(earlier.output.path) "
                + "name the same file")
        }
        planned.append((key, output))
        resolved.append(path)
    }
    return resolved
}

/// Writes `data` to `path` atomically and exclusively: into a new temporary file with a random name in the same
/// folder (created with O_EXCL|O_NOFOLLOW, so nothing existing is opened), synced, then renamed over `path`, and
/// the folder synced. An existing `path` that is not a regular file (symlink, device, folder, FIFO) is refused.
func writeFileAtomically(_ data: [UInt8], to path: String) throws {
    try PreparedFile(data, for: path).commit()
}

/// A file written and synced under a temporary name next to `path`, waiting to be renamed over it: several files
/// that belong together (a checkpoint's) are all prepared first, then committed in a row, so that a kill leaves
/// them mixed only in the microseconds between the renames. Dropped uncommitted, the temporary file is removed.
final class PreparedFile {
    let path: String
    private var temporary: String?

    init(_ data: [UInt8], for path: String) throws {
        self.path = path
        try refuseNonRegular(path)
        let (folder, name) = splitPath(path)
        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            temporary = folder + "/." + String(name.prefix(200)) + "." + random + ".tmp"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw RuntimeError("\(path): cannot create a temporary file in \(folder): \(String(cString: strerror(errno)))")
        }
        var failure = data.withUnsafeBytes { writeAll(fd, $0) }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw RuntimeError("\(path): cannot write: \(String(cString: strerror(failure)))")
        }
        self.temporary = temporary
    }

    deinit { if let temporary { unlink(temporary) } }

    /// Renames the temporary file over `path` and syncs the folder.
    func commit() throws {
        guard let temporary else { return }
        self.temporary = nil
        do { try refuseNonRegular(path) } catch { unlink(temporary); throw error }  // changed while we wrote
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RuntimeError("\(path): cannot replace it: \(reason)")
        }
        let folderFD = open(splitPath(path).folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD >= 0 {  // make the rename durable; some file systems refuse to sync a folder, which is harmless
            _ = fsync(folderFD)
            close(folderFD)
        }
    }
}

/// Refuses to replace an existing `path` that is not a regular file.
private func refuseNonRegular(_ path: String) throws {
    var info = stat()
    if lstat(path, &info) == 0, let kind = nonRegularKind(info.st_mode) {
        throw RuntimeError("\(path): is \(kind), not a regular file; refusing to replace it")
    }
}
