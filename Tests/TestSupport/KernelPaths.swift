// Running a check on every vector path the CKernels kernels have on this CPU.
import CKernels

/// Runs `body` once on every CKernels code path this CPU has (AVX-512F, AVX2+FMA, scalar), then
/// returns to the path the library picks by itself. The SLEEF paths must meet the same tolerances as libm.
public func onEveryKernelPath(_ body: (String) -> Void) {
    let automatic = String(cString: dg_kernel_isa())
    defer { _ = dg_kernel_use_isa(automatic) }
    for path in ["avx512f", "avx2", "scalar"] where dg_kernel_use_isa(path) == 1 {
        body(path)
    }
}
