import Foundation

/// The generated trainer's runtime as cnnc ships it: `trainer/` (every package), `vulkan/` (the Vulkan driver),
/// `czlib/`, `cpng/` and `cvulkan/` (module maps of the system zlib, libpng and Vulkan headers). These files have no
/// holes; they are copied verbatim, and the same folders are compiled by cnnc's own build (target TrainerRuntime in
/// Package.swift).
public enum RuntimeFiles {
    /// The folder holding `trainer/`, `vulkan/`, `czlib/`, `cpng/` and `cvulkan/`.
    public static var root: URL { Bundle.module.resourceURL! }

    /// The files of one folder, sorted by name, as (file name, text).
    public static func files(in folder: String) throws -> [(name: String, text: String)] {
        let dir = root.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        return try names.filter { !$0.hasPrefix(".") }.sorted().map { name in
            (name, try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))
        }
    }
}
