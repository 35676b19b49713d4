// Open MPI's C API, imported into Swift as the module CMPI (used by MPITeam.swift in packages compiled with
// `cnnc compile --distributed mpi`). MPI_COMM_WORLD and the datatypes are macros over Open MPI's globals, which
// Swift cannot import: these functions name them.
#include <mpi.h>

static inline MPI_Comm cnnc_mpi_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cnnc_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cnnc_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Status* cnnc_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
