// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cnnc",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnnc", targets: ["cnnc"]),
        .library(name: "CNNC", targets: ["CNNC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The compiler: parse -> infer shapes -> fuse -> plan kernels -> emit. Prints nothing, reads no argv.
        .target(name: "CNNC", dependencies: ["CNNCTemplates", "CShaderc"]),
        // shaderc's C library (GLSL -> SPIR-V for the vulkan target), linked statically; see its module map.
        .systemLibrary(name: "CShaderc", path: "Sources/CShaderc"),
        // The fixed text the emitters fill in (kernel skeletons, the trainer's runtime), shipped as resources.
        .target(
            name: "CNNCTemplates",
            path: "Templates",
            exclude: ["README.md"],
            sources: ["Templates.swift"],
            resources: [.copy("cpu"), .copy("runtime"), .copy("czlib"), .copy("vulkan")]
        ),
        // The command-line front end: argument parsing only.
        .executableTarget(
            name: "cnnc",
            dependencies: ["CNNC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The generated trainer's runtime files that do not use the generated `NetInfo`/`Network` (readers, safe
        // writes, memory and signal handling), compiled here too so that cnnc's tests (and fuzzing) run them in
        // process. They stay resources of CNNCTemplates, copied verbatim into every generated package; the files
        // excluded here use the generated code and are compiled only there.
        .target(
            name: "TrainerRuntime",
            dependencies: ["CZlib"],
            path: "Templates/runtime",
            exclude: ["main.swift", "Options.swift", "Trainer.swift", "Dataset.swift", "Checkpoint.swift",
                      "Initialize.swift"],
            swiftSettings: [.swiftLanguageMode(.v5)]  // as in the generated package (tools 5.9)
        ),
        // The system zlib for TrainerRuntime; the same module map is copied into generated packages.
        .systemLibrary(name: "CZlib", path: "Templates/czlib"),
        .testTarget(name: "CNNCTests", dependencies: ["CNNC", "TrainerRuntime", "CZlib"], exclude: ["Emit/Golden"]),
    ]
)
