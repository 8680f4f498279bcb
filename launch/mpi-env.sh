# Sourced by the launch scripts: the mpirun options every launch needs.
#
# OpenMPI refuses to run as root unless told to. Containers run as root, so when the user is
# root and has not set both OMPI_ALLOW_RUN_AS_ROOT and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM, the
# launch adds --allow-run-as-root and says so once on stderr.
mpirun_root_options() {
  MPIRUN_ROOT=()
  if [ "$(id -u)" -eq 0 ]; then
    if [ "${OMPI_ALLOW_RUN_AS_ROOT:-}" = 1 ] && [ "${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-}" = 1 ]; then
      return 0
    fi
    MPIRUN_ROOT=(--allow-run-as-root)
    echo "$(basename "$0"): running as root: passing --allow-run-as-root to mpirun" >&2
  fi
}
