import CNNCRuntimeFiles

/// `cnnc compile --distributed mpi`: the CPU trainer that also runs as the ranks of an `mpirun` job. Its package
/// differs from the plain one only here: the Open MPI module (Runtime/cmpi, a system library found through
/// pkg-config `ompi-c`), the MPI team (Runtime/mpi/MPITeam.swift, in the library) and the train tool's entry point
/// (Library.swift) that joins it. The plain package's files are byte for byte those of a compile without the flag.
enum Distributed {
    /// The package's extra target, after CPNG's line of cpu/Package.swift.template.
    static let packageTarget = "\n        .systemLibrary(name: \"CMPI\", path: \"Sources/CMPI\", "
        + "pkgConfig: \"ompi-c\",\n                       providers: [.apt([\"libopenmpi-dev\"])]),"
    /// The library target's extra dependency.
    static let dependency = ", \"CMPI\""
    /// The extra argument of `trainerMain` in Library.swift's `trainMain`.
    static let teamArgument = ", team: MPITeam.join()"

    static func addRuntime(to files: inout [String: String]) throws {
        for (name, text) in try RuntimeFiles.files(in: "mpi") { files[CPUTarget.librarySources + name] = text }
        for (name, text) in try RuntimeFiles.files(in: "cmpi") { files["Sources/CMPI/" + name] = text }
    }

    /// Layers whose training the ranks cannot yet share exactly: batchnorm's batch statistics would have to be
    /// gathered across the ranks inside the forward pass (the trainer refuses --chunks for them too).
    static func check(_ net: Network) throws {
        for layer in net.layers {
            switch layer.op {
            case .batchnorm:
                throw CompileError("\(layer.location): error: --distributed mpi does not support '\(layer.op.keyword)' "
                    + "layers yet: the ranks would not compute what one process does")
            default: continue
            }
        }
    }
}
