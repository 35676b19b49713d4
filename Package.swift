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
        .testTarget(name: "CNNCTests", dependencies: ["CNNC"], exclude: ["Emit/Golden"]),
    ]
)
