// Where a training step's time goes, for `vae-train bench`: exclusive wall time per part of the step
// and the number of tensor buffers allocated. Off by default (one predictable branch per kernel call);
// only the thread that runs the step records (kernels split across threads are timed as one call).
import Foundation

public enum Profile {
    /// The parts of a step. Times are exclusive: a kernel inside the estimator counts as its kernel's part.
    public enum Part: Int, CaseIterable, Sendable {
        /// Matrix products (BLAS gemm), including the fused bias of `affine`.
        case gemm
        /// Elementwise, reduction, softmax and fused kernels.
        case elementwise
        /// The optimizer updates.
        case optimizer
        /// The estimator's own work outside kernels: sampling noise, building its surrogate.
        case estimator

        public var name: String { String(describing: self) }
    }

    nonisolated(unsafe) public private(set) static var enabled = false
    nonisolated(unsafe) static var nanoseconds = [UInt64](repeating: 0, count: Part.allCases.count)
    nonisolated(unsafe) static var bufferCount = 0
    nonisolated(unsafe) static var stack: [(part: Part?, start: UInt64, children: UInt64)] = []

    /// Starts recording from zero.
    public static func start() {
        nanoseconds = [UInt64](repeating: 0, count: Part.allCases.count)
        bufferCount = 0
        stack = []
        enabled = true
    }

    /// Stops recording and returns seconds per part and the tensor buffers allocated since `start()`.
    public static func stop() -> (seconds: [Part: Double], allocations: Int) {
        enabled = false
        var seconds: [Part: Double] = [:]
        for part in Part.allCases { seconds[part] = Double(nanoseconds[part.rawValue]) / 1e9 }
        return (seconds, bufferCount)
    }

    /// Runs `body`, charging its time (minus that of measured calls inside it) to `part`; nil charges
    /// nothing, which takes a region out of an enclosing part (e.g. the decoder inside the estimator).
    @inline(__always)
    public static func measure<R>(_ part: Part?, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        stack.append((part, DispatchTime.now().uptimeNanoseconds, 0))
        defer {
            let frame = stack.removeLast()
            let elapsed = DispatchTime.now().uptimeNanoseconds - frame.start
            if let part = frame.part { nanoseconds[part.rawValue] += elapsed - Swift.min(elapsed, frame.children) }
            if !stack.isEmpty { stack[stack.count - 1].children += elapsed }
        }
        return try body()
    }

    @inline(__always)
    static func countAllocation() { if enabled { bufferCount += 1 } }
}
