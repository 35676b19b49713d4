// The ranks of an `mpirun` job as the trainer's Team (Team.swift): copied only into packages compiled with
// `cnnc compile --distributed mpi`, whose main.swift runs `trainerMain(Network.self, team: MPITeam.join())`.
// Started without mpirun, the trainer is a team of one and trains as the plain package does.
// MPI's default error handler (MPI_ERRORS_ARE_FATAL) ends the job when a rank dies or a message fails, so a
// collective never waits for a rank that is gone; mpirun then names the rank and its signal.
import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class MPITeam: Team {
    let rank: Int
    let size: Int

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// MPI_Init (only the main thread calls MPI), then this process's rank and the job's size.
    ///
    /// A rank waiting in a collective yields its core instead of spinning on it, unless the user chose otherwise
    /// (`--mca mpi_yield_when_idle 0`): while it waits, its own batch loader thread may still be gathering the
    /// next batch, and on a shared or oversubscribed machine the rank it waits for needs the core (measured on
    /// the 2 busy cores of the README's figures: 2 ranks of mnist002 at 1981 images/s spinning, 3087 yielding).
    static func join() -> MPITeam {
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        guard MPI_Init(nil, nil) == MPI_SUCCESS else {
            Console.emit("error: MPI_Init failed; run the trainer directly or under mpirun\n", to: 2)
            exit(1)
        }
        var rank: Int32 = 0, size: Int32 = 1
        MPI_Comm_rank(cnnc_mpi_world(), &rank)
        MPI_Comm_size(cnnc_mpi_world(), &size)
        return MPITeam(rank: Int(rank), size: Int(size))
    }

    /// MPI counts are 32-bit; a gradient too large for one message ends the job with a message rather than a
    /// wrapped count.
    private func mpiCount(_ count: Int) -> Int32 {
        guard let n = Int32(exactly: count) else {
            Console.emit("error: \(errorPrefix)\(count) values exceed what one MPI message carries (2^31 - 1)\n", to: 2)
            abort(status: 1)
        }
        return n
    }

    func allGather(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        let n = mpiCount(count)
        MPI_Allgather(mine, n, cnnc_mpi_float(), all, n, cnnc_mpi_float(), cnnc_mpi_world())
    }

    func allGather(_ mine: UnsafePointer<Double>, count: Int, into all: UnsafeMutablePointer<Double>) {
        let n = mpiCount(count)
        MPI_Allgather(mine, n, cnnc_mpi_double(), all, n, cnnc_mpi_double(), cnnc_mpi_world())
    }

    func allToAll(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        let n = mpiCount(count)
        MPI_Alltoall(mine, n, cnnc_mpi_float(), all, n, cnnc_mpi_float(), cnnc_mpi_world())
    }

    func abort(status: Int32) -> Never {
        MPI_Abort(cnnc_mpi_world(), status)
        exit(status)
    }

    func finish() { MPI_Finalize() }
}
