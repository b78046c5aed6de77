// The shared thread pool (Parallel / CKernels' dg_pool_run): every task runs exactly once for any thread
// count, including right after the pool grows (a worker started during a job must still take its part),
// for calls made from inside a task and for calls from two threads at once (which run serially); and the
// thread count fixes the bits of a split product whether or not the pool has that many CPUs to run on.
import Autodiff
import CKernels
import Dispatch
import Synchronization
import XCTest

final class ParallelTests: XCTestCase {
    func counts(tasks: Int, _ run: (@escaping (Int) -> Void) -> Void) -> [Int] {
        let hits = UnsafeMutableBufferPointer<Atomic<Int>>.allocate(capacity: tasks)
        defer { hits.deallocate() }
        for i in 0..<tasks { (hits.baseAddress! + i).initialize(to: Atomic(0)) }
        run { i in hits[i].add(1, ordering: .relaxed) }
        return (0..<tasks).map { hits[$0].load(ordering: .relaxed) }
    }

    func testEveryTaskRunsOnceForAnyThreadCount() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [1, 2, 3, 5, 8, 2] {
            Parallel.threads = threads
            XCTAssertEqual(Parallel.threads, threads)
            for tasks in [1, 2, 3, 7, 16] {
                for _ in 0..<50 {
                    let hits = counts(tasks: tasks) { body in Parallel.run(tasks: tasks) { body($0) } }
                    XCTAssertEqual(hits, Array(repeating: 1, count: tasks), "\(threads) threads, \(tasks) tasks")
                }
            }
        }
    }

    func testChunksCoverTheRangeOnce() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 2
        let n = 10_007
        let hits = counts(tasks: n) { body in
            Parallel.forEachChunk(n, minimum: 100) { range in range.forEach(body) }
        }
        XCTAssertEqual(hits, Array(repeating: 1, count: n))
        XCTAssertTrue(Parallel.allChunks(n, minimum: 100) { _ in true })
        XCTAssertFalse(Parallel.allChunks(n, minimum: 100) { $0.lowerBound > 0 })
    }

    func testNestedAndConcurrentCallsRunEveryTask() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 2
        let nested = counts(tasks: 12) { body in
            Parallel.run(tasks: 3) { outer in Parallel.run(tasks: 4) { inner in body(outer * 4 + inner) } }
        }
        XCTAssertEqual(nested, Array(repeating: 1, count: 12))
        let concurrent = counts(tasks: 2 * 400) { body in
            DispatchQueue.concurrentPerform(iterations: 2) { caller in
                for job in 0..<200 { Parallel.run(tasks: 2) { body(caller * 400 + job * 2 + $0) } }
            }
        }
        XCTAssertEqual(concurrent, Array(repeating: 1, count: 800))
    }

    /// On a machine with fewer CPUs than `training.threads` the pool runs the pieces on fewer threads
    /// (dg_pool_set_threads caps it); the pieces, and so the results, stay those of the configured count.
    func testFewerWorkersThanThreadsGiveTheSameBits() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        let a = Tensor<Float>(shape: [100, 300], scalars: randomScalars(30_000, -1, 1, seed: 3).map { Float($0) })
        let b = Tensor<Float>(shape: [300, 200], scalars: randomScalars(60_000, -1, 1, seed: 4).map { Float($0) })
        Parallel.threads = 2
        let withWorkers = Tensor.matmul(a, b)
        dg_pool_set_threads(1)  // as on a one-CPU machine: same two slices, run one after the other
        XCTAssertEqual(Parallel.threads, 2)
        let inline = Tensor.matmul(a, b)
        XCTAssertEqual(withWorkers, inline)
    }
}
