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
    /// MPI's own polling yields the core rather than spinning on it (unless the user chose otherwise with
    /// `--mca mpi_yield_when_idle 0`); the collectives below also sleep between tests of a pending one (`wait`).
    /// While a rank waits, its own batch loader thread may still be gathering the next batch, and on a shared
    /// or oversubscribed machine the rank it waits for needs the core.
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

    /// Waits for a nonblocking collective, testing it (which also drives its progress) and, after a short burst of
    /// tests, sleeping 50 µs between tests: a rank that waits for a slower one gives its core away instead of
    /// spinning (MPI's blocking calls poll, and with mpi_yield_when_idle still take a share of the core). A
    /// collective that fails ends the job (MPI_ERRORS_ARE_FATAL), so this never waits for a rank that is gone.
    private func wait(_ request: inout MPI_Request?) {
        var done: Int32 = 0, tests = 0
        while true {
            MPI_Test(&request, &done, cnnc_mpi_status_ignore())
            if done != 0 { return }
            tests += 1
            if tests > 64 { usleep(50) }
        }
    }

    func allGather(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        let n = mpiCount(count)
        var request: MPI_Request? = nil
        MPI_Iallgather(mine, n, cnnc_mpi_float(), all, n, cnnc_mpi_float(), cnnc_mpi_world(), &request)
        wait(&request)
    }

    func allGather(_ mine: UnsafePointer<Double>, count: Int, into all: UnsafeMutablePointer<Double>) {
        let n = mpiCount(count)
        var request: MPI_Request? = nil
        MPI_Iallgather(mine, n, cnnc_mpi_double(), all, n, cnnc_mpi_double(), cnnc_mpi_world(), &request)
        wait(&request)
    }

    func allToAll(_ mine: UnsafePointer<Float>, count: Int, into all: UnsafeMutablePointer<Float>) {
        let n = mpiCount(count)
        var request: MPI_Request? = nil
        MPI_Ialltoall(mine, n, cnnc_mpi_float(), all, n, cnnc_mpi_float(), cnnc_mpi_world(), &request)
        wait(&request)
    }

    func abort(status: Int32) -> Never {
        MPI_Abort(cnnc_mpi_world(), status)
        exit(status)
    }

    func finish() { MPI_Finalize() }
}
