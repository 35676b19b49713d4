/// `DIR/.cnnc-manifest`: the files cnnc generated in a package folder, each with a hash of the bytes it wrote.
/// It is how a recompile knows what it may replace or remove (a file listed with an unchanged hash) and what it
/// must leave alone (anything else: checkpoints, metrics, `.build/`, a file the user edited).
///
///     # cnnc manifest: ...
///     1f0c3a5e9b2d4c71 Package.swift
///     ...
///
/// A path may be listed more than once: while a recompile replaces files, the manifest lists both the old and
/// the new hash of each, so an interrupted recompile leaves a folder the next one still recognises.
struct Manifest: Equatable {
    static let fileName = ".cnnc-manifest"

    /// Accepted hashes per relative path.
    var entries: [String: Set<UInt64>] = [:]

    /// FNV-1a, 64 bits: it tells a file cnnc wrote from one edited since, which is all the manifest needs
    /// (it guards against mistakes, not an adversary who can write the folder anyway).
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    func accepts(_ path: String, _ bytes: [UInt8]) -> Bool { entries[path]?.contains(Self.hash(bytes)) == true }

    mutating func add(_ path: String, _ bytes: [UInt8]) { entries[path, default: []].insert(Self.hash(bytes)) }

    func text() -> String {
        var out = "# cnnc manifest: the files cnnc generated in this folder, with a hash (FNV-1a 64) of what it wrote.\n"
        out += "# cnnc compile replaces or removes only these files, and only while they are unchanged.\n"
        for (path, hashes) in entries.sorted(by: { $0.key < $1.key }) {
            for h in hashes.sorted() {
                let hex = String(h, radix: 16)
                out += String(repeating: "0", count: 16 - hex.count) + hex + " " + path + "\n"
            }
        }
        return out
    }

    /// Parses a manifest; nil if any line is not `HASH PATH` with a relative path inside the folder (no `..`,
    /// no empty or absolute components), so a damaged or forged manifest can never point cnnc outside DIR.
    init?(text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            guard let space = line.firstIndex(of: " "), line.distance(from: line.startIndex, to: space) == 16,
                  let h = UInt64(line[..<space], radix: 16) else { return nil }
            let path = String(line[line.index(after: space)...])
            guard Self.isSafeRelativePath(path) else { return nil }
            entries[path, default: []].insert(h)
        }
    }

    init() {}

    static func isSafeRelativePath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.isEmpty && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
            && !path.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{7F}" }
    }
}
