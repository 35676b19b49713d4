import Foundation

/// Writes a generated package into a folder without ever losing what cnnc did not write there.
///
/// The folder's `.cnnc-manifest` lists the files cnnc generated with a hash of each. A recompile replaces a
/// listed file only while it still has that hash, removes listed files the network no longer generates, and
/// leaves everything else alone: checkpoints, metrics, `.build/`, any file of the user's. It refuses, naming
/// the file, when it would replace or remove a file the user changed, or replace a file it did not write
/// (`force` replaces those; it still never removes an edited file, which then simply stops being listed, and never
/// replaces a folder). A file that already has exactly the bytes cnnc would write is adopted as its own.
///
/// Each file is written into a new file created exclusively beside it, and renamed over it only once every
/// file of the package is written, so a failure (disk full, permission denied) changes nothing.
public enum PackageWriter {
    public static func write(_ package: GeneratedPackage, binaries: [String: [UInt8]] = [:], to directory: String,
                             force: Bool = false) throws {
        var files = package.files.mapValues { Array($0.utf8) }
        files.merge(binaries) { $1 }
        try Job(directory: directory, files: files, force: force).run()
    }

    /// One write of one package: what is there, what to do, and doing it.
    struct Job {
        let directory: String
        let files: [String: [UInt8]]
        let force: Bool

        func full(_ path: String) -> String { directory.hasSuffix("/") ? directory + path : directory + "/" + path }
        func fail(_ message: String) -> CompileError { CompileError("\(directory): error: \(message)") }

        func run() throws {
            let created = try prepareFolder()
            do {
                try writeAll()
            } catch {
                if created { FolderIO.removeIfEmpty(directory) }
                throw error
            }
        }

        /// The output folder: an existing folder, or a new one in an existing parent. Returns whether it made it.
        private func prepareFolder() throws -> Bool {
            if FolderIO.isFolder(directory) { return false }
            if FolderIO.exists(directory) { throw fail("exists and is not a folder") }
            let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
            let parent = (trimmed as NSString).deletingLastPathComponent
            if !parent.isEmpty {
                if !FolderIO.exists(parent) { throw fail("parent folder \(parent) does not exist") }
                if !FolderIO.isFolder(parent) { throw fail("\(parent) is not a folder") }
            }
            guard mkdir(directory, 0o755) == 0 else { throw fail(FolderIO.Failure("cannot create the folder").message) }
            return true
        }

        private func readManifest() throws -> Manifest? {
            let path = full(Manifest.fileName)
            switch FolderIO.kind(path) {
            case .missing: return nil
            case .file: break
            default: throw fail("\(Manifest.fileName) is not a file")
            }
            let bytes: [UInt8]
            do { bytes = try FolderIO.readAll(path, display: Manifest.fileName, limit: 1 << 24) } catch let e as FolderIO.Failure { throw fail(e.message) }
            guard let m = Manifest(text: String(decoding: bytes, as: UTF8.self)) else {
                throw fail("\(Manifest.fileName) is damaged; cnnc cannot tell its files from yours (remove it and use --force)")
            }
            return m
        }

        /// A file cnnc would write or remove but must not touch without `force`.
        struct Conflict { var path: String; var reason: String }

        private func writeAll() throws {
            let old = try readManifest()
            var conflicts: [Conflict] = []
            var toWrite: [String] = []
            var next = Manifest()
            for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
                guard Manifest.isSafeRelativePath(path) else { throw fail("internal error in cnnc: generated path \(path)") }
                next.add(path, bytes)
                if let blocked = blockingParent(path) { throw fail("\(blocked) is in the way of \(path) and is not a folder") }
                switch FolderIO.kind(full(path)) {
                case .missing:
                    toWrite.append(path)
                case .folder:
                    throw fail("\(path) is a folder; cnnc would write a file there")
                case .other:
                    conflicts.append(Conflict(path: path, reason: "is not a regular file"))
                    toWrite.append(path)
                case .file:
                    let current = try readExisting(path)
                    if current == bytes { continue }
                    toWrite.append(path)
                    if old?.accepts(path, current) == true { continue }
                    conflicts.append(Conflict(path: path, reason: old?.entries[path] == nil
                        ? "exists and was not written by cnnc" : "was changed since cnnc wrote it"))
                }
            }
            var stale: [String] = []
            for path in (old?.entries.keys.sorted() ?? []) where files[path] == nil {
                guard FolderIO.kind(full(path)) == .file else { continue }
                if old!.accepts(path, try readExisting(path)) {
                    stale.append(path)
                } else if !force {
                    conflicts.append(Conflict(path: path, reason: "was changed since cnnc wrote it and is no longer generated"))
                }
            }
            if let first = conflicts.first, !force {
                let more = conflicts.count > 1 ? " (and \(conflicts.count - 1) more)" : ""
                throw fail("\(first.path) \(first.reason); refusing to replace or remove it\(more) (--force replaces it)")
            }
            try apply(toWrite, stale: stale, old: old ?? Manifest(), next: next)
        }

        /// The first existing component of `path`'s folders inside the output folder that is not a folder.
        private func blockingParent(_ path: String) -> String? {
            var prefix = ""
            for part in path.split(separator: "/").dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + part
                let k = FolderIO.kind(full(prefix))
                if k != .missing && k != .folder { return prefix }
            }
            return nil
        }

        private func readExisting(_ path: String) throws -> [UInt8] {
            do { return try FolderIO.readAll(full(path), display: path) } catch let e as FolderIO.Failure { throw fail(e.message) }
        }

        /// Stages every file, then renames them into place, removes the stale ones and writes the manifest.
        private func apply(_ toWrite: [String], stale: [String], old: Manifest, next: Manifest) throws {
            var made: [String] = []      // folders created, to remove again if staging fails
            var staged: [(temp: String, path: String)] = []
            do {
                for path in toWrite {
                    try makeParents(path, made: &made)
                    staged.append((try FolderIO.writeTemporary(files[path]!, beside: full(path), display: path), path))
                }
                // Until the end, the manifest accepts the old and the new bytes of every file: an interruption
                // leaves a folder the next compile still recognises as its own.
                var both = old
                for (path, hashes) in next.entries { both.entries[path, default: []].formUnion(hashes) }
                try writeManifest(both)
            } catch {
                for s in staged { unlink(s.temp) }
                for folder in made.reversed() { FolderIO.removeIfEmpty(full(folder)) }
                throw wrap(error)
            }
            do {
                for s in staged { try FolderIO.move(s.temp, over: full(s.path), display: s.path) }
                for path in stale {
                    try FolderIO.remove(full(path), display: path)
                    removeEmptyParents(path)
                }
                try writeManifest(next)
            } catch {
                for s in staged { unlink(s.temp) }
                throw wrap(error)
            }
        }

        private func makeParents(_ path: String, made: inout [String]) throws {
            var prefix = ""
            for part in path.split(separator: "/").dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + part
                if FolderIO.kind(full(prefix)) == .missing {
                    try FolderIO.makeFolder(full(prefix), display: prefix)
                    made.append(prefix)
                }
            }
        }

        private func removeEmptyParents(_ path: String) {
            var parts = path.split(separator: "/").dropLast()
            while !parts.isEmpty, FolderIO.removeIfEmpty(full(parts.joined(separator: "/"))) { parts = parts.dropLast() }
        }

        private func writeManifest(_ m: Manifest) throws {
            let temp = try FolderIO.writeTemporary(Array(m.text().utf8), beside: full(Manifest.fileName), display: Manifest.fileName)
            do { try FolderIO.move(temp, over: full(Manifest.fileName), display: Manifest.fileName) } catch {
                unlink(temp)
                throw error
            }
        }

        private func wrap(_ error: Error) -> Error {
            if let e = error as? FolderIO.Failure { return fail(e.message) }
            return error
        }
    }
}
