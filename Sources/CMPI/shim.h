// OpenMPI's handles are macros that Swift cannot import. Each one is wrapped in a tiny
// static inline getter; swift_name keeps the MPI spelling on the Swift side.
#include <mpi.h>

#define SMTL_MPI_GETTER(type, name) \
    static inline type smtl_get_##name(void) __attribute__((swift_name("getter:" #name "()"))); \
    static inline type smtl_get_##name(void) { return name; }

SMTL_MPI_GETTER(MPI_Comm, MPI_COMM_WORLD)
SMTL_MPI_GETTER(MPI_Comm, MPI_COMM_NULL)
SMTL_MPI_GETTER(MPI_Datatype, MPI_FLOAT)
SMTL_MPI_GETTER(MPI_Datatype, MPI_DOUBLE)
SMTL_MPI_GETTER(MPI_Datatype, MPI_INT)
SMTL_MPI_GETTER(MPI_Datatype, MPI_UINT8_T)
SMTL_MPI_GETTER(MPI_Datatype, MPI_CHAR)
SMTL_MPI_GETTER(MPI_Op, MPI_SUM)
SMTL_MPI_GETTER(MPI_Op, MPI_MAX)
SMTL_MPI_GETTER(MPI_Op, MPI_MIN)
SMTL_MPI_GETTER(MPI_Errhandler, MPI_ERRORS_RETURN)

static inline void *smtl_get_MPI_IN_PLACE(void) __attribute__((swift_name("getter:MPI_IN_PLACE()")));
static inline void *smtl_get_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }

static inline int smtl_get_MPI_SUCCESS(void) __attribute__((swift_name("getter:MPI_SUCCESS()")));
static inline int smtl_get_MPI_SUCCESS(void) { return MPI_SUCCESS; }

static inline MPI_Status *smtl_get_MPI_STATUS_IGNORE(void) __attribute__((swift_name("getter:MPI_STATUS_IGNORE()")));
static inline MPI_Status *smtl_get_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }
