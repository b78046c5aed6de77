// Splitting work across the cores a run was given, on one pool of threads (CKernels' dg_pool_run) that
// every parallel piece of a step shares: gemm slices, elementwise kernels, sparse products, the optimizer.
// Results never depend on the split: every kernel run through here computes each element (or each row)
// on its own, the same way wherever it lands (CKernels' tails go through the vector code too), and a gemm
// is cut into column slices at fixed places for a fixed thread count — what keeps runs reproducible for
// a fixed thread count.
import CKernels

public enum Parallel {
    /// Threads the run uses (gemm slices, kernels, optimizer); the trainer sets it to `training.threads`
    /// through `BLASInfo.setThreads`. 1 runs everything on the calling thread. It fixes how work is cut
    /// (and so the bits of a gemm); the pool runs the pieces on at most as many threads as the process has
    /// CPUs, which changes only the speed.
    public static var threads: Int {
        get { configured }
        set {
            configured = Swift.max(1, Swift.min(newValue, 256))
            dg_pool_set_threads(Int32(configured))
        }
    }
    nonisolated(unsafe) private static var configured = 1

    /// Below this many elements per chunk the hand-off costs more than it saves (transcendental kernels).
    /// Measured on 4x24 with the spinning pool (`vae-train bench --threads 2`).
    public static let minimumChunk = 1 << 13
    /// The same for cheap loops (add, multiply, relu).
    public static let minimumCheapChunk = 1 << 14

    /// Calls `body` on disjoint ranges covering 0..<count, concurrently when there is enough work
    /// (each range at least `minimum` long) and more than one thread.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minimum: Int = minimumChunk, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(threads, count / Swift.max(minimum, 1))
        if chunks <= 1 { body(0..<count); return }
        run(tasks: chunks) { i in body((i * count / chunks)..<((i + 1) * count / chunks)) }
    }

    /// `forEachChunk` for bodies that report success: true if every chunk returned true.
    @inline(__always)
    public static func allChunks(_ count: Int, minimum: Int = minimumChunk, _ body: (Range<Int>) -> Bool) -> Bool {
        let chunks = Swift.min(threads, count / Swift.max(minimum, 1))
        if chunks <= 1 { return body(0..<count) }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: chunks)
        defer { results.deallocate() }
        run(tasks: chunks) { i in results[i] = body((i * count / chunks)..<((i + 1) * count / chunks)) }
        return results.allSatisfy { $0 }
    }

    /// Products with fewer multiply-adds (m·n·k) than this run as one BLAS call.
    public static let minimumGemm = 1 << 18

    /// `forEachChunk` over rows of `width` elements each: a chunk is a range of whole rows.
    @inline(__always)
    public static func forEachRowChunk(rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        forEachChunk(rows, minimum: Swift.max(1, minimumChunk / Swift.max(width, 1)), body)
    }

    /// Runs task(0..<tasks) on the pool and returns when all are done (tasks beyond the thread count
    /// queue on the threads round-robin).
    public static func run(tasks: Int, _ task: (Int) -> Void) {
        withoutActuallyEscaping(task) { task in
            var job = task
            withUnsafeMutablePointer(to: &job) { pointer in
                dg_pool_run(tasks, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, pointer)
            }
        }
    }
}

/// Which vector path the CKernels (SLEEF) kernels take on this CPU: "avx512f", "avx2" or "scalar".
public enum KernelInfo {
    public static var instructionSet: String { String(cString: dg_kernel_isa()) }
}
