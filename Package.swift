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
        .target(name: "CNNC", dependencies: ["CNNCTemplates", "CNNCRuntimeFiles", "CShaderc"]),
        // shaderc's C library (GLSL -> SPIR-V for the vulkan target), linked statically; see its module map.
        .systemLibrary(name: "CShaderc", path: "Sources/CShaderc"),
        // The text with holes the emitters fill in (package, kernel file and Network.swift frames), as resources.
        .target(
            name: "CNNCTemplates",
            path: "Templates",
            exclude: ["README.md"],
            sources: ["Templates.swift"],
            resources: [.copy("cpu"), .copy("vulkan"), .copy("main.swift.template"), .copy("predict.swift.template"),
                        .copy("library.swift.template")]
        ),
        // The generated trainer's runtime, copied verbatim into every generated package: the same folders are these
        // resources and the sources of TrainerRuntime below, so what is copied is what cnnc's own build type-checks.
        .target(
            name: "CNNCRuntimeFiles",
            path: "Runtime",
            exclude: ["README.md"],
            sources: ["RuntimeFiles.swift"],
            resources: [.copy("trainer"), .copy("vulkan"), .copy("czlib"), .copy("cpng"), .copy("cvulkan")]
        ),
        // The command-line front end: argument parsing only.
        .executableTarget(
            name: "cnnc",
            dependencies: ["CNNC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The runtime every generated package compiles into its `train` module (with its Network.swift and
        // main.swift), compiled here for cnnc's in-process tests. Generic over `TrainableNetwork`, it names no
        // generated type. One module, as in the Vulkan package: trainer/ (every package) and vulkan/ (the Vulkan
        // driver; a file cannot be in two targets, so the CPU package's trainer/ alone is built by its tests).
        .target(
            name: "TrainerRuntime",
            dependencies: ["CZlib", "CPNG", "CVulkan"],
            path: "Runtime",
            exclude: ["README.md", "RuntimeFiles.swift", "czlib", "cpng", "cvulkan"],
            sources: ["trainer", "vulkan"],
            swiftSettings: [.swiftLanguageMode(.v5)]  // as in the generated package (tools 5.9)
        ),
        // The system zlib, libpng and the Vulkan headers; the same module maps are copied into generated packages.
        .systemLibrary(name: "CZlib", path: "Runtime/czlib"),
        .systemLibrary(name: "CPNG", path: "Runtime/cpng"),
        .systemLibrary(name: "CVulkan", path: "Runtime/cvulkan"),
        .testTarget(name: "CNNCTests", dependencies: ["CNNC", "TrainerRuntime", "CZlib", "CPNG"],
                    exclude: ["Emit/Golden"]),
    ]
)
