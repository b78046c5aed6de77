// The only file that imports CBLAS: every matrix product in DiscreteGrad goes through here. Small
// single-precision products go to libxsmm (CKernels' dg_xsmm_sgemm) when it does them faster.
import CBLAS
import CKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// MARK: - gemm

/// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` of shape m x k and `op(B)` k x n.
/// `lda`/`ldb`/`ldc` are the stored row strides (columns of the matrix as stored, before any transpose).
@inline(__always)
func blasGemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if alpha == 1, BLASInfo.smallProductKernels,
       dg_xsmm_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb, beta, c, ldc) != 0 { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

@inline(__always)
func blasGemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
) {
    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

// MARK: - Which BLAS is this?

/// Describes the BLAS library behind `libblas.so` at run time. OpenBLAS exports `openblas_get_corename`
/// and `openblas_get_num_threads`; reference BLAS does not, so they are looked up dynamically rather
/// than linked (the package must also build and run against Debian's plain libblas-dev).
public enum BLASInfo {
    public static var description: String {
        var library = openBLASCoreName.map { "OpenBLAS (core \($0))" } ?? blisVersion.map { "BLIS \($0)" } ?? "reference BLAS"
        if smallProductKernels { library += " + libxsmm for small Float products" }
        return Parallel.threads > 1 ? "\(library), single-threaded calls on column slices over \(Parallel.threads) threads" : library
    }

    /// Whether small Float products go to libxsmm (on by default; the tests turn it off to compare the two
    /// paths). Both are deterministic but round differently, so a run keeps one setting throughout.
    public static var smallProductKernels: Bool {
        get { useSmallProductKernels.load(ordering: .relaxed) }
        set { useSmallProductKernels.store(newValue, ordering: .relaxed) }
    }

    /// BLIS's version string when libblas.so is BLIS (Debian's libblis via alternatives), else nil.
    public static var blisVersion: String? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "bli_info_get_version_str") else { return nil }
        typealias Fn = @convention(c) () -> UnsafePointer<CChar>?
        return unsafeBitCast(symbol, to: Fn.self)().map { String(cString: $0) }
    }

    public static var openBLASCoreName: String? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "openblas_get_corename") else { return nil }
        typealias Fn = @convention(c) () -> UnsafePointer<CChar>?
        let fn = unsafeBitCast(symbol, to: Fn.self)
        guard let name = fn() else { return nil }
        return String(cString: name)
    }

    public static var openBLASThreads: Int? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "openblas_get_num_threads") else { return nil }
        typealias Fn = @convention(c) () -> Int32
        return Int(unsafeBitCast(symbol, to: Fn.self)())
    }

    /// Sets the run's thread count (`Parallel.threads`): gemms are cut into column slices, one single-threaded
    /// BLAS call per thread, on the same pool as the elementwise kernels and the optimizer, and the library's
    /// own threads are set to 1. (With OpenBLAS's threads, its workers spin between calls and compete with
    /// ours; on 4x24 at 2 threads the shared pool measured faster for the gemms alone as well, see
    /// results/bench/README.md.) Results are reproducible for a fixed count.
    public static func setThreads(_ count: Int) {
        Parallel.threads = Swift.max(1, count)
        setLibraryThreads(1)
    }

    /// The BLAS library's own thread count (OpenBLAS only; others ignore it).
    public static func setLibraryThreads(_ count: Int) {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "openblas_set_num_threads") else { return }
        typealias Fn = @convention(c) (Int32) -> Void
        unsafeBitCast(symbol, to: Fn.self)(Int32(count))
    }
}

private let useSmallProductKernels = Atomic<Bool>(true)
