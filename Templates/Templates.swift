import Foundation

/// The fixed text cnnc fills in: kernel skeletons and the generated trainer's runtime.
/// Templates are plain files with named holes (`{{name}}`); every loop and decision lives in Swift.
public enum Templates {
    /// The folder holding `cpu/` and `runtime/`.
    public static var root: URL { Bundle.module.resourceURL! }

    /// The text of one template, e.g. `text("runtime/Checkpoint.swift")`.
    public static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// The files of one template folder, sorted by name, as relative paths.
    public static func files(in folder: String) throws -> [String] {
        let dir = root.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder + "/" + $0 }
    }
}
