// Splitting large elementwise work across the cores a run was given. Results never depend on the
// split: every kernel run through here computes each element (or each row) on its own, the same way
// wherever it lands (CKernels' tails go through the vector code too), so a fixed seed gives the same
// bits with any chunking — what keeps runs reproducible for a fixed thread count.
import CKernels
import Dispatch

public enum Parallel {
    /// Threads that kernels and optimizer updates may use; the trainer sets it to the run's
    /// `training.threads` alongside BLAS's. 1 runs everything on the calling thread.
    nonisolated(unsafe) public static var threads = 1

    /// Below this many elements per chunk the dispatch costs more than it saves (transcendental kernels).
    public static let minimumChunk = 1 << 16
    /// The same for cheap loops (add, multiply, relu): measured on 4x24, splitting [100, 512] tensors
    /// made the elementwise part of a 2-thread step slower (0.33 -> 0.40 ms).
    public static let minimumCheapChunk = 1 << 17

    /// Calls `body` on disjoint ranges covering 0..<count, concurrently when there is enough work
    /// (each range at least `minimum` long) and more than one thread.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minimum: Int = minimumChunk, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(threads, count / Swift.max(minimum, 1))
        if chunks <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                body((i * count / chunks)..<((i + 1) * count / chunks))
            }
        }
    }

    /// `forEachChunk` for bodies that report success: true if every chunk returned true.
    @inline(__always)
    public static func allChunks(_ count: Int, minimum: Int = minimumChunk, _ body: (Range<Int>) -> Bool) -> Bool {
        let chunks = Swift.min(threads, count / Swift.max(minimum, 1))
        if chunks <= 1 { return body(0..<count) }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: chunks)
        defer { results.deallocate() }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                results[i] = body((i * count / chunks)..<((i + 1) * count / chunks))
            }
        }
        return results.allSatisfy { $0 }
    }

    /// `forEachChunk` over rows of `width` elements each: a chunk is a range of whole rows.
    @inline(__always)
    public static func forEachRowChunk(rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        forEachChunk(rows, minimum: Swift.max(1, minimumChunk / Swift.max(width, 1)), body)
    }
}

/// Which vector path the CKernels (SLEEF) kernels take on this CPU: "avx512f", "avx2" or "scalar".
public enum KernelInfo {
    public static var instructionSet: String { String(cString: dg_kernel_isa()) }
}
