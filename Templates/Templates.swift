import Foundation

/// The fixed text cnnc fills in: package, kernel file, Network.swift and main.swift frames.
/// Templates are plain files with named holes (`{{name}}`); every loop and decision lives in Swift. The runtime,
/// which has no holes, is in Runtime/ (module CNNCRuntimeFiles).
public enum Templates {
    /// The folder holding `cpu/`, `vulkan/` and `main.swift.template`.
    public static var root: URL { Bundle.module.resourceURL! }

    /// The text of one template, e.g. `text("cpu/Package.swift.template")`.
    public static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}
