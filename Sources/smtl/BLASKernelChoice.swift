import Foundation
import SMTLModel

#if canImport(Glibc)
import Glibc
#endif

/// The OpenBLAS kernel for this CPU. OpenBLAS reads `OPENBLAS_CORETYPE` once, when it loads, so
/// when the kernel it picked by itself uses narrower vectors than the CPU has
/// (`BLASLibrary.betterCore`), smtl sets the variable and restarts itself in place (`execv` of
/// the same program with the same arguments, before anything else runs: no MPI, no files, no
/// output; under mpirun or srun the process, its PID and its launcher's variables stay the
/// same). A user's own `OPENBLAS_CORETYPE` is kept, and `SMTL_BLAS_AUTO=0` keeps OpenBLAS's
/// pick. If the restart fails, the run goes on with OpenBLAS's pick.
enum BLASKernelChoice {
    static func restartWithWiderKernelIfAny() {
        let env = ProcessInfo.processInfo.environment
        guard BLASLibrary.name == "OpenBLAS", env["OPENBLAS_CORETYPE"] == nil, env["SMTL_BLAS_AUTO"] != "0",
            env[BLASLibrary.pickedByOpenBLASVariable] == nil
        else { return }
        // SMTL_BLAS_ASSUME_PICKED stands in for OpenBLAS's pick, so that the tests can exercise the
        // restart on a CPU OpenBLAS detects correctly.
        let picked = env["SMTL_BLAS_ASSUME_PICKED"] ?? BLASLibrary.coreName
        guard let wider = BLASLibrary.betterCore(than: picked, cpu: BLASLibrary.cpuFlags) else { return }
        setenv("OPENBLAS_CORETYPE", wider, 1)
        setenv(BLASLibrary.pickedByOpenBLASVariable, picked, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when the restart failed.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(BLASLibrary.pickedByOpenBLASVariable)
    }
}
